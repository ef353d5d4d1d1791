"""JSON logs carrying request id, job id and corp id on every line."""
from __future__ import annotations

import contextvars
import logging
import re
import sys

from pythonjsonlogger.json import JsonFormatter

corp_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("corp_id", default=None)
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.corp_id = corp_id_var.get()
        try:
            from rq import get_current_job

            job = get_current_job()
        except Exception:  # noqa: BLE001 - no job context outside workers
            job = None
        record.job_id = job.id if job else None
        return True


# Personal data that must never reach a log line, should a message or a traceback carry it:
# SQLAlchemy's bound parameters (the engines hide them too), mainland mobile numbers, decrypted
# callback XML, welcome codes.
_REDACTIONS = (
    (re.compile(r"\[parameters: .*?\](?=\n|$)", re.S), "[parameters redacted]"),
    (re.compile(r"(?<![0-9A-Za-z])(?:\+?86[- ]?)?1[3-9][0-9](?:[- ]?[0-9]{4}){2}(?![0-9A-Za-z])"), "[mobile]"),
    (re.compile(r"<xml>.*?(?:</xml>|$)", re.S | re.I), "<xml>[payload redacted]</xml>"),
    (re.compile(r"(welcome_?code\W{0,12})[A-Za-z0-9_\-]{8,}", re.I), r"\1[redacted]"),
)


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


# RQ's own lines about a failed job print the exception's message (which may name a customer)
# and the job's arguments: on its loggers, each exception line keeps only the exception's type.
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*): .*$", re.M)


def strip_exception_messages(text: str) -> str:
    if "Traceback (most recent call last)" not in text:
        return text
    return _EXCEPTION_LINE.sub(r"\1: [message redacted]", text)


class RedactingFilter(logging.Filter):
    """On our handler: the message and any traceback, formatted once and scrubbed."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.name.startswith("rq."):
            cleaned = strip_exception_messages(cleaned)
            for extra in ("arguments", "kwargs"):  # RQ's failure line carries the job's arguments
                record.__dict__.pop(extra, None)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            record.exc_text = redact(self._formatter.formatException(record.exc_info))
            record.exc_info = None  # formatters then print exc_text, the scrubbed one
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class TextFormatter(logging.Formatter):
    """For a person reading `make run` in a terminal: one line, ids only where there are some."""

    def format(self, record: logging.LogRecord) -> str:
        ids = " ".join(f"{name}={value}" for name in ("corp_id", "job_id", "request_id")
                       if (value := getattr(record, name, None)))
        return super().format(record) + (f"  [{ids}]" if ids else "")


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "text":
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    else:
        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(job_id)s %(corp_id)s",
            rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
        ))
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_scrm", False)]:
        root.removeHandler(old)
    handler._scrm = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # urllib3 logs full URLs at DEBUG, and WeCom puts access_token (and, for gettoken, the
    # app secret) in the query string: never let those lines out.
    logging.getLogger("urllib3").setLevel(max(logging.INFO, logging.getLogger().level))
    # APScheduler logs two INFO lines each time a sweep is enqueued (every 15 s): at INFO, only
    # its warnings; at DEBUG, everything.
    root_level = logging.getLogger().level
    logging.getLogger("apscheduler").setLevel(logging.WARNING if root_level == logging.INFO else root_level)


def quiet_console(level: int = logging.WARNING) -> None:
    """Only ``level`` and above from our handler: for a one-off CLI command, whose own output
    (progress, results) goes to stdout and must not be interleaved with INFO lines."""
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_scrm", False):
            handler.setLevel(max(level, handler.level))
