"""PIPL (issue #10, security 9): erasing one customer everywhere, retention purges, and the
audit of Open API reads of personal data."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from scrm import clock
from scrm.config import override
from scrm.extensions import db
from scrm.models import (
    AuditLog,
    CallbackEvent,
    CustomerDate,
    CustomerFieldValue,
    CustomField,
    FollowUp,
    WelcomeMessage,
)
from scrm.services.privacy import ERASED, purge_expired
from scrm.services.tokens import create_token
from tests.api.factories import T0, gen_customer, gen_event, gen_group, gen_member, gen_relation, gen_timeline
from tests.conftest import TEST_CORP_ID

NAME, MOBILE, OTHER_NAME, OTHER_MOBILE = "张三丰", "13800138000", "李四光", "13911112222"


def _person(name: str, mobile: str, n: int):
    customer = gen_customer(name=name, avatar=f"http://wx.qlogo.cn/{n}", corp_name="武当派")
    cid = customer.external_userid
    gen_relation(customer, "zhangsan", remark=f"{name}-VIP", description=f"{name} 手机 {mobile}",
                 remark_mobiles=[mobile], remark_corp_name="武当")
    db.session.add_all([
        FollowUp(corp_id=TEST_CORP_ID, userid="zhangsan", external_userid=cid, kind="call",
                 content=f"打电话给{name} {mobile}"),
        CustomerFieldValue(corp_id=TEST_CORP_ID, external_userid=cid, field_id=_field_id(), value=f"{name}的地址"),
        WelcomeMessage(corp_id=TEST_CORP_ID, event_id=1000 + n, userid="zhangsan", external_userid=cid,
                       status="sent", content={"text": {"content": f"你好 {name}"}}, received_at=T0),
        CustomerDate(corp_id=TEST_CORP_ID, external_userid=cid, key="birthday", value=date(1990, 1, n)),
        AuditLog(corp_id=TEST_CORP_ID, userid="zhangsan", action="edit_remark", target_type="customer",
                 target_id=cid, detail={"remark": f"{name}-VIP", "mobile": mobile}, at=T0),
    ])
    db.session.commit()
    gen_timeline(customer, "remark_changed", summary=f"{name}-VIP", data={"mobiles": [mobile]})
    gen_member(gen_group(), cid, name=name, group_nickname=f"{name}本人")
    gen_event(payload=f"<xml><ExternalUserID><![CDATA[{cid}]]></ExternalUserID><Name>{name}</Name></xml>",
              status="processed")
    return cid


def _field_id() -> int:
    field = db.session.scalar(select(CustomField).filter_by(key="address"))
    if field is None:
        field = CustomField(corp_id=TEST_CORP_ID, key="address", label="地址", type="text")
        db.session.add(field)
        db.session.flush()
    return field.id


def _everything() -> str:
    """Every row of every table, as text."""
    text = []
    for table in db.metadata.sorted_tables:
        text.extend(str(tuple(row)) for row in db.session.execute(table.select()))
    return "\n".join(text)


def _counts() -> dict[str, int]:
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


def test_api_erase_anonymises_one_customer_everywhere_and_keeps_counts(client):
    erased = _person(NAME, MOBILE, 1)
    _person(OTHER_NAME, OTHER_MOBILE, 2)
    token = create_token("dpo", TEST_CORP_ID, scope="admin")
    before = _counts()
    assert NAME in _everything() and MOBILE in _everything()
    resp = client.post(f"/api/v1/customers/{erased}/erase", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["rows"]["follow_up"] == 1
    db.session.expire_all()
    after = _everything()
    assert NAME not in after and MOBILE not in after and "qlogo.cn/1'" not in after
    assert OTHER_NAME in after and OTHER_MOBILE in after  # the other customer is untouched
    assert ERASED in after
    counts = _counts()
    assert counts.pop("customer_date") == before.pop("customer_date") - 1  # a date has no blank form
    assert counts.pop("audit_log") == before.pop("audit_log") + 1
    assert counts == before  # every other row stays
    record = db.session.scalar(select(AuditLog).filter_by(action="erase_customer"))
    assert record.target_id == erased and record.userid.startswith("api-token:") and "dpo" in record.userid


def test_erase_needs_an_admin_token(client):
    cid = _person(NAME, MOBILE, 1)
    token = create_token("ops", TEST_CORP_ID, scope="write")
    resp = client.post(f"/api/v1/customers/{cid}/erase", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 403
    assert NAME in _everything()


def test_erase_of_an_unknown_customer_is_404(client):
    token = create_token("dpo", TEST_CORP_ID)
    resp = client.post("/api/v1/customers/wmnobody/erase", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 404


def test_cli_erase(runner):
    cid = _person(NAME, MOBILE, 1)
    result = runner.invoke(args=["scrm", "customer", "erase", cid, "--yes"])
    assert result.exit_code == 0, result.output
    assert NAME not in _everything() and MOBILE not in _everything()
    assert db.session.scalar(select(AuditLog.userid).filter_by(action="erase_customer")).startswith("cli:")
    assert runner.invoke(args=["scrm", "customer", "erase", "wmnobody", "--yes"]).exit_code != 0


def test_retention_purges_old_payloads_and_audit_rows(app):
    now = T0 + timedelta(days=400)
    old = gen_event(payload="<xml>old</xml>", status="processed", received_at=now - timedelta(days=31))
    pending = gen_event(payload="<xml>pending</xml>", status="pending", received_at=now - timedelta(days=31))
    recent = gen_event(payload="<xml>recent</xml>", status="processed", received_at=now - timedelta(days=29))
    db.session.add_all([
        AuditLog(corp_id=TEST_CORP_ID, userid="u", action="view_customer", target_type="customer",
                 target_id="wm1", at=now - timedelta(days=366)),
        AuditLog(corp_id=TEST_CORP_ID, userid="u", action="view_customer", target_type="customer",
                 target_id="wm2", at=now - timedelta(days=364)),
    ])
    db.session.commit()
    assert purge_expired(now) == {"inbox_payloads": 1, "audit_rows": 1}
    db.session.expire_all()
    payloads = {e.id: e.payload for e in db.session.scalars(select(CallbackEvent))}
    assert payloads == {old.id: "", pending.id: "<xml>pending</xml>", recent.id: "<xml>recent</xml>"}
    assert db.session.scalars(select(AuditLog.target_id)).all() == ["wm2"]


def test_retention_settings_and_the_job(app):
    from jobs.privacy import purge_personal_data

    now = T0 + timedelta(days=10)
    gen_event(payload="<xml>x</xml>", status="processed", received_at=now - timedelta(days=8))
    assert purge_personal_data(now) == 0
    override(app, INBOX_PAYLOAD_RETENTION_DAYS=7)
    assert purge_personal_data(now) == 1


def test_open_api_reads_of_customers_are_audited(client):
    first, second = gen_customer(), gen_customer()
    token = create_token("bi", TEST_CORP_ID, scope="read")
    headers = {"Authorization": f"Bearer {token}"}
    clock.freeze(T0)
    try:
        assert client.get("/api/v1/customers", headers=headers).status_code == 200
        assert client.get(f"/api/v1/customers/{first.external_userid}", headers=headers).status_code == 200
    finally:
        clock.freeze(None)
    rows = db.session.execute(select(AuditLog.action, AuditLog.target_id, AuditLog.userid, AuditLog.at)
                              .order_by(AuditLog.id)).all()
    assert [(r.action, r.target_id) for r in rows] == [
        ("api_list_customers", first.external_userid), ("api_list_customers", second.external_userid),
        ("api_view_customer", first.external_userid)]
    assert all(r.userid.startswith("api-token:") and r.at == T0 for r in rows)
