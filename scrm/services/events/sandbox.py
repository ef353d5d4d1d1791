"""Sandbox mode only: the simulator's chat archive and its clock.

**The chat archive.** A real corp pulls 会话内容存档 through Tencent's native SDK (GetChatData,
then RSA + DecryptData) and plugs that in with ``set_archive_source()`` (archive.py). The
simulator keeps a chat archive of its own (the ``customer_replies`` / ``staff_messages_customer``
actions record a message and send ``msgaudit_notify``) and serves it already decrypted, one item
per message as DecryptData would give it plus the outer ``seq``, at
``GET <simulator>/sandbox/api/chat-archive?seq=N&limit=L`` →
``{"errcode": 0, "errmsg": "ok", "chatdata": [{"seq", "msgid", "action", "from", "tolist",
"roomid", "msgtime", "msgtype", "text": {"content"}}, …]}``. ``SimulatorArchiveSource`` reads it;
create_app() plugs it in for the sandbox corp when the service runs in sandbox mode, never
otherwise.

**The clock.** ``Event=sandbox_clock`` (``OffsetSeconds``) is no WeCom event: the simulator sends
it, signed like every callback, when its ``advance_time`` action moved its clock. The handler
stores the offset for every process (scrm/sandbox_clock.py) and queues one run of every periodic
sweep for the new time (scrm/services/sandbox_catch_up.py), so the nights that passed are
caught up at once. Outside sandbox mode the event is ignored.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

import requests

from scrm import sandbox_clock
from scrm.clock import utcnow
from scrm.config import Settings, settings
from scrm.extensions import db
from scrm.queueing import enqueue_after_commit
from scrm.services.events.archive import set_archive_source
from scrm.services.events.registry import EventContext, RetryLater, handles

log = logging.getLogger(__name__)

ARCHIVE_PATH = "/sandbox/api/chat-archive"
CATCH_UP_JOB = "jobs.sandbox.catch_up"


class SimulatorArchiveSource:
    """The simulator's chat archive (an ArchiveSource): decrypted items after ``seq``."""

    def __init__(self, base_url: str, timeout: float = 10.0):
        self.url = base_url.rstrip("/") + ARCHIVE_PATH
        self.timeout = timeout

    def fetch(self, seq: int, limit: int) -> list[dict]:
        try:
            reply = requests.get(self.url, params={"seq": seq, "limit": limit}, timeout=self.timeout)
            reply.raise_for_status()
            body = reply.json()
        except (requests.RequestException, ValueError) as exc:  # the SDK's 10001 / 10002: try again
            raise RetryLater(f"simulator chat archive unavailable: {type(exc).__name__}", delay=5) from None
        if not isinstance(body, dict) or body.get("errcode") != 0 or not isinstance(body.get("chatdata"), list):
            raise RetryLater("simulator chat archive answered an error", delay=5)
        return [item for item in body["chatdata"] if isinstance(item, dict) and "seq" in item and "msgid" in item]


def simulator_origin(api_base_url: str) -> str:
    parts = urlsplit(api_base_url)
    return f"{parts.scheme}://{parts.netloc}"


def install_simulator_archive(cfg: Settings) -> SimulatorArchiveSource:
    """The sandbox corp's archive source: the simulator its WeCom API is (sandbox mode only)."""
    source = SimulatorArchiveSource(simulator_origin(cfg.wecom_api_base_url), timeout=cfg.wecom_timeout)
    set_archive_source(source, corp_id=cfg.wecom_corp_id)
    return source


@handles("sandbox_clock")
def clock_moved(ctx: EventContext) -> None:
    if not settings().sandbox:
        log.warning("sandbox_clock callback outside sandbox mode: ignored")
        return
    offset = sandbox_clock.parse_offset(ctx.get("OffsetSeconds"))
    if offset is None:
        log.warning("sandbox_clock callback without a valid OffsetSeconds: ignored")
        return
    sandbox_clock.set_offset(offset)
    now = utcnow()
    log.info("sandbox clock %d s ahead of the wall clock (now %s UTC); catching the sweeps up", offset,
             now.replace(microsecond=0))
    enqueue_after_commit(db.session, CATCH_UP_JOB, now.isoformat(), queue="periodic",
                         job_id=f"sandbox-catch-up-{offset}", unique=True)
