"""A slow WeCom on a local port (for worker processes, which `responses` cannot reach) and
helpers to run real worker processes and kill them."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[2]


class SlowWeCom:
    """gettoken hangs while ``hold_gettoken`` is set (a process asking then holds the token
    lock); externalcontact/get answers after ``delay`` seconds with the customer followed by
    the event's staff member. ``requests`` lists the paths asked, in order."""

    def __init__(self, delay: float = 0.3, userid: str = "zhangsan") -> None:
        self.delay, self.userid = delay, userid
        self.hold_gettoken = threading.Event()
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                url = urlsplit(self.path)
                outer.requests.append(url.path)
                if url.path.endswith("/gettoken"):
                    deadline = time.monotonic() + 60
                    while outer.hold_gettoken.is_set() and time.monotonic() < deadline:
                        time.sleep(0.05)
                    body = {"errcode": 0, "errmsg": "ok", "access_token": "TOKEN", "expires_in": 7200}
                elif url.path.endswith("/externalcontact/get"):
                    time.sleep(outer.delay)
                    external_userid = parse_qs(url.query)["external_userid"][0]
                    body = {"errcode": 0, "errmsg": "ok",
                            "external_contact": {"external_userid": external_userid, "name": "客户", "type": 1},
                            "follow_user": [{"userid": outer.userid, "createtime": 1700000000, "tags": []}]}
                else:
                    body = {"errcode": 0, "errmsg": "ok"}
                data = json.dumps(body).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the asking process was killed meanwhile
                    pass

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/"

    def __enter__(self) -> SlowWeCom:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.hold_gettoken.clear()
        self.server.shutdown()
        self.server.server_close()

    def asked(self, path: str) -> int:
        return sum(1 for p in list(self.requests) if p.endswith(path))


def wait_for(condition, timeout: float, interval: float = 0.1, on_wait=None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if on_wait is not None:
            on_wait()
        time.sleep(interval)
    return condition()


class Process:
    """A child process in a session of its own, so SIGKILL takes its children (RQ's forked
    scheduler) with it, as a container kill would. Output goes to a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in kill()
        self.popen = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    def kill(self) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.popen.wait(10)
        self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def worker(env: dict[str, str], log_path: Path, *queues: str) -> Process:
    return Process([sys.executable, "-m", "flask", "--app", "wsgi", "scrm", "worker", *queues], env, log_path)
