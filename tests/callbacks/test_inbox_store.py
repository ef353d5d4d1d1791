"""inbox.store() under concurrent callers: each event stored once, one caller told it is new."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from scrm.extensions import db
from scrm.models import CallbackEvent
from scrm.services import inbox
from tests.conftest import TEST_CORP_ID
from tests.helpers import event_xml


def test_concurrent_stores_keep_each_event_once(app):
    events = [event_xml("change_external_contact", "edit_external_contact", UserID="zhangsan",
                        ExternalUserID=f"wm{n:04d}") for n in range(20)]
    deliveries = events * 3  # every event arrives three times (WeCom's retries), from 6 threads
    results: list[tuple[str, int | None]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def deliver(share: list[str]) -> None:
        try:
            with app.app_context():
                for xml in share:
                    event_id = inbox.store(TEST_CORP_ID, xml)
                    with lock:
                        results.append((xml, event_id))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(deliveries[i::6],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert len(results) == len(deliveries)
    new_ids = {xml: [i for x, i in results if x == xml and i is not None] for xml in events}
    assert all(len(ids) == 1 for ids in new_ids.values())  # one caller per event gets the id
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CallbackEvent)) == len(events)
    stored = dict(db.session.execute(select(CallbackEvent.payload, CallbackEvent.id)).all())
    assert stored == {xml: ids[0] for xml, ids in new_ids.items()}
