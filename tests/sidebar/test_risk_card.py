"""The sidebar's churn-risk card shows the nightly scoring's result for the viewer's relation."""
from __future__ import annotations

from datetime import timedelta

from scrm.clock import utcnow
from scrm.services.churn import score_corp
from tests.api.factories import gen_customer, gen_relation, gen_staff
from tests.conftest import TEST_CORP_ID


def test_the_risk_card_shows_the_scored_level_and_reasons(staff_client):
    customer = gen_customer(name="沉默的客户")
    gen_staff(userid="zhangsan", name="张三", department_ids=[1])
    gen_relation(customer, "zhangsan", remark="王总", added_at=utcnow() - timedelta(days=45),
                 created_at=utcnow() - timedelta(days=45))
    before = staff_client.get(f"/sidebar/api/customers/{customer.external_userid}").get_json()
    assert before["churn_risk"] is None  # not scored yet: 「流失风险：暂无评估」

    score_corp(TEST_CORP_ID, utcnow())
    risk = staff_client.get(f"/sidebar/api/customers/{customer.external_userid}").get_json()["churn_risk"]
    assert risk["level"] == "dormant" and risk["level_label"] == "沉睡"  # 45 days silent: past 30
    assert risk["days_silent"] >= 44 and any("无互动" in reason for reason in risk["reasons"])
