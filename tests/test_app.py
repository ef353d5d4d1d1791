"""App factory, health, logs, further corps (settings: tests/test_config.py)."""
from __future__ import annotations

import json
import logging

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import CallbackEvent, Corp
from tests.helpers import event_xml, post_callback


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readiness_reports_unreachable_redis(_env):
    from scrm.app import create_app

    app = create_app({"REDIS_URL": "redis://127.0.0.1:1/0", "TESTING": True})
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["checks"]["redis"].startswith("error")


def test_logs_are_json_with_request_and_corp_ids(client, capsys):
    from scrm.logging import configure_logging

    configure_logging("INFO")  # bind the handler to the stderr capsys captures
    resp = post_callback(client, event_xml("change_contact", "delete_user", UserID="x"),
                         path="/wecom/callback/wwunknown")
    assert resp.status_code == 404
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    warning = next(line for line in lines if "unknown corp" in line["message"])
    assert warning["request_id"] == resp.headers["X-Request-ID"]
    assert warning["level"] == "WARNING"


def test_further_corp_registered_by_cli_gets_its_own_callback_url(app, client, runner):
    other_key = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
    result = runner.invoke(args=["scrm", "corp", "add", "wwsecondcorp0001", "--agent-id", "7"],
                           env={"SCRM_CORP_SECRET": "sec", "SCRM_CORP_TOKEN": "tok2",
                                "SCRM_CORP_AES_KEY": other_key})
    assert result.exit_code == 0, result.output
    assert db.session.get(Corp, "wwsecondcorp0001").agent_id == 7
    xml = event_xml("change_contact", "delete_user", corp_id="wwsecondcorp0001", UserID="lisi")
    creds = dict(token="tok2", aes_key=other_key, corp_id="wwsecondcorp0001")
    assert post_callback(client, xml, path="/wecom/callback/wwsecondcorp0001", **creds).status_code == 200
    # The env corp's URL does not accept the second corp's messages.
    assert post_callback(client, xml, **creds).status_code in (400, 403)
    row = db.session.scalars(select(CallbackEvent)).one()
    assert row.corp_id == "wwsecondcorp0001"


def test_corp_add_validates_the_aes_key(runner):
    result = runner.invoke(args=["scrm", "corp", "add", "wwx", "--agent-id", "1"],
                           input="s\nt\nshort\n")
    assert result.exit_code != 0
    assert "43 characters" in result.output


def test_unhandled_errors_are_json_500_without_details(app, client, caplog):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")

    with caplog.at_level(logging.ERROR):
        resp = client.get("/boom")
    assert resp.status_code == 500
    assert b"secret detail" not in resp.data


def test_worker_log_lines_carry_job_and_corp_ids(app, client, capsys):
    from scrm.logging import configure_logging
    from tests.conftest import TEST_CORP_ID
    from tests.helpers import run_jobs

    configure_logging("INFO")
    post_callback(client, event_xml("change_future_thing", "appear"))
    run_jobs(app)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    ignored = next(line for line in lines if "marked ignored" in line["message"])
    event_id = db.session.scalars(select(CallbackEvent.id)).one()
    assert ignored["job_id"] == f"callback-{event_id}"
    assert ignored["corp_id"] == TEST_CORP_ID


def test_debug_logging_never_lets_urllib3_print_token_urls():
    from scrm.logging import configure_logging

    configure_logging("DEBUG")
    try:
        assert not logging.getLogger("urllib3.connectionpool").isEnabledFor(logging.DEBUG)
    finally:
        configure_logging("WARNING")


def test_text_log_format_for_terminals(capsys):
    from scrm.logging import configure_logging, corp_id_var

    configure_logging("INFO", "text")
    token = corp_id_var.set("wwtext")
    try:
        logging.getLogger("scrm.test").info("hello")
    finally:
        corp_id_var.reset(token)
        configure_logging("WARNING")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "INFO    scrm.test: hello  [corp_id=wwtext" in line
