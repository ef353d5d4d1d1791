"""Channel codes: created in WeCom (add_contact_way), new customers attributed by `state`, the
channel's tags applied with mark_tag and recorded locally (WeCom sends no callback for them)."""
from __future__ import annotations

import pytest
import responses
from sqlalchemy import select

from scrm import clock
from scrm.extensions import db
from scrm.models import Channel, ChannelAdd, RelationTag
from scrm.services import channels
from scrm.services.validation import Invalid
from scrm.wecom import WeComError
from tests.conftest import TEST_CORP_ID
from tests.helpers import post_callback, run_jobs
from tests.welcome.support import OK, add_event, bodies, contact_reply, entry, gen_tags, kinds, url

ADD_WAY, MARK_TAG, GET = "externalcontact/add_contact_way", "externalcontact/mark_tag", "externalcontact/get"


def new_channel(wecom, **data) -> Channel:
    wecom.add(responses.POST, url(ADD_WAY), json={**OK, "config_id": "CFG1", "qr_code": "https://wework.qpic.cn/qr1"})
    values = {"name": "展会", "type": 1, "scene": 2, "state": "expo2024", "userids": ["zhangsan"],
              "tag_ids": ["etVIP"], "remark": "11月展会", "skip_verify": True}
    return channels.create(TEST_CORP_ID, {**values, **data})


def test_create_calls_add_contact_way_and_stores_the_qr_code(app, wecom):
    gen_tags(("etVIP", "展会客户"))
    channel = new_channel(wecom)
    assert bodies(wecom, ADD_WAY) == [{"type": 1, "scene": 2, "remark": "11月展会", "skip_verify": True,
                                        "state": "expo2024", "user": ["zhangsan"]}]
    assert (channel.config_id, channel.qr_code, channel.status) == ("CFG1", "https://wework.qpic.cn/qr1", "active")


def test_invalid_channels_are_refused_before_wecom_is_called(app, wecom):
    gen_tags(("etVIP", "展会客户"))
    new_channel(wecom)
    with pytest.raises(Invalid) as caught:
        channels.create(TEST_CORP_ID, {"name": "x", "type": 1, "scene": 2, "state": "expo2024",
                                       "userids": ["a", "b"], "tag_ids": ["etNOPE"], "welcome_template_id": 99})
    assert set(caught.value.errors) == {"state", "tag_ids", "welcome_template_id", "userids"}
    assert len(bodies(wecom, ADD_WAY)) == 1


def test_wecom_refusing_the_staff_is_an_input_error(app, wecom):
    wecom.add(responses.POST, url(ADD_WAY), json={"errcode": 84074, "errmsg": "no customer contact permission"})
    with pytest.raises(Invalid) as caught:
        channels.create(TEST_CORP_ID, {"name": "x", "type": 1, "scene": 2, "userids": ["nobody"]})
    assert "84074" in caught.value.errors["userids"][0]
    assert db.session.scalars(select(Channel)).all() == []


def test_an_add_through_the_channel_is_attributed_and_tagged(app, client, wecom):
    gen_tags(("etVIP", "展会客户"), ("etHOT", "高意向"))
    channel = new_channel(wecom, tag_ids=["etVIP", "etHOT"])
    wecom.add(responses.GET, url(GET), json=contact_reply("wmNEW1", "小王", state="expo2024"))
    wecom.add(responses.POST, url(MARK_TAG), json=OK)

    post_callback(client, add_event("wmNEW1", state="expo2024", code=None))
    assert run_jobs(app) == 1

    assert bodies(wecom, MARK_TAG) == [{"userid": "zhangsan", "external_userid": "wmNEW1",
                                        "add_tag": ["etVIP", "etHOT"], "remove_tag": []}]
    added = db.session.scalars(select(ChannelAdd)).one()
    assert (added.channel_id, added.userid, added.external_userid, added.state) == (
        channel.id, "zhangsan", "wmNEW1", "expo2024")
    assert set(added.tag_ids) == {"etVIP", "etHOT"} and added.tags_applied_at is not None
    tags = {(t.tag_id, t.tag_name, t.group_name) for t in db.session.scalars(select(RelationTag))}
    assert tags == {("etVIP", "展会客户", "来源"), ("etHOT", "高意向", "来源")}
    assert kinds("wmNEW1") == ["relation_added", "channel_attributed", "tags_applied"]
    assert entry("wmNEW1", "tags_applied").data["channel_id"] == channel.id


def test_a_retryable_mark_tag_error_retries_the_event_and_tags_once(app, client, wecom):
    gen_tags(("etVIP", "展会客户"))
    new_channel(wecom)
    wecom.add(responses.GET, url(GET), json=contact_reply("wmNEW1", "小王", state="expo2024"))
    wecom.add(responses.POST, url(MARK_TAG), json={"errcode": -1, "errmsg": "system busy"})
    wecom.add(responses.POST, url(MARK_TAG), json=OK)
    post_callback(client, add_event("wmNEW1", state="expo2024", code=None))
    run_jobs(app)  # first attempt fails: rolled back, retried by the inbox with backoff
    from scrm.models import CallbackEvent
    from scrm.services import inbox

    event = db.session.scalars(select(CallbackEvent)).one()
    assert event.status == "pending" and db.session.scalars(select(ChannelAdd)).all() == []
    clock.freeze(event.locked_until)  # the retry's time
    assert inbox.process(event.id) == "processed"
    db.session.expire_all()
    assert db.session.scalars(select(ChannelAdd)).one().tag_ids == ["etVIP"]
    assert len(bodies(wecom, MARK_TAG)) == 2
    assert kinds("wmNEW1").count("tags_applied") == 1


def test_a_permanent_mark_tag_error_is_recorded_and_the_add_still_processed(app, client, wecom):
    gen_tags(("etVIP", "展会客户"))
    new_channel(wecom)
    wecom.add(responses.GET, url(GET), json=contact_reply("wmNEW1", "小王", state="expo2024"))
    wecom.add(responses.POST, url(MARK_TAG), json={"errcode": 40068, "errmsg": "invalid tagid"})
    post_callback(client, add_event("wmNEW1", state="expo2024", code=None))
    run_jobs(app)
    assert "tags_apply_failed" in kinds("wmNEW1")
    assert db.session.scalars(select(RelationTag)).all() == []


def test_update_and_delete_go_to_wecom(app, wecom):
    gen_tags(("etVIP", "展会客户"))
    channel = new_channel(wecom)
    wecom.add(responses.POST, url("externalcontact/update_contact_way"), json=OK)
    wecom.add(responses.POST, url("externalcontact/del_contact_way"), json=OK)
    channels.update(channel, {"name": "新名字"})  # local only
    channels.update(channel, {"userids": ["zhangsan"], "remark": "改", "skip_verify": False})
    channels.delete(channel)
    assert bodies(wecom, "externalcontact/update_contact_way") == [
        {"config_id": "CFG1", "remark": "改", "skip_verify": False, "state": "expo2024", "user": ["zhangsan"]}]
    assert bodies(wecom, "externalcontact/del_contact_way") == [{"config_id": "CFG1"}]
    assert (channel.name, channel.status) == ("新名字", "deleted")


def test_a_failed_delete_keeps_the_channel(app, wecom):
    channel = new_channel(wecom, tag_ids=[])
    wecom.add(responses.POST, url("externalcontact/del_contact_way"), json={"errcode": -1, "errmsg": "busy"})
    with pytest.raises(WeComError):
        channels.delete(channel)
    assert channel.status == "active"
