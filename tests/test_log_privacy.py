"""No personal data in logs (issue #10, security 3): the engines hide bound parameters, and our
handler scrubs mobiles, payloads and welcome codes from messages and tracebacks."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from scrm.extensions import db
from scrm.logging import configure_logging, redact

MOBILE = "13800138000"


def test_database_error_with_a_mobile_in_its_parameters_logs_no_mobile(app, client, caplog):
    @app.get("/boom-db")
    def boom_db():
        db.session.execute(text("SELECT mobile FROM no_such_table WHERE mobile = :mobile"), {"mobile": MOBILE})

    with caplog.at_level(logging.ERROR):
        resp = client.get("/boom-db")
    assert resp.status_code == 500
    assert caplog.records, "the unhandled error is logged"
    assert "no_such_table" in caplog.text  # the traceback is there, with the statement
    assert MOBILE not in caplog.text


def test_handler_scrubs_messages_and_tracebacks(app, capsys):
    configure_logging("INFO")
    log = logging.getLogger("scrm.test")
    try:
        raise ValueError(f"bad payload <xml><Mobile>{MOBILE}</Mobile><WelcomeCode>CODE123456</WelcomeCode></xml>")
    except ValueError:
        log.exception("processing failed for mobile %s, welcome_code=%s", "+86 138-0013-8000", "WELCOMECODE01")
    err = capsys.readouterr().err
    assert "processing failed" in err and "ValueError" in err
    for secret in (MOBILE, "138-0013-8000", "CODE123456", "WELCOMECODE01", "<Mobile>"):
        assert secret not in err


def test_redact_keeps_ids_and_timestamps():
    line = "callback 42 of corp wwtestcorp0000001 at 1716543210123 for wm13800138000ABCDEF"
    assert redact(line) == line
    assert redact(f"tel {MOBILE}.") == "tel [mobile]."


def test_database_errors_name_no_parameters(app):
    with pytest.raises(DBAPIError) as caught:
        db.session.execute(text("SELECT mobile FROM no_such_table WHERE mobile = :mobile"), {"mobile": MOBILE})
    db.session.rollback()
    assert "no_such_table" in str(caught.value)
    assert MOBILE not in str(caught.value)


def test_a_failed_job_logs_neither_its_arguments_nor_its_exception_message(app, capsys):
    """RQ logs each job it starts and each failure with a traceback: neither may carry the
    customer's name passed as an argument or put in the exception's message."""
    from scrm.queueing import get_queue
    from tests.helpers import run_jobs

    configure_logging("INFO")
    get_queue("periodic", app.extensions["redis"]).enqueue("tests.ops.jobs.explode", "王小明")
    run_jobs(app, ["periodic"])
    err = capsys.readouterr().err
    assert "tests.ops.jobs.explode" in err and "ValueError: [message redacted]" in err
    assert "王小明" not in err and "\\u738b" not in err
