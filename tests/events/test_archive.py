"""msgaudit_notify: record the notice and pull the chat archive through an ArchiveSource."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from scrm.extensions import db
from scrm.models import ArchiveCursor, ArchivedMessage
from scrm.services.dispatch import RetryLater
from scrm.services.events import archive
from tests.conftest import TEST_CORP_ID
from tests.helpers import event_xml

T0 = datetime(2023, 11, 14, 22, 13, 20)


def chat_message(seq: int, **extra) -> dict:
    """A decrypted archive message as the SDK's DecryptData returns it (doc 91774), plus seq."""
    return {"seq": seq, "msgid": f"CAQQluDa4QUY0On2rYSAgAMgzPrShAE={seq}", "action": "send",
            "from": "XuJinSheng", "tolist": ["wmErxtDgAA9AW32YyyuYRimKr7D1KWlw"], "roomid": "",
            "msgtime": 1547087894783, "msgtype": "text", "text": {"content": f"消息 {seq}"}, **extra}


class FakeSource:
    """Serves messages after the asked seq, like GetChatData."""

    def __init__(self, messages: list[dict], error: Exception | None = None):
        self.messages, self.error, self.asked = messages, error, []

    def fetch(self, seq: int, limit: int) -> list[dict]:
        self.asked.append((seq, limit))
        if self.error:
            raise self.error
        return [m for m in self.messages if m["seq"] > seq][:limit]


@pytest.fixture
def source():
    fake = FakeSource([chat_message(1), chat_message(2), chat_message(5, roomid="wrROOM", msgtype="revoke")])
    archive.set_archive_source(fake)
    yield fake
    archive.set_archive_source(None)


def notify_xml(create_time: int = 1700000000) -> str:
    return event_xml("msgaudit_notify", create_time=create_time, AgentID=2000004)


def test_notify_pulls_and_advances_the_cursor(deliver, source):
    row = deliver(notify_xml())

    assert row.status == "processed"
    cursor = db.session.get(ArchiveCursor, TEST_CORP_ID)
    assert (cursor.seq, cursor.last_notified_at) == (5, T0)
    assert cursor.last_pulled_at is not None
    stored = db.session.scalars(select(ArchivedMessage).order_by(ArchivedMessage.seq)).all()
    assert [m.seq for m in stored] == [1, 2, 5]
    first = stored[0]
    assert (first.corp_id, first.action, first.from_id, first.roomid, first.msgtype) == (
        TEST_CORP_ID, "send", "XuJinSheng", None, "text")
    assert first.msgtime == datetime(2019, 1, 10, 2, 38, 14, 783000)
    assert first.body["text"] == {"content": "消息 1"}
    assert stored[2].roomid == "wrROOM"
    assert source.asked == [(0, archive.PAGE_SIZE)]


def test_next_notify_pulls_only_new_messages(deliver, source):
    deliver(notify_xml())
    source.messages.append(chat_message(6))
    deliver(notify_xml(1700000015))

    assert source.asked[-1] == (5, archive.PAGE_SIZE)
    assert db.session.query(ArchivedMessage).count() == 4
    assert db.session.get(ArchiveCursor, TEST_CORP_ID).seq == 6


def test_messages_seen_twice_are_stored_once(deliver, source):
    deliver(notify_xml())
    db.session.get(ArchiveCursor, TEST_CORP_ID).seq = 0  # as if the cursor had not been saved
    db.session.commit()
    deliver(notify_xml(1700000015))

    assert db.session.query(ArchivedMessage).count() == 3
    assert db.session.get(ArchiveCursor, TEST_CORP_ID).seq == 5


def test_without_a_source_the_notice_is_only_recorded(deliver):
    row = deliver(notify_xml())

    assert row.status == "processed"
    cursor = db.session.get(ArchiveCursor, TEST_CORP_ID)
    assert (cursor.seq, cursor.last_notified_at) == (0, T0)
    assert db.session.query(ArchivedMessage).count() == 0


def test_transient_source_error_is_retried(deliver):
    archive.set_archive_source(FakeSource([], error=RetryLater("SDK 10001 network error")), corp_id=TEST_CORP_ID)
    try:
        row = deliver(notify_xml())
    finally:
        archive.set_archive_source(None, corp_id=TEST_CORP_ID)

    assert row.status == "pending"
    assert "10001" in row.last_error
    assert db.session.get(ArchiveCursor, TEST_CORP_ID) is None  # rolled back with the attempt


def test_pull_pages_until_a_short_page(deliver, monkeypatch, source):
    monkeypatch.setattr(archive, "PAGE_SIZE", 2)
    deliver(notify_xml())

    assert source.asked == [(0, 2), (2, 2)]
    assert db.session.get(ArchiveCursor, TEST_CORP_ID).seq == 5
