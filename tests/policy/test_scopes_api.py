"""Data scopes on /console/api/v1, per endpoint family: a manager of department A sees A and its
sub-department A1 but nothing of B; a sales member nothing of a colleague's; detail endpoints
answer 404 for what is out of scope; bearer tokens still read the whole corp."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import FollowRelation, StaffRole, TimelineEntry
from scrm.services.tokens import create_token
from tests.conftest import TEST_CORP_ID
from tests.policy.conftest import IN_A, ids, sign_in

API = "/console/api/v1"
ALL_CUSTOMERS = {"cust_sales_a", "cust_sales_a2", "cust_sales_a1", "cust_sales_b", "cust_shared"}


def test_customers_a_manager_sees_a_and_below_and_nothing_of_b(client, corp):
    sign_in(client, "mgr_a")
    assert ids(client.get(f"{API}/customers"), "external_userid") == {
        "cust_sales_a", "cust_sales_a2", "cust_sales_a1", "cust_shared"}
    assert client.get(f"{API}/customers/cust_sales_a1").status_code == 200  # the sub-department
    assert client.get(f"{API}/customers/cust_sales_b").status_code == 404
    sign_in(client, "mgr_b")
    assert ids(client.get(f"{API}/customers"), "external_userid") == {"cust_sales_b", "cust_shared"}
    assert client.get(f"{API}/customers/cust_sales_a1").status_code == 404


def test_customers_a_sales_member_sees_only_their_own(client, corp):
    sign_in(client, "sales_a")
    assert ids(client.get(f"{API}/customers"), "external_userid") == {"cust_sales_a", "cust_shared"}
    assert client.get(f"{API}/customers/cust_sales_a2").status_code == 404  # a colleague's, same department
    assert client.get(f"{API}/customers/cust_shared").status_code == 200


def test_customers_an_operator_with_corp_scope_and_a_token_see_everything(client, corp):
    sign_in(client, "op")
    assert ids(client.get(f"{API}/customers"), "external_userid") == ALL_CUSTOMERS
    token = create_token("bi", TEST_CORP_ID, scope="read")
    resp = client.get("/api/v1/customers", headers={"Authorization": f"Bearer {token}"})
    assert ids(resp, "external_userid") == ALL_CUSTOMERS


def test_groups_by_owner(client, corp):
    sign_in(client, "mgr_a")
    assert ids(client.get(f"{API}/groups"), "chat_id") == {f"grp_{u}" for u in IN_A}
    assert client.get(f"{API}/groups/grp_sales_a1").status_code == 200
    assert client.get(f"{API}/groups/grp_sales_b").status_code == 404
    sign_in(client, "sales_a")
    assert ids(client.get(f"{API}/groups"), "chat_id") == {"grp_sales_a"}
    assert client.get(f"{API}/groups/grp_sales_a2").status_code == 404


@pytest.mark.parametrize("path,key", [("/follow-ups", "userid"), ("/welcome/outcomes", "userid"),
                                      ("/churn/alerts", "about_userid"), ("/handovers", "handover_userid")])
def test_member_owned_lists(client, corp, path, key):
    sign_in(client, "mgr_a")
    assert ids(client.get(API + path), key) == IN_A
    sign_in(client, "mgr_b")
    assert ids(client.get(API + path), key) == {"sales_b"}


def test_sales_member_lists_hold_only_their_own(client, corp):
    sign_in(client, "sales_a")
    for path in ("/follow-ups", "/welcome/outcomes"):
        assert ids(client.get(API + path), "userid") == {"sales_a"}
    assert ids(client.get(f"{API}/churn/alerts"), "about_userid") == {"sales_a"}
    assert client.get(f"{API}/recalls").status_code == 200


def test_handover_batches_of_another_department_are_not_found(client, corp):
    sign_in(client, "mgr_b")
    batches = client.get(f"{API}/handovers").get_json()
    mine = batches[0]["id"]
    assert client.get(f"{API}/handovers/{mine}").status_code == 200
    sign_in(client, "mgr_a")
    assert client.get(f"{API}/handovers/{mine}").status_code == 404
    assert client.get(f"{API}/handovers/{mine}/items").status_code == 404


def test_customer_sops_and_group_sop_calendars_follow_the_scope(client, corp):
    sign_in(client, "mgr_a")
    assert client.get(f"{API}/customers/cust_sales_a1/sops").status_code == 200
    assert client.get(f"{API}/customers/cust_sales_b/sops").status_code == 404
    assert client.get(f"{API}/groups/grp_sales_a1/sop-calendar").status_code == 200
    assert client.get(f"{API}/groups/grp_sales_b/sop-calendar").status_code == 404


def test_reports_by_member_are_narrowed_and_corp_wide_ones_refused(client, corp):
    sign_in(client, "mgr_a")
    assert client.get(f"{API}/churn/by-staff").status_code == 200
    assert client.get(f"{API}/churn/by-channel").status_code == 403
    assert client.get(f"{API}/churn/by-month").status_code == 403
    assert client.get(f"{API}/group-stats/groups", query_string={"owner": "sales_a1"}).status_code == 200
    assert client.get(f"{API}/group-stats/groups", query_string={"owner": "sales_b"}).status_code == 404
    assert client.get(f"{API}/group-stats/groups", query_string={"chat_id": "grp_sales_b"}).status_code == 404
    assert client.get(f"{API}/group-stats/owners").status_code == 403  # a department: name an owner
    sign_in(client, "op")
    assert client.get(f"{API}/churn/by-channel").status_code == 200
    assert client.get(f"{API}/group-stats/owners").status_code == 200


def test_the_dashboard_counts_what_the_member_sees(client, corp):
    sign_in(client, "mgr_a")
    figures = client.get("/console/api/dashboard").get_json()
    assert (figures["scope"], figures["customers"], figures["active_relations"], figures["groups"]) == (
        "department", 4, 4, 3)
    sign_in(client, "sales_b")
    figures = client.get("/console/api/dashboard").get_json()
    assert (figures["scope"], figures["customers"], figures["groups"]) == ("self", 2, 1)


def test_a_shared_customer_shows_only_the_relations_in_scope(client, corp):
    sign_in(client, "mgr_a")
    detail = client.get(f"{API}/customers/cust_shared").get_json()
    assert {r["userid"] for r in detail["relations"]} == {"sales_a"}
    listed = {c["external_userid"]: c for c in client.get(f"{API}/customers").get_json()}
    assert {r["userid"] for r in listed["cust_shared"]["relations"]} == {"sales_a"}
    sign_in(client, "op")
    detail = client.get(f"{API}/customers/cust_shared").get_json()
    assert {r["userid"] for r in detail["relations"]} == {"sales_a", "sales_b"}


def test_the_customer_page_of_a_shared_customer_shows_this_side_and_mobiles_by_role(client, corp):
    for relation in db.session.scalars(select(FollowRelation).filter_by(external_userid="cust_shared")):
        relation.remark_mobiles = ["13800138000"]
    for userid, kind in ((None, "customer_updated"), ("sales_a", "follow_up"), ("sales_b", "follow_up")):
        db.session.add(TimelineEntry(corp_id=corp, external_userid="cust_shared", userid=userid, kind=kind,
                                     source="api", occurred_at=utcnow(), summary=f"by {userid}"))
    db.session.commit()

    sign_in(client, "mgr_a")
    timeline = client.get(f"{API}/customers/cust_shared/timeline").get_json()["items"]
    assert {item["userid"] for item in timeline} == {None, "sales_a"}
    profile = client.get(f"{API}/customers/cust_shared/profile").get_json()
    assert [(r["userid"], r["remark_mobiles"], r["mobiles_masked"]) for r in profile["relations"]] == [
        ("sales_a", ["138****8000"], True)]
    assert client.get("/console/api/me").get_json()["role_label"] == "主管"

    db.session.add(StaffRole(corp_id=corp, userid="mgr_a", role="manager", data_scope="department",
                             can_view_mobile=True))
    db.session.commit()
    sign_in(client, "mgr_a")
    profile = client.get(f"{API}/customers/cust_shared/profile").get_json()
    assert [r["remark_mobiles"] for r in profile["relations"]] == [["13800138000"]]

    sign_in(client, "op")  # corp scope: both sides, mobiles masked (no permission)
    timeline = client.get(f"{API}/customers/cust_shared/timeline").get_json()["items"]
    assert {item["userid"] for item in timeline} == {None, "sales_a", "sales_b"}
    profile = client.get(f"{API}/customers/cust_shared/profile").get_json()
    assert {r["userid"]: r["remark_mobiles"] for r in profile["relations"]} == {
        "sales_a": ["138****8000"], "sales_b": ["138****8000"]}
    assert client.get("/console/api/me").get_json()["role_label"] == "运营"
