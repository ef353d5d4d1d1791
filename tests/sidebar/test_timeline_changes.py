"""The sidebar's timeline: an edit made in the sidebar shows old → new like one made in WeCom
(tests/events/test_timeline_diffs.py), mobiles masked by role; the funnel is 销售阶段."""
from __future__ import annotations

import responses

from scrm.extensions import db
from scrm.models import CustomField
from tests.api.factories import gen_customer, gen_relation, gen_staff
from tests.helpers import wecom_url


def _customer():
    customer = gen_customer()
    gen_staff(userid="zhangsan", name="张三")
    gen_relation(customer, "zhangsan", remark="王总", description="采购", remark_mobiles=["13812345678"])
    return customer


def _items(client, customer) -> list[dict]:
    return client.get(f"/sidebar/api/customers/{customer.external_userid}/timeline").get_json()["items"]


def test_a_remark_edited_in_the_sidebar_shows_old_and_new(staff_client, wecom):
    customer = _customer()
    wecom.add(responses.POST, wecom_url("externalcontact/remark"), json={"errcode": 0, "errmsg": "ok"})
    resp = staff_client.put(f"/sidebar/api/customers/{customer.external_userid}/remark",
                            json={"remark": "王总监", "description": "采购", "remark_mobiles": ["13900001111"]})
    assert resp.status_code == 200
    [item] = _items(staff_client, customer)
    assert (item["kind"], item["source"], item["summary"]) == ("remark_changed", "sidebar", "王总监")
    assert item["changes"] == [
        {"field": "remark", "label": "备注", "from": "王总", "to": "王总监"},
        {"field": "remark_mobiles", "label": "备注电话", "from": "138****5678", "to": "139****1111"},
    ]


def test_the_funnel_is_named_sales_stage_on_the_timeline(staff_client):
    customer = _customer()
    url = f"/sidebar/api/customers/{customer.external_userid}"
    options = staff_client.get(url).get_json()["stage"]["options"]
    assert staff_client.put(f"{url}/stage", json={"stage_id": options[1]["id"]}).status_code == 200
    [item] = _items(staff_client, customer)
    assert (item["kind_label"], item["summary"], item["changes"]) == ("销售阶段变更", "未设置 → 需求确认", None)


def test_custom_field_keys_are_not_taken_for_wecom_fields(staff_client):
    customer = _customer()
    db.session.add(CustomField(corp_id=customer.corp_id, key="position", label="职务", type="text", order=1))
    db.session.commit()
    url = f"/sidebar/api/customers/{customer.external_userid}"
    assert staff_client.put(f"{url}/fields", json={"values": {"position": "经理"}}).status_code == 200
    [item] = _items(staff_client, customer)
    assert (item["kind"], item["summary"], item["changes"]) == ("fields_changed", "职务", None)
