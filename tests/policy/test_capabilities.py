"""Which role may read or write which family on /console/api/v1, the console pages each role
opens, and the policy's own table: every Open API resource belongs to a family."""
from __future__ import annotations

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import Sop, StaffRole
from scrm.services import policy
from tests.conftest import TEST_CORP_ID
from tests.policy.conftest import sign_in

API = "/console/api/v1"


def test_an_operator_writes_sops_and_channels_but_not_roles(client, corp):
    csrf = sign_in(client, "op")
    headers = {"X-CSRF-Token": csrf}
    invalid = client.post(f"{API}/sops", json={}, headers=headers)
    assert invalid.status_code == 422 and "name" in invalid.get_json()["errors"]["json"]  # past the policy
    assert client.post(f"{API}/channels", json={"name": ""}, headers=headers).status_code == 422
    assert client.put(f"{API}/staff-roles/sales_a", json={"role": "admin"}, headers=headers).status_code == 403
    assert client.get(f"{API}/staff-roles/members").status_code == 403
    assert client.get(f"{API}/status").status_code == 403
    assert client.get(f"{API}/events").status_code == 403
    assert db.session.scalar(select(StaffRole.role).filter_by(userid="sales_a")) is None


def test_a_manager_reads_set_ups_but_does_not_change_them(client, corp):
    csrf = sign_in(client, "mgr_a")
    assert client.get(f"{API}/sops").status_code == 200
    assert client.get(f"{API}/channels").status_code == 200
    assert client.post(f"{API}/sops", json={"name": "新客"}, headers={"X-CSRF-Token": csrf}).status_code == 403
    assert db.session.scalar(select(Sop.id)) is None
    assert client.get(f"{API}/syncs").status_code == 403


def test_a_sales_member_reads_their_customers_and_the_library_only(client, corp):
    csrf = sign_in(client, "sales_a")
    assert client.get(f"{API}/customers").status_code == 200
    assert client.get(f"{API}/contents").status_code == 200
    for path in ("/channels", "/sops", "/group-sops", "/handovers", "/group-stats/owners", "/audit-log"):
        assert client.get(API + path).status_code == 403, path
    assert client.post(f"{API}/contents", json={}, headers={"X-CSRF-Token": csrf}).status_code == 403
    assert client.post(f"{API}/customers/cust_sales_a/erase", headers={"X-CSRF-Token": csrf}).status_code == 403


def test_an_admin_member_manages_roles(client, corp):
    csrf = sign_in(client, "boss")
    resp = client.put(f"{API}/staff-roles/sales_a", json={"role": "operator"}, headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 200 and resp.get_json()["data_scope"] == "corp"  # the role's natural scope
    assert policy.role_of(TEST_CORP_ID, "sales_a").role == "operator"


def test_the_menu_and_pages_follow_the_role(client, corp):
    from tests.console.test_pages import bootstrap

    sign_in(client, "sales_a")
    menu = {item["slug"] for item in bootstrap(client.get("/console/").get_data(as_text=True))["menu"]}
    assert {"", "customers", "groups", "library"} <= menu
    assert not menu & {"channels", "sops", "roles", "operations", "settings"}
    assert client.get("/console/roles").status_code == 403
    assert client.get("/console/channels").status_code == 403
    sign_in(client, "op")
    menu = {item["slug"] for item in bootstrap(client.get("/console/").get_data(as_text=True))["menu"]}
    assert {"channels", "sops", "settings"} <= menu and "roles" not in menu and "operations" not in menu
    sign_in(client, "boss")
    assert client.get("/console/roles").status_code == 200


def test_every_open_api_resource_belongs_to_a_family(app):
    from scrm.api.v1 import MODULES

    for module in MODULES:
        for rule in app.url_map.iter_rules():
            if rule.endpoint.startswith(f"console_{module.blp.name}."):
                family = policy.family_for(f"console_{module.blp.name}", rule.rule)
                assert family in policy.CAPABILITIES, rule.rule


def test_unknown_families_are_the_admins_alone():
    assert policy.allows("admin", None, "read")
    assert not any(policy.allows(role, None, "read") for role in ("manager", "operator", "sales"))
    assert not policy.allows("manager", "roles", "read")
