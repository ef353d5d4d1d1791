"""Welcome templates: channel → staff → corp default, time-of-day variants, placeholders rendered
by us (the nickname looked up fast, or a neutral fallback), attachments with pre-uploaded media."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import responses
from sqlalchemy import select

from scrm import clock
from scrm.extensions import db
from scrm.models import CallbackEvent, Channel, Customer, MediaAsset, WelcomeMessage
from scrm.services import media, welcome, welcome_templates
from tests.conftest import TEST_CORP_ID
from tests.helpers import post_callback, run_jobs
from tests.welcome.support import OK, add_event, bodies, contact_reply, gen_staff, params, url

SEND = "externalcontact/send_welcome_msg"
GET = "externalcontact/get"
# 2023-11-14 22:13:20 UTC = 2023-11-15 06:13:20 in Shanghai (the add events' CreateTime)
NIGHT = datetime(2023, 11, 14, 22, 13, 20)
DAY = datetime(2023, 11, 15, 3, 0, 0)  # 11:00 in Shanghai


def gen_channel(state: str, template_id: int | None, **kw) -> Channel:
    channel = Channel(corp_id=TEST_CORP_ID, name=kw.pop("name", state), type=1, scene=2, state=state,
                      userids=["zhangsan"], tag_ids=kw.pop("tag_ids", []), welcome_template_id=template_id,
                      config_id="cfg-" + state, **kw)
    db.session.add(channel)
    db.session.commit()
    return channel


def template(name: str, text: str, **kw):
    return welcome_templates.create(TEST_CORP_ID, {"name": name, "text": text, **kw})


def deliver_and_send(app, client, xml: str, at: datetime = DAY) -> WelcomeMessage:
    post_callback(client, xml)
    event = db.session.scalars(select(CallbackEvent).order_by(CallbackEvent.id.desc())).first()
    event.received_at = at
    db.session.commit()
    clock.freeze(at + timedelta(seconds=1))
    welcome.send_welcome(event.id)
    db.session.expire_all()
    return db.session.scalars(select(WelcomeMessage).filter_by(event_id=event.id)).one()


def test_precedence_channel_then_staff_then_corp_default(app, client, wecom):
    gen_staff()
    wecom.add(responses.POST, url(SEND), json=OK)
    default = template("默认", "默认欢迎语")
    welcome_templates.update_template(default, {"is_default": True})
    staff = template("张三的", "我是{staff_name}的专属欢迎语", userids=["zhangsan"])
    gen_channel("expo", template("展会", "感谢在展会上添加{staff_name}").id)

    by_channel = deliver_and_send(app, client, add_event("wmA", state="expo", code="C1"))
    by_staff = deliver_and_send(app, client, add_event("wmB", state="unknown_state", code="C2"))
    welcome_templates.delete_template(staff)
    by_default = deliver_and_send(app, client, add_event("wmC", code="C3"))

    texts = [b["text"]["content"] for b in bodies(wecom, SEND)]
    assert texts == ["感谢在展会上添加张三", "我是张三的专属欢迎语", "默认欢迎语"]
    assert by_channel.channel_id is not None and by_channel.template_id != by_staff.template_id
    assert (by_default.template_id, by_default.status) == (default.id, "sent")


def test_time_of_day_variant(app, client, wecom):
    wecom.add(responses.POST, url(SEND), json=OK)
    default = template("默认", "白天好", is_default=True, variants=[
        {"name": "off_hours", "start": "19:00", "end": "09:00", "text": "现在是休息时间，明早回复您"}])
    assert default.is_default
    deliver_and_send(app, client, add_event("wmA", code="C1"), at=DAY)  # 11:00 local
    deliver_and_send(app, client, add_event("wmB", code="C2"), at=NIGHT)  # 06:13 local
    assert [b["text"]["content"] for b in bodies(wecom, SEND)] == ["白天好", "现在是休息时间，明早回复您"]


def test_nickname_from_the_database_from_a_fast_lookup_or_the_fallback(app, client, wecom):
    wecom.add(responses.POST, url(SEND), json=OK)
    template("默认", "{nickname}您好！", is_default=True, nickname_fallback="朋友")
    db.session.add(Customer(corp_id=TEST_CORP_ID, external_userid="wmKNOWN", name="老客户"))
    db.session.commit()
    wecom.add(responses.GET, url(GET), json=contact_reply("wmNEW", "小王"))
    wecom.add(responses.GET, url(GET), json={"errcode": 84061, "errmsg": "not external contact"})

    deliver_and_send(app, client, add_event("wmKNOWN", code="C1"))  # stored name: no lookup
    deliver_and_send(app, client, add_event("wmNEW", code="C2"))  # looked up
    deliver_and_send(app, client, add_event("wmLATE", code="C3"))  # 84061: the fallback

    assert [b["text"]["content"] for b in bodies(wecom, SEND)] == ["老客户您好！", "小王您好！", "朋友您好！"]
    assert [p["external_userid"] for p in params(wecom, GET)] == ["wmNEW", "wmLATE"]


@pytest.mark.parametrize("started_after", [timedelta(seconds=11), timedelta(seconds=2)])
def test_no_lookup_when_the_job_is_behind(app, client, wecom, started_after):
    """11 s: little of the window left; 2 s: the job waited behind a burst of adds."""
    wecom.add(responses.POST, url(SEND), json=OK)
    template("默认", "{nickname}您好", is_default=True)
    post_callback(client, add_event("wmNEW", code="C1"))
    event = db.session.scalars(select(CallbackEvent)).one()
    clock.freeze(event.received_at + started_after)
    assert welcome.send_welcome(event.id) == "sent"
    assert params(wecom, GET) == []
    assert bodies(wecom, SEND)[0]["text"] == {"content": "您好"}


def upload_reply(media_id: str, at: datetime) -> dict:
    created_at = int((at - datetime(1970, 1, 1)).total_seconds())
    return {**OK, "type": "image", "media_id": media_id, "created_at": str(created_at)}


def test_attachments_use_the_uploaded_media_id_and_an_expired_one_is_never_sent(app, client, wecom):
    wecom.add(responses.POST, url(SEND), json=OK)
    clock.freeze(DAY)
    wecom.add(responses.POST, url("media/upload"), json=upload_reply("MEDIA1", DAY))
    asset = media.add_asset(TEST_CORP_ID, "image", "poster.png", b"\x89PNG...image bytes", "image/png")
    assert (asset.status, asset.media_id, asset.expires_at) == ("ready", "MEDIA1", DAY + timedelta(days=3))
    assert calls_upload_types(wecom) == ["image"]
    link = {"msgtype": "link", "title": "产品手册", "url": "https://example.com/a", "desc": "介绍"}
    template("默认", "欢迎", is_default=True, attachments=[{"msgtype": "image", "media": asset.id}, link])

    deliver_and_send(app, client, add_event("wmA", code="C1"), at=DAY + timedelta(hours=1))
    # three days later, without the renewal sweep having run: the image is left out, not sent expired
    row = deliver_and_send(app, client, add_event("wmB", code="C2"), at=DAY + timedelta(days=3, minutes=1))

    first, second = bodies(wecom, SEND)
    assert first["attachments"] == [{"msgtype": "image", "image": {"media_id": "MEDIA1"}},
                                    {"msgtype": "link", "link": {"title": "产品手册", "url": "https://example.com/a",
                                                                 "desc": "介绍"}}]
    assert [a["msgtype"] for a in second["attachments"]] == ["link"]
    assert row.status == "sent"


def calls_upload_types(wecom) -> list[str]:
    return [p["type"] for p in params(wecom, "media/upload")]


def test_the_renewal_sweep_uploads_again_before_expiry(app, runner, wecom):
    clock.freeze(DAY)
    wecom.add(responses.POST, url("media/upload"), json=upload_reply("MEDIA1", DAY))
    asset = media.add_asset(TEST_CORP_ID, "image", "poster.png", b"\x89PNG...image bytes")
    clock.freeze(None)
    renewed_at = DAY + timedelta(days=2, hours=13)  # 11 h before expiry: inside the 12 h margin
    wecom.replace(responses.POST, url("media/upload"), json=upload_reply("MEDIA2", renewed_at))

    result = runner.invoke(args=["scrm", "tick", "--now", (DAY + timedelta(days=2)).isoformat()])
    assert '"renew-media": 0' in result.output  # 24 h left: nothing to do yet
    result = runner.invoke(args=["scrm", "tick", "--now", renewed_at.isoformat()])
    assert '"renew-media": 1' in result.output

    db.session.expire_all()
    asset = db.session.get(MediaAsset, asset.id)
    assert (asset.media_id, asset.expires_at, asset.uploads) == ("MEDIA2", renewed_at + timedelta(days=3), 2)
    assert calls_upload_types(wecom) == ["image", "image"]
    assert b"\x89PNG" in wecom.calls[-1].request.body  # the stored bytes, multipart


def test_a_failed_upload_stays_pending_and_the_sweep_retries_it(app, runner, wecom):
    clock.freeze(DAY)
    wecom.add(responses.POST, url("media/upload"), json={"errcode": -1, "errmsg": "system busy"})
    asset = media.add_asset(TEST_CORP_ID, "file", "price.pdf", b"%PDF-1.4 price list")
    assert (asset.status, asset.media_id) == ("pending", None)
    assert "system busy" in asset.last_error
    clock.freeze(None)
    wecom.replace(responses.POST, url("media/upload"), json={**upload_reply("F1", DAY), "type": "file"})
    runner.invoke(args=["scrm", "tick", "--now", (DAY + timedelta(minutes=10)).isoformat()])
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).status == "ready"


def test_runs_from_the_welcome_queue_with_the_channel_template(app, client, wecom):
    gen_staff()
    wecom.add(responses.POST, url(SEND), json=OK)
    gen_channel("qr_shop", template("门店", "{nickname}，欢迎光临！我是{staff_name}", nickname_fallback="您好").id)
    wecom.add(responses.GET, url(GET), json=contact_reply("wmSHOP", "Amy<script>"))
    post_callback(client, add_event("wmSHOP", state="qr_shop"))
    run_jobs(app, ["welcome"])
    assert bodies(wecom, SEND)[0]["text"]["content"] == "Amy<script>，欢迎光临！我是张三"  # plain text to WeCom
