"""The event feed: what happened in the simulated WeCom and what the service did to it.

Entries have consecutive ids, so a reader polls ``since(last_id)`` and gets exactly what is
new. Only the newest ``maxlen`` entries are kept (a benchmark makes thousands of calls a minute).

Kinds and their fields:
  api_call        method, path, params (no credentials), body (long lists shortened), errcode
  welcome_sent    userid, external_userid, welcome_code, text, attachments, latency_ms
  mass_send_created    msgid, chat_type, sender, text, attachments, fail_list (count), tasks {userid: n}
  mass_send_confirmed  msgid, userid, chat_type, text, attachments, sent, not_friend, quota_exceeded
  mass_send_reminded   msgid, pending (userids yet to confirm)
  mass_send_cancelled  msgid
  app_message     touser, msgtype, content, msgid, invaliduser, dropped_as_duplicate
  contact_way / group_welcome_template / join_way
                  op, config_id / template_id, settings / template
  callback        event, change_type, ids, ok, duplicate, attempts [{status, error, ms}], url, plaintext
                  (ok None + skipped when no callback URL is configured)
  action          name, params, result
  tokens_expired  count
  media_uploaded  type, media_id, filename, size
  chat_message    staff, external_userid / chat_id, text, message, via ("sidebar": ww.sendChatMessage
                  from the service's sidebar, reported by the chat window)
"""
from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

LIST_PREVIEW = 20  # list items kept when recording a request body


def shorten(value: Any) -> Any:
    """A copy of a JSON value with long lists cut (the feed keeps what is needed to read it)."""
    if isinstance(value, dict):
        return {key: shorten(item) for key, item in value.items()}
    if isinstance(value, list):
        if len(value) > LIST_PREVIEW:
            return [shorten(item) for item in value[:LIST_PREVIEW]] + [f"… {len(value) - LIST_PREVIEW} more"]
        return [shorten(item) for item in value]
    return value


class Feed:
    def __init__(self, now: Callable[[], float], maxlen: int = 5000):
        self._now = now
        self._entries: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()  # own lock: callback threads write without the world lock

    def add(self, kind: str, **data: Any) -> dict[str, Any]:
        with self._lock:
            entry = {"id": next(self._ids), "at": round(self._now(), 3), "kind": kind, **data}
            self._entries.append(entry)
        return entry

    def since(self, after: int = 0, limit: int = 500, kind: str | None = None) -> list[dict[str, Any]]:
        """Entries with id > after, oldest first, at most ``limit``."""
        with self._lock:
            if not self._entries:
                return []
            first = self._entries[0]["id"]
            start = max(after - first + 1, 0)  # ids are consecutive: index arithmetic, no scan
            picked = itertools.islice(self._entries, start, None)
            if kind is not None:
                picked = (entry for entry in picked if entry["kind"] == kind)
            return list(itertools.islice(picked, limit))

    @property
    def last_id(self) -> int:
        with self._lock:
            return self._entries[-1]["id"] if self._entries else 0
