"""Callbacks as WeCom sends them: plaintext event XML, then signed, encrypted delivery.

Builders return the plaintext (docs/wecom/callbacks.md#payload-parsing, self-built app envelope; the XML itself comes
from ``sandbox.callback_xml``). ``CallbackSender`` encrypts it with ``scrm.wecom.crypto.CallbackCrypto``
(token, EncodingAESKey, corp id; random nonce, timestamp now), POSTs it with ``msg_signature``,
``timestamp``, ``nonce`` in the query, and behaves like WeCom on failure
(docs/wecom/callbacks.md#reply-and-redelivery): a non-200 reply or
no reply within 5 s is retried, up to 3 times. ``duplicate=True`` delivers an event a second time
after it succeeded (re-encrypted, new nonce), as WeCom is reported to do. Every delivery is
recorded in the world's feed.

The transport is injectable: tests post through a Flask test client (``flask_client_transport``).
"""
from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import requests

from sandbox.callback_xml import FieldValue, event_xml, message_xml
from sandbox.feed import Feed
from scrm.sandbox_corp import SANDBOX_AES_KEY, SANDBOX_CORP_ID, SANDBOX_TOKEN
from scrm.wecom.crypto import CallbackCrypto, parse_xml

log = logging.getLogger("sandbox.callbacks")

# (url, body, query, timeout) → HTTP status; raises on timeout / connection failure.
Transport = Callable[[str, bytes, dict[str, str], float], int]
SUMMARY_FIELDS = ("UserID", "ExternalUserID", "ChatId", "UpdateDetail", "Id", "FromUserName")

# ---- plaintext builders (on sandbox.callback_xml) ------------------------------------------------


def external_contact(corp_id: str, change_type: str, create_time: int, userid: str, external_userid: str,
                     *, state: str | None = None, welcome_code: str | None = None,
                     source: str | None = None, fail_reason: str | None = None) -> str:
    """change_external_contact: add_external_contact (State, WelcomeCode), edit_external_contact,
    del_external_contact (Source), del_follow_user, transfer_fail (FailReason)."""
    fields: dict[str, FieldValue] = {"UserID": userid, "ExternalUserID": external_userid}
    if change_type in ("add_external_contact", "add_half_external_contact"):
        fields["State"] = state or ""
        fields["WelcomeCode"] = welcome_code  # absent when WeCom gives none (docs/wecom/callbacks.md#customer-events)
    fields["Source"] = source
    fields["FailReason"] = fail_reason
    return event_xml(corp_id, "change_external_contact", change_type, create_time=create_time, **fields)


def external_chat(corp_id: str, change_type: str, create_time: int, chat_id: str, *,
                  update_detail: str | None = None, join_scene: int | None = None,
                  quit_scene: int | None = None, members: Iterable[str] | None = None,
                  last_mem_ver: str | None = None, cur_mem_ver: str | None = None) -> str:
    """change_external_chat: create, dismiss, update (add_member / del_member with the member
    fields; change_owner / change_name / change_notice without)."""
    fields: dict[str, FieldValue] = {"ChatId": chat_id}
    if change_type == "update":
        fields["UpdateDetail"] = update_detail
        if update_detail in ("add_member", "del_member"):
            changed = list(members or ())
            fields.update(JoinScene=join_scene if update_detail == "add_member" else None,
                          QuitScene=quit_scene if update_detail == "del_member" else None,
                          MemChangeCnt=len(changed), MemChangeList=changed,
                          LastMemVer=last_mem_ver, CurMemVer=cur_mem_ver)
    return event_xml(corp_id, "change_external_chat", change_type, create_time=create_time, **fields)


def external_tag(corp_id: str, change_type: str, create_time: int, item_id: str, tag_type: str) -> str:
    """change_external_tag: create / update / delete of a tag or tag_group; shuffle."""
    fields: dict[str, FieldValue] = {"Id": item_id}
    if change_type != "shuffle":
        fields["TagType"] = tag_type
    return event_xml(corp_id, "change_external_tag", change_type, create_time=create_time, **fields)


def contact(corp_id: str, change_type: str, create_time: int, userid: str, **fields: FieldValue) -> str:
    """change_contact: create_user / update_user (Name, Department "1,2", MainDepartment, Position,
    Mobile, Gender, Email, Status, Avatar, Alias, NewUserID…) / delete_user."""
    return event_xml(corp_id, "change_contact", change_type, create_time=create_time, UserID=userid, **fields)


def app_text(corp_id: str, agent_id: int, from_user: str, content: str, msg_id: int, create_time: int) -> str:
    """A member's text message to the app (docs/wecom/callbacks.md#app-messages)."""
    return message_xml(corp_id, "text", from_user=from_user, msg_id=msg_id, agent_id=agent_id,
                       create_time=create_time, Content=content)


# ---- transports ---------------------------------------------------------------------------------


