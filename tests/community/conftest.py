from __future__ import annotations

import pytest

from tests.api.factories import gen_token


@pytest.fixture
def api(client):
    """The Open API with a bearer token of the test corp: api(method, path, json=…)."""
    token = gen_token()

    def call(method: str, path: str, **kw):
        return client.open("/api/v1" + path, method=method, headers={"Authorization": f"Bearer {token}"}, **kw)
    return call
