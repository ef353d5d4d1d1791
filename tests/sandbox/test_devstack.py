"""`make run` (sandbox.devstack): the `.env` it writes holds SECRET_KEY, so only its owner reads it."""
from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from dotenv import dotenv_values

from sandbox import devstack, envfile


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def env_file(tmp_path, monkeypatch):
    path = tmp_path / ".env"
    monkeypatch.setenv("SCRM_ENV_FILE", str(path))
    old_umask = os.umask(0o022)  # the usual umask: a plain write would make the file 0644
    yield path
    os.umask(old_umask)


def test_first_run_creates_env_with_mode_0600_and_a_fresh_secret_key(env_file, capsys):
    env = devstack.load_env()
    assert mode(env_file) == 0o600
    secret = dotenv_values(env_file)["SECRET_KEY"]
    assert len(secret) == 64 and secret != "change-me"
    assert env["SECRET_KEY"] == os.environ.get("SECRET_KEY", secret)  # the real environment wins
    assert "created .env (mode 0600)" in capsys.readouterr().out


@pytest.mark.parametrize("wide", [0o644, 0o640, 0o666, 0o604], ids=lambda m: f"{m:04o}")
def test_an_existing_env_readable_by_others_is_narrowed_to_0600(env_file, capsys, wide):
    env_file.write_text("SECRET_KEY=kept-as-it-was-0123456789abcdef\n", encoding="utf-8")
    os.chmod(env_file, wide)
    devstack.load_env()
    assert mode(env_file) == 0o600
    assert env_file.read_text(encoding="utf-8") == "SECRET_KEY=kept-as-it-was-0123456789abcdef\n"
    assert f"was mode {wide:04o}" in capsys.readouterr().out


def test_a_private_env_is_left_alone(env_file, capsys):
    env_file.write_text("SECRET_KEY=x\n", encoding="utf-8")
    os.chmod(env_file, 0o400)
    devstack.load_env()
    assert mode(env_file) == 0o400
    assert capsys.readouterr().out == ""


# ---- the block `make run` writes for the CLI while it runs ---------------------------------------

def test_the_block_carries_what_the_cli_needs_and_goes_when_the_stack_stops(env_file):
    own = "# mine\nSECRET_KEY=kept-as-it-was-0123456789abcdef\nLOG_FORMAT=json\n"
    env_file.write_text(own, encoding="utf-8")
    os.chmod(env_file, 0o600)
    stack_env = {**devstack.load_env(), "REDIS_URL": "redis://127.0.0.1:6390/0", "LOG_FORMAT": "text",
                 "WECOM_API_BASE_URL": "http://127.0.0.1:5001/cgi-bin/"}

    envfile.write_block(env_file, envfile.block_values(stack_env, envfile.own_values(env_file)))

    assert mode(env_file) == 0o600
    text = env_file.read_text(encoding="utf-8")
    assert text.startswith(own)  # every line of the person's own file kept, in place
    values = dotenv_values(env_file)  # what `flask` (python-dotenv) reads
    assert values["REDIS_URL"] == "redis://127.0.0.1:6390/0"
    assert values["WECOM_API_BASE_URL"] == "http://127.0.0.1:5001/cgi-bin/"
    assert values["LOG_FORMAT"] == "json"  # the file's own value is not overridden by the block
    assert "SECRET_KEY" not in text[len(own):]  # never a secret in the block
    # Not read back as the person's own setting (a REDIS_URL there would stop the embedded Redis).
    assert devstack.load_env().get("REDIS_URL") == os.environ.get("REDIS_URL")

    envfile.remove_block(env_file)
    assert env_file.read_text(encoding="utf-8") == own


def test_a_stale_block_from_a_killed_run_is_replaced_not_doubled(env_file):
    env_file.write_text("SECRET_KEY=x\n", encoding="utf-8")
    envfile.write_block(env_file, {"REDIS_URL": "redis://127.0.0.1:1/0"})
    envfile.write_block(env_file, {"REDIS_URL": "redis://127.0.0.1:2/0"})
    text = env_file.read_text(encoding="utf-8")
    assert text.count(envfile.BLOCK_START) == 1 and dotenv_values(env_file)["REDIS_URL"] == "redis://127.0.0.1:2/0"


@pytest.mark.parametrize(("env", "expected"), [
    ({}, devstack.ROOT / "instance" / "sandbox-world.json"),
    ({"DATABASE_URL": "sqlite:////tmp/x/scrm.db"}, "/tmp/x/scrm.sandbox-world.json"),
    ({"DATABASE_URL": "postgresql+psycopg://u@h/db"}, None),
    ({"DATABASE_URL": "postgresql+psycopg://u@h/db", "SANDBOX_STATE_FILE": "/tmp/w.json"}, "/tmp/w.json"),
    ({"SANDBOX_STATE_FILE": "-"}, None),
])
def test_the_simulators_world_is_kept_beside_the_services_data(env, expected):
    assert devstack.state_file(env) == (str(expected) if expected else None)


def test_a_missing_setting_stops_make_run_with_one_line_not_a_traceback(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# no SECRET_KEY here\n", encoding="utf-8")
    os.chmod(env_file, 0o600)
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "REDIS_URL")}
    result = subprocess.run([sys.executable, "-m", "sandbox.devstack"], cwd=devstack.ROOT, capture_output=True,
                            text=True, timeout=60, env={**env, "SCRM_ENV_FILE": str(env_file)})
    assert result.returncode == 2
    assert (result.stdout + result.stderr).splitlines() == [
        "[scrm] configuration error: Missing required environment variable SECRET_KEY (see .env.example): "
        "`make run` puts one in the .env it creates; or generate one: "
        "python -c 'import secrets; print(secrets.token_hex(32))'"]
    assert env_file.read_text(encoding="utf-8") == "# no SECRET_KEY here\n"  # nothing started, nothing written
