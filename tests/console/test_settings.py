"""The console's settings: WeCom's web login page (the simulator's in sandbox mode), the session
length and the sign-in limits, each read from its environment variable with a checked value."""
from __future__ import annotations

import pytest

from scrm.config import ConfigError, load_settings

BASE = {"SECRET_KEY": "console-test-secret-key-0123456789abcdef", "REDIS_URL": "redis://localhost/0"}
REAL = {**BASE, "WECOM_CORP_ID": "ww1", "WECOM_AGENT_ID": "1000002", "WECOM_SECRET": "s",
        "WECOM_TOKEN": "t", "WECOM_AES_KEY": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"}


def test_the_login_url_is_wecoms_or_the_simulators():
    assert load_settings(REAL).wecom_login_url == "https://login.work.weixin.qq.com/wwlogin/sso/login"
    assert load_settings({**REAL, "WECOM_LOGIN_URL": "https://l.example/x"}).wecom_login_url == "https://l.example/x"
    assert load_settings(BASE).wecom_login_url == "http://127.0.0.1:5001/wwlogin/sso/login"
    assert load_settings({**BASE, "WECOM_API_BASE_URL": "http://10.0.0.2:7001/cgi-bin/"}
                         ).wecom_login_url == "http://10.0.0.2:7001/wwlogin/sso/login"


def test_session_and_limit_settings():
    config = load_settings(REAL)
    assert (config.console_session_hours, config.console_login_max_failures,
            config.console_login_max_failures_per_ip, config.console_login_window_minutes) == (12, 5, 30, 15)
    config = load_settings({**REAL, "SCRM_CONSOLE_SESSION_HOURS": "2", "SCRM_CONSOLE_LOGIN_MAX_FAILURES": "3",
                            "SCRM_CONSOLE_LOGIN_MAX_FAILURES_PER_IP": "10", "SCRM_CONSOLE_LOGIN_WINDOW_MINUTES": "5"})
    assert (config.console_session_hours, config.console_login_max_failures,
            config.console_login_max_failures_per_ip, config.console_login_window_minutes) == (2, 3, 10, 5)
    with pytest.raises(ConfigError, match="SCRM_CONSOLE_SESSION_HOURS must be at least 1"):
        load_settings({**REAL, "SCRM_CONSOLE_SESSION_HOURS": "0"})
