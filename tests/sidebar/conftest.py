"""Sidebar fixtures: a client logged in as a staff member (the session OAuth would set), sending
what the sidebar page sends with every request (the X-Requested-With header, sidebar/auth.py)."""
from __future__ import annotations

import time

import pytest

from tests.conftest import TEST_CORP_ID

PAGE_HEADER = {"X-Requested-With": "scrm-sidebar"}


def login(client, userid: str, corp_id: str = TEST_CORP_ID, expires_in: int = 3600, version: int = 0) -> None:
    with client.session_transaction() as sess:
        sess["sidebar"] = {"corp_id": corp_id, "userid": userid, "exp": int(time.time()) + expires_in,
                           "ver": version}
    client.environ_base["HTTP_X_REQUESTED_WITH"] = PAGE_HEADER["X-Requested-With"]


@pytest.fixture
def staff_client(client):
    """Logged in as staff member `zhangsan`; call ``login(staff_client, other)`` to switch."""
    login(client, "zhangsan")
    return client
