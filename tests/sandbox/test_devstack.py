"""`make run` (sandbox.devstack): the `.env` it writes holds SECRET_KEY, so only its owner reads it."""
from __future__ import annotations

import os
import stat

import pytest
from dotenv import dotenv_values

from sandbox import devstack


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
