from __future__ import annotations

import pytest
import responses

from scrm.queueing import enqueue
from scrm.services.tokens import create_token
from tests.conftest import TEST_CORP_ID, WECOM_BASE
from tests.helpers import run_jobs

CONTACT = WECOM_BASE + "externalcontact/get"


@pytest.fixture
def admin_token(app) -> str:
    return create_token("ops", TEST_CORP_ID, scope="admin")


def stuck_jobs(count: int = 3) -> list[str]:
    """Jobs waiting on the `messages` queue with no worker to run them."""
    return [enqueue("tests.ops.jobs.wait_here", queue="messages").id for _ in range(count)]


def failed_job(app, name: str = "Alice") -> str:
    """A job that raises, run by a real (burst) worker: it lands in the failed registry."""
    job = enqueue("tests.ops.jobs.explode", name, queue="periodic")
    run_jobs(app, ["periodic"])
    return job.id


def wecom_errors(wecom) -> None:
    """Two WeCom calls through the real client: one answered, one refused with errcode 84061."""
    from scrm.services.corps import wecom_client
    from scrm.wecom import WeComError

    wecom.add(responses.GET, CONTACT, json={"errcode": 0, "errmsg": "ok", "external_contact": {}})
    wecom.add(responses.GET, CONTACT, json={"errcode": 84061, "errmsg": "not external contact"})
    client = wecom_client(TEST_CORP_ID)
    client.get_external_contact("wmA")
    with pytest.raises(WeComError):
        client.get_external_contact("wmB")
