"""The seeded corp (deterministic, scales) and the command line."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import __main__ as cli
from sandbox.world import World
from scrm.sandbox_corp import SANDBOX_AES_KEY, SANDBOX_CORP_ID
from tests.sandbox.conftest import FakeClock


def snapshot(world: World) -> tuple:
    return (list(world.staff), [(c.external_userid, c.name) for c in world.customers.values()],
            [(g.chat_id, g.owner, list(g.members)) for g in world.groups.values()], list(world.tags),
            [(r.userid, r.tag_ids, r.createtime) for s in world.staff.values() for r in s.relations.values()])


def test_same_seed_same_corp():
    def make(seed):
        return World(now=FakeClock()).seed(staff=20, customers=500, groups=10, seed=seed)
    assert snapshot(make(42)) == snapshot(make(42))
    assert snapshot(make(42)) != snapshot(make(43))


def test_default_corp_looks_like_wecom():
    world = World(now=FakeClock()).seed()
    assert (len(world.staff), len(world.customers), len(world.groups)) == (20, 3000, 60)
    assert all(len(ext) == 32 and ext.startswith("wm") for ext in world.customers)
    assert all(len(chat_id) == 30 and chat_id.startswith("wr") for chat_id in world.groups)
    assert all(tag_id.startswith("et") for tag_id in world.tags)
    assert all(userid.isascii() and userid.isalnum() for userid in world.staff)
    assert {c.type for c in world.customers.values()} == {1, 2}
    assert all(c.relations for c in world.customers.values())
    assert any(r.tag_ids for s in world.staff.values() for r in s.relations.values())
    assert all(g.owner in g.members for g in world.groups.values())
    assert len(SANDBOX_AES_KEY) == 43 and SANDBOX_AES_KEY.isalnum()


def test_benchmark_size_seeds_whole():
    """The benchmarks' world (bench/sync.py prints how long seeding it takes; no timing here)."""
    world = World(now=FakeClock()).seed(staff=500, customers=100_000, groups=5000)
    assert len(world.customers) == 100_000 and len(world.groups) == 5000
    assert len(world.staff) == 500


def test_refuses_to_start_with_real_credentials(capsys):
    assert cli.refuse_real_credentials({}) is None
    assert cli.refuse_real_credentials({"WECOM_CORP_ID": SANDBOX_CORP_ID}) is None
    assert "ww1436e0e65a779aee" in cli.refuse_real_credentials({"WECOM_CORP_ID": "ww1436e0e65a779aee"})


def test_main_exits_before_serving(monkeypatch, capsys):
    monkeypatch.setenv("WECOM_CORP_ID", "ww1436e0e65a779aee")
    monkeypatch.setattr(cli, "serve", lambda args: pytest.fail("must not serve"))
    assert cli.main(["--port", "5999"]) == 2
    assert "refusing to start" in capsys.readouterr().err


@pytest.fixture
def no_serving_env(monkeypatch):
    """Sandbox-mode environment; ``serve`` records its arguments instead of starting gunicorn."""
    monkeypatch.delenv("WECOM_CORP_ID", raising=False)
    monkeypatch.delenv("SANDBOX_ALLOW_REMOTE", raising=False)
    served: list = []
    monkeypatch.setattr(cli, "serve", served.append)
    return served


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.5"])
def test_serves_on_loopback(no_serving_env, host):
    assert cli.main(["--host", host]) == 0
    assert [args.host for args in no_serving_env] == [host]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.20", "10.0.0.1", "scrm.example.com"])
def test_refuses_to_bind_beyond_loopback(no_serving_env, capsys, host):
    assert cli.main(["--host", host]) == 2
    assert no_serving_env == []
    err = capsys.readouterr().err
    assert err.startswith("[sandbox] refusing to start: --host") and err.count("\n") == 1  # one line
    assert "--allow-remote" in err and "SANDBOX_ALLOW_REMOTE=1" in err


def test_binds_beyond_loopback_when_told_explicitly(no_serving_env, monkeypatch):
    assert cli.main(["--host", "0.0.0.0", "--allow-remote"]) == 0
    monkeypatch.setenv("SANDBOX_ALLOW_REMOTE", "1")
    assert cli.main(["--host", "0.0.0.0"]) == 0
    assert [args.host for args in no_serving_env] == ["0.0.0.0", "0.0.0.0"]
    monkeypatch.setenv("SANDBOX_ALLOW_REMOTE", "yes-please")  # only "1" counts
    assert cli.main(["--host", "0.0.0.0"]) == 2


def test_python_m_sandbox_refuses_a_public_bind():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "SANDBOX_"))}
    out = subprocess.run([sys.executable, "-m", "sandbox", "--host", "0.0.0.0", "--port", "5999"],
                         cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "is not loopback" in out.stderr
    assert out.stdout == ""  # never seeded, never served


def test_cli_options():
    args = cli.parse_args(["--latency-ms", "50-150", "--customers", "10", "--callback-url", "http://x/cb"])
    assert args.latency_ms == (50.0, 150.0) and args.customers == 10 and args.callback_url == "http://x/cb"
    assert cli.parse_args(["--latency-ms", "80"]).latency_ms == (80.0, 80.0)
    with pytest.raises(SystemExit):
        cli.parse_args(["--latency-ms", "150-50"])
    app = cli.build_app(cli.parse_args(["--staff", "3", "--customers", "20", "--groups", "2"]))
    sizes = app.test_client().get("/sandbox/api/").get_json()["sizes"]
    assert sizes == {"staff": 3, "customers": 20, "groups": 2}