def requests_transport() -> Transport:
    local = threading.local()  # a requests.Session per delivery thread (sessions aren't thread-safe)

    def post(url: str, body: bytes, query: dict[str, str], timeout: float) -> int:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        # requests percent-encodes the query values (docs/wecom/callbacks.md#url-verification: a raw "+" would
        # become a space).
        return session.post(url, params=query, data=body, timeout=timeout,
                            headers={"Content-Type": "text/xml; charset=utf-8",
                                     "User-Agent": "Mozilla/4.0 (sandbox WeCom callback)"}).status_code
    return post


def flask_client_transport(client) -> Transport:
    """Post through a Flask test client (tests: the service app without a socket)."""
    def post(url: str, body: bytes, query: dict[str, str], timeout: float) -> int:
        return client.post(urlsplit(url).path, data=body, query_string=query,
                           content_type="text/xml").status_code
    return post


# ---- the sender ---------------------------------------------------------------------------------

def _describe(exc: Exception) -> str:
    # requests wraps urllib3's error, whose ``reason`` says what happened (refused, timed out…).
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return f"{type(exc).__name__}: {reason or exc}"[:300]



class CallbackSender:
    """Encrypt and deliver plaintext callbacks to one URL, with WeCom's retries.

    ``asynchronous=True`` (the server) hands deliveries to ``workers`` background threads so an
    action returns at once, like WeCom's asynchronous push; one worker keeps events in order.
    ``asynchronous=False`` (tests) delivers inside ``send()``.
    """

    def __init__(self, url: str, *, corp_id: str = SANDBOX_CORP_ID, token: str = SANDBOX_TOKEN,
                 aes_key: str = SANDBOX_AES_KEY, feed: Feed | None = None,
                 transport: Transport | None = None, timeout: float = 5.0, retries: int = 3,
                 retry_delay: float = 1.0, duplicate: bool = False, asynchronous: bool = True,
                 workers: int = 1, sleep: Callable[[float], None] = time.sleep):
        self.url = url
        self.crypto = CallbackCrypto(token, aes_key, corp_id)
        self.feed = feed
        self.transport = transport or requests_transport()
        self.timeout, self.retries, self.retry_delay = timeout, retries, retry_delay
        self.duplicate = duplicate
        self.asynchronous = asynchronous
        self._sleep = sleep
        self._queue: queue.Queue[tuple[str, bool]] = queue.Queue()
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()

    def send(self, plaintext: str, *, duplicate: bool | None = None) -> dict | None:
        """Deliver (or queue) one callback; ``duplicate`` overrides the sender's default.
        Returns the delivery record when synchronous."""
        twice = self.duplicate if duplicate is None else duplicate
        if not self.asynchronous:
            record = self.deliver(plaintext)
            if twice and record["ok"]:
                self.deliver(plaintext, duplicate=True)
            return record
        self._start()
        self._queue.put((plaintext, twice))
        return None

    def join(self) -> None:
        """Wait until every queued callback has been delivered (or given up on)."""
        self._queue.join()

    def _start(self) -> None:
        # Threads start on first use, i.e. inside the process that serves (after gunicorn forks).
        with self._start_lock:
            while len(self._threads) < self._workers:
                thread = threading.Thread(target=self._run, name=f"sandbox-callbacks-{len(self._threads)}",
                                          daemon=True)
                thread.start()
                self._threads.append(thread)

    def _run(self) -> None:
        while True:
            plaintext, twice = self._queue.get()
            try:
                record = self.deliver(plaintext)
                if twice and record["ok"]:
                    self.deliver(plaintext, duplicate=True)
            except Exception:
                log.exception("callback delivery crashed")
            finally:
                self._queue.task_done()

    def encrypt(self, plaintext: str) -> tuple[bytes, dict[str, str]]:
        nonce, timestamp = str(secrets.randbelow(10**10)), str(int(time.time()))
        body, signature = self.crypto.encrypt(plaintext, nonce, timestamp)
        return body.encode(), {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}

    def deliver(self, plaintext: str, *, duplicate: bool = False) -> dict:
        """One delivery: the first attempt plus up to ``retries`` retries of the same request."""
        body, query = self.encrypt(plaintext)
        attempts: list[dict] = []
        ok = False
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.retry_delay)
            started = time.monotonic()
            try:
                status = self.transport(self.url, body, query, self.timeout)
                attempts.append({"status": status, "ms": round((time.monotonic() - started) * 1000)})
                ok = status == 200
            except Exception as exc:  # noqa: BLE001 - timeouts, refused connections: WeCom retries
                attempts.append({"status": None, "error": _describe(exc),
                                 "ms": round((time.monotonic() - started) * 1000)})
            if ok:
                break
        fields = parse_xml(plaintext)
        record = {"event": fields.get("Event") or fields.get("MsgType"),
                  "change_type": fields.get("ChangeType"),
                  "ids": {k: fields[k] for k in SUMMARY_FIELDS if fields.get(k)}, "ok": ok,
                  "duplicate": duplicate, "attempts": attempts, "url": self.url, "plaintext": plaintext}
        if self.feed is not None:
            self.feed.add("callback", **record)
        if not ok:
            log.warning("callback %s/%s not accepted after %d attempts: %s", record["event"],
                        record["change_type"], len(attempts), attempts[-1])
        return record
