"""Without Redis: a password sign-in still works (the failure limit is not enforced, and says so in
the log); WeCom login cannot start (the state has nowhere to live) and says so in Chinese."""
from __future__ import annotations

import logging

import redis

from tests.console.conftest import password_login


def unreachable(app) -> None:
    app.extensions["redis"] = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2,
                                                   socket_timeout=0.2)


def test_a_password_sign_in_works_without_redis(app, client, admin, caplog):
    unreachable(app)
    with caplog.at_level(logging.WARNING, logger="scrm.services.console.throttle"):
        assert password_login(client, "admin", "wrong password!").status_code == 401
        assert password_login(client).status_code == 302
    assert client.get("/console/api/me").status_code == 200
    assert any("throttle unavailable" in r.getMessage() for r in caplog.records)


def test_wecom_login_cannot_start_without_redis(app, client):
    unreachable(app)
    resp = client.get("/console/login/wecom")
    assert resp.status_code == 503 and "暂时无法使用企业微信登录" in resp.get_data(as_text=True)
    resp = client.get("/console/login/wecom/callback", query_string={"code": "C", "state": "A" * 32})
    assert resp.status_code == 400  # no state can be checked: refused
