"""The manager alert for an unusual day: a member whose relations ended by the customer (lost)
or by the member (deleted, not transfers) since local midnight reach
max(SCRM_CHURN_ANOMALY_MIN, SCRM_CHURN_ANOMALY_MULTIPLE × their daily average over the 30 days
before) — once per member, direction and day, to their manager."""
from __future__ import annotations

from datetime import timedelta

import pytest

from scrm.config import override
from scrm.extensions import db
from scrm.models import FollowRelation
from scrm.services import churn_alerts
from scrm.services.churn_alerts.record import anomaly_threshold
from tests.churn.alerts_support import T0, alerts, customer, deletion_xml, org, to
from tests.conftest import TEST_CORP_ID

LOST, DELETED = "del_follow_user", "del_external_contact"


def history(count: int, status: str = "deleted_by_customer") -> None:
    """``count`` relations of zhangsan that ended over the 30 days before T0's day."""
    db.session.add_all(FollowRelation(
        corp_id=TEST_CORP_ID, userid="zhangsan", external_userid=f"old{i:03d}", status=status,
        status_changed_at=T0 - timedelta(days=1 + i % 30)) for i in range(count))
    db.session.commit()


@pytest.fixture
def team(app, frozen):
    org()
    for i in range(12):
        customer(f"wm{i:02d}", f"客户{i:02d}")


def deletions(deliver, n: int, change_type: str = LOST, start: int = 0) -> None:
    deliver(*(deletion_xml(f"wm{i:02d}", at=T0 + timedelta(minutes=i), change_type=change_type)
              for i in range(start, start + n)))


def anomalies() -> list:
    return alerts(kind="anomaly")


def test_the_threshold_is_the_minimum_or_a_multiple_of_the_average(app):
    assert [anomaly_threshold(a) for a in (0, 1.0, 1.7, 2.0, 3.0)] == [5, 5, 6, 6, 9]
    override(app, CHURN_ANOMALY_MIN=2, CHURN_ANOMALY_MULTIPLE=1.5)
    assert [anomaly_threshold(a) for a in (0, 1.0, 3.0)] == [2, 2, 5]


def test_the_manager_hears_once_when_a_member_loses_unusually_many_customers(team, deliver, sent):
    history(30)  # one a day: threshold max(5, 3 × 1.0) = 5
    deletions(deliver, 4)
    assert anomalies() == []
    deletions(deliver, 1, start=4)
    [row] = anomalies()
    assert (row.recipient_userid, row.about_userid, str(row.day)) == ("wangwu", "zhangsan", "2026-03-10")
    assert row.data == {"direction": "deleted_by_customer", "count": 5, "average": 1.0, "threshold": 5}
    deletions(deliver, 3, start=5)
    assert len(anomalies()) == 1  # once that day

    churn_alerts.sweep(T0 + timedelta(minutes=10))
    [boss] = to(sent, "wangwu")
    text = boss["text"]["content"]
    assert "张三 今天已有 5 位客户删除了他/她，明显多于平时（近 30 天日均 1 位），请关注。" in text
    assert "张三 的 8 位客户删除了他/她" in text  # the deletions themselves, in the same message

    # The next day counts afresh (its average now holds today's 8: threshold still 5).
    deliver(*(deletion_xml(f"wm{i:02d}", at=T0 + timedelta(days=1, minutes=i)) for i in range(8, 12)))
    assert len(anomalies()) == 1  # 4 < 5


def test_a_member_who_usually_loses_many_needs_more(team, deliver):
    history(90)  # three a day: threshold 9
    deletions(deliver, 8)
    assert anomalies() == []
    deletions(deliver, 1, start=8)
    assert [r.data["threshold"] for r in anomalies()] == [9]


def test_a_member_deleting_many_customers_is_the_other_direction(team, deliver, sent):
    history(30)  # lost ones: not this direction's average
    deletions(deliver, 5, change_type=DELETED)
    [row] = anomalies()
    assert row.data == {"direction": "deleted_by_staff", "count": 5, "average": 0.0, "threshold": 5}
    assert not alerts(kind="customer_deleted")
    churn_alerts.sweep(T0 + timedelta(minutes=10))
    [boss] = to(sent, "wangwu")
    assert "张三 今天已有 5 位客户被他/她删除" in boss["text"]["content"]
    assert to(sent, "zhangsan") == []


def test_transfers_are_not_deletions(team, deliver):
    deliver(*(deletion_xml(f"wm{i:02d}", change_type=DELETED, at=T0 + timedelta(minutes=i)).replace(
        "</xml>", "<Source><![CDATA[DELETE_BY_TRANSFER]]></Source></xml>") for i in range(6)))
    assert db.session.query(FollowRelation).filter_by(status="transferred").count() == 6
    assert anomalies() == []


def test_no_manager_no_anomaly_alert(app, frozen, deliver):
    org(manager=False)
    for i in range(6):
        customer(f"wm{i:02d}", f"客户{i:02d}")
    deletions(deliver, 6)
    assert anomalies() == [] and {r.recipient_userid for r in alerts()} == {"zhangsan"}


def test_the_minimum_is_a_setting(team, deliver, app):
    override(app, CHURN_ANOMALY_MIN=2)
    deletions(deliver, 2)
    assert [r.data["count"] for r in anomalies()] == [2]
