"""CPU and Redis round trips of one WeCom call through WeComClient, as the welcome job makes it.

    python bench/wecom_calls.py [--calls 2000] [--rounds 3] [--redis-url URL]

A WeComClient with the corp's rate limiter (as `wecom_client()` builds it) calls send_welcome_msg
CALLS times against a minimal WeCom on 127.0.0.1 (a thread answering errcode 0 on a keep-alive
connection) and a real Redis (embedded unless --redis-url; its database is flushed). Printed per
round, after 50 warm-up calls: Redis round trips per call (each command or pipeline the client
writes) and the calling thread's CPU per call (`time.thread_time`, so the fake WeCom's thread is
not counted): requests, wechatpy, the token, the rate limiter and the call counters.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parents[1]
sys.path[0] = str(REPO)  # not bench/: its callbacks.py would shadow the callbacks package

from sandbox.embedded_redis import EmbeddedRedis  # noqa: E402
from scrm.wecom import RateLimiter, WeComClient  # noqa: E402
from scrm.wecom.ratelimit import default_windows  # noqa: E402

CORP_ID = "wwbench0000000001"


class FakeWeCom(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as WeCom and the simulator
    wbufsize = 64 * 1024  # the reply in one write (with Nagle off: no 40 ms delayed-ACK stalls)
    disable_nagle_algorithm = True

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        reply = {"errcode": 0, "errmsg": "ok"}
        if self.path.startswith("/cgi-bin/gettoken"):
            reply.update(access_token="BENCHTOKEN", expires_in=7200)
        body = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


def counting_redis(url: str) -> tuple[redis.Redis, list[int]]:
    sent = [0]
    pool = redis.ConnectionPool.from_url(url)

    class Counting(pool.connection_class):
        def send_packed_command(self, command, check_health=True):
            sent[0] += 1
            return super().send_packed_command(command, check_health)

    pool.connection_class = Counting
    return redis.Redis(connection_pool=pool), sent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--redis-url", help="a Redis whose database may be flushed (default: an embedded one)")
    args = p.parse_args()

    embedded = None if args.redis_url else EmbeddedRedis().start()
    url = args.redis_url or embedded.url
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeWeCom)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rds, sent = counting_redis(url)
        rds.flushdb()
        client = WeComClient(CORP_ID, "bench-secret", redis=rds, timeout=5,
                             api_base_url=f"http://127.0.0.1:{server.server_port}/cgi-bin/",
                             # a budget this loop never exhausts: every call books at once
                             rate_limiter=RateLimiter(rds, CORP_ID, default_windows(10**9, 10**10), max_wait=10))
        for _ in range(50):
            client.send_welcome_msg("CODE", text="hello")
        per_call = []
        for round_no in range(1, args.rounds + 1):
            sent[0] = 0
            cpu = time.thread_time()
            for _ in range(args.calls):
                client.send_welcome_msg("CODE", text="hello")
            cpu_us = (time.thread_time() - cpu) / args.calls * 1e6
            per_call.append(cpu_us)
            print(f"round {round_no}: {args.calls} calls, {sent[0] / args.calls:.2f} Redis round trips "
                  f"per call, {cpu_us:.0f} µs of CPU per call (calling thread)")
        print(f"median: {statistics.median(per_call):.0f} µs of CPU per call")
    finally:
        server.shutdown()
        if embedded is not None:
            embedded.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
