"""The sidebar asks the same policy: a department leader without an assigned role is a manager
of their department and those below; a sales member opens only customers they follow."""
from __future__ import annotations

from sqlalchemy import update

from scrm.extensions import db
from scrm.models import Staff
from tests.conftest import TEST_CORP_ID
from tests.policy.conftest import sign_in
from tests.sidebar.conftest import login


def test_a_leaders_default_scope_reaches_the_sub_department_not_department_b(client, corp):
    login(client, "mgr_a")
    assert client.get("/sidebar/api/customers/cust_sales_a1").status_code == 200
    assert client.get("/sidebar/api/customers/cust_sales_b").status_code == 403
    assert client.get("/sidebar/api/groups/grp_sales_a1").status_code == 200
    assert client.get("/sidebar/api/groups/grp_sales_b").status_code == 403
    me = client.get("/sidebar/api/me").get_json()
    assert (me["role"], me["data_scope"]) == ("manager", "department")


def test_a_sales_member_opens_only_their_own_customers(client, corp):
    login(client, "sales_a")
    assert client.get("/sidebar/api/customers/cust_sales_a").status_code == 200
    assert client.get("/sidebar/api/customers/cust_sales_a2").status_code == 403
    assert client.get("/sidebar/api/groups/grp_sales_a2").status_code == 403


def test_the_console_and_the_sidebar_agree(client, corp):
    sign_in(client, "sales_a")
    assert client.get("/console/api/v1/customers/cust_sales_a2").status_code == 404
    assert client.get("/console/api/v1/customers/cust_sales_a").status_code == 200


def _move(userid: str, dept: int) -> None:
    db.session.execute(update(Staff).where(Staff.corp_id == TEST_CORP_ID, Staff.userid == userid)
                       .values(department_ids=[dept], main_department=dept))
    db.session.commit()


def test_a_follower_moved_out_of_the_department_takes_their_customers_out_of_scope_at_once(client, corp):
    login(client, "mgr_a")
    assert client.get("/sidebar/api/customers/cust_sales_a2").status_code == 200
    _move("sales_a2", 4)  # A → B
    assert client.get("/sidebar/api/customers/cust_sales_a2").status_code == 403
    assert client.get("/sidebar/api/customers/cust_shared").status_code == 200  # sales_a still follows it
    _move("sales_b", 3)  # B → A1, below A
    assert client.get("/sidebar/api/customers/cust_sales_b").status_code == 200
    assert client.get("/sidebar/api/groups/grp_sales_b").status_code == 200


def test_a_manager_moved_to_another_department_sees_that_one_from_the_next_request(client, corp):
    login(client, "mgr_a")
    assert client.get("/sidebar/api/customers/cust_sales_a1").status_code == 200
    _move("mgr_a", 4)
    assert client.get("/sidebar/api/customers/cust_sales_a1").status_code == 403
    assert client.get("/sidebar/api/groups/grp_sales_a1").status_code == 403
    assert client.get("/sidebar/api/customers/cust_sales_b").status_code == 200
