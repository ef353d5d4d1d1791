"""Sidebar fixtures: a client logged in as a staff member (the session OAuth would set)."""
from __future__ import annotations

import time

import pytest

from tests.conftest import TEST_CORP_ID


def login(client, userid: str, corp_id: str = TEST_CORP_ID, expires_in: int = 3600) -> None:
    with client.session_transaction() as sess:
        sess["sidebar"] = {"corp_id": corp_id, "userid": userid, "exp": int(time.time()) + expires_in}


@pytest.fixture
def staff_client(client):
    """Logged in as staff member `zhangsan`; call ``login(staff_client, other)`` to switch."""
    login(client, "zhangsan")
    return client
