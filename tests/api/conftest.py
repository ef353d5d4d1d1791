from __future__ import annotations

import pytest

from tests.api.factories import gen_token


@pytest.fixture
def token(app) -> str:
    return gen_token()


@pytest.fixture
def get(client, token):
    """GET with a bearer token of the test corp."""
    def _get(path: str, **kw):
        return client.get(path, headers={"Authorization": f"Bearer {token}"}, **kw)
    return _get
