"""Synchronisation benchmark: a full import from the WeCom simulator, then a second run that
must change nothing.

    python bench/sync.py [--database-url URL] [--staff 500 --customers 100000 --groups 5000]
                         [--latency-ms 50-150] [--concurrency 16] [--timeout 900]

Starts the simulator (`python -m sandbox`, seeded, with WeCom's latency and rate limit) on a
free 127.0.0.1 port, builds a throwaway schema (a fresh SQLite file, or a new schema inside the
given PostgreSQL database, dropped afterwards), runs a full sync in this process (the stages'
WeCom calls on threads, every database write on this thread: see README "Synchronisation") and
prints wall time per stage, the API calls made by path (and the busiest minute of each, against
WeCom's 10,000/min), the rows synced checked against the simulator's own counts, the Open API's
view, and this process's RSS as the import proceeds and at its peak. Then it syncs again and
prints what changed: it must be nothing (exit 1 otherwise, or if counts differ).
Redis: REDIS_URL when set (a scratch database: it is flushed), else an embedded redis-server.
Stops by itself: the sync is cancelled after --timeout seconds.
BENCH_SYNC_PROFILE=FILE: cProfile of the writing thread during the first sync, saved to FILE.
"""
from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[0] = str(REPO)  # not bench/: its callbacks.py would shadow the callbacks package

from sqlalchemy import func, select  # noqa: E402

from bench.callbacks import peak_rss_mb, server_pids, throwaway_database  # noqa: E402
from sandbox.embedded_redis import EmbeddedRedis, free_port  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) / 1024


class CallCounter(logging.Handler):
    """Counts WeCom calls from WeComClient's "wecom <path> errcode=<n> <ms>ms" log lines."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.calls: dict[str, list[float]] = collections.defaultdict(list)
        self.errors: collections.Counter = collections.Counter()
        self.latency_ms: list[float] = []

    @property
    def total(self) -> int:
        return sum(len(times) for times in self.calls.values())

    def emit(self, record: logging.LogRecord) -> None:  # called holding the handler's own lock
        if not record.msg.startswith("wecom %s errcode=") or not record.args:
            return
        path, errcode = record.args[0], record.args[1]
        self.calls[path].append(record.created)
        self.latency_ms.append(float(record.args[2]))
        if errcode not in (0, None):
            self.errors[(path, errcode)] += 1

    def busiest_minute(self, path: str) -> int:
        times, best, start = self.calls[path], 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= 60:
                start += 1
            best = max(best, end - start + 1)
        return best

    def reset(self) -> None:
        with self.lock:  # logging.Handler's RLock, the one emit() runs under
            self.calls.clear()
            self.errors.clear()
            self.latency_ms.clear()


def start_simulator(args, port: int, env: dict) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "sandbox", "--port", str(port), "--staff", str(args.staff),
           "--customers", str(args.customers), "--groups", str(args.groups), "--latency-ms", args.latency_ms,
           "--threads", "64"]
    sim = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180  # seeding 100,000 customers takes a few seconds
    while time.monotonic() < deadline:
        if sim.poll() is not None:
            sys.exit("the simulator exited during start-up")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/sandbox/api/", timeout=2) as resp:
                if resp.status == 200:
                    return sim
        except OSError:
            time.sleep(0.5)
    sim.terminate()
    sys.exit("the simulator did not answer within 180 s")


def world(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/sandbox/api/world/{path}", timeout=60) as resp:
        return json.load(resp)


def simulator_counts(port: int) -> dict[str, int]:
    staff = world(port, "staff")["staff"]
    counts = {"staff": sum(1 for s in staff if s["active"]),
              "customers": world(port, "customers?page_size=1")["total"],
              "relations": sum(s["customers"] for s in staff if s["active"]),
              "tags": sum(len(g["tags"]) for g in world(port, "tags")["tag_groups"]),
              "groups": 0, "members": 0}
    page = 1
    while True:
        groups = world(port, f"groups?page={page}&page_size=200")
        counts["groups"] += len(groups["groups"])
        counts["members"] += sum(g["members"] for g in groups["groups"])
        if page * 200 >= groups["total"]:
            return counts
        page += 1


def database_counts(corp_id: str) -> dict[str, int]:
    from scrm.extensions import db
    from scrm.models import Customer, FollowRelation, GroupChat, GroupMember, RelationTag, Staff, Tag, TimelineEntry

    def count(model, *where) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(model.corp_id == corp_id, *where))

    return {"staff": count(Staff), "customers": count(Customer),
            "relations": count(FollowRelation, FollowRelation.status == "active"),
            "tags": count(Tag, Tag.deleted.is_(False)), "groups": count(GroupChat, GroupChat.status == "active"),
            "members": count(GroupMember, GroupMember.quit_time.is_(None)),
            "relation_tags": count(RelationTag), "timeline_entries": count(TimelineEntry)}


def changed_since(corp_id: str, since: datetime) -> dict[str, int]:
    """Rows written (inserted or updated) at or after `since`, per table."""
    from scrm.extensions import db
    from scrm.models import (
        Customer,
        Department,
        FollowRelation,
        GroupChat,
        GroupMember,
        RelationTag,
        Staff,
        Tag,
        TagGroup,
        TimelineEntry,
    )

    out = {}
    for model in (Staff, Department, TagGroup, Tag, Customer, FollowRelation, GroupChat, GroupMember):
        out[model.__tablename__] = db.session.scalar(select(func.count()).select_from(model).where(
            model.corp_id == corp_id, model.updated_at >= since))
    out["relation_tag (new)"] = db.session.scalar(select(func.count()).select_from(RelationTag).where(
        RelationTag.corp_id == corp_id, RelationTag.created_at >= since))
    out["timeline_entry (new)"] = db.session.scalar(select(func.count()).select_from(TimelineEntry).where(
        TimelineEntry.corp_id == corp_id, TimelineEntry.recorded_at >= since))
    return out


class Sampler:
    """on_progress: a progress line every 10 s; RSS against relations done in the customers stage."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.last_line = 0.0
        self.rss: list[tuple[int, float]] = []  # (relations done, RSS MB)

    def __call__(self, state) -> None:
        stage = state.stage
        progress = state.progress.get(stage, {})
        if stage == "customers":
            self.rss.append((progress.get("done", 0), rss_mb()))
        now = time.monotonic()
        if now - self.last_line >= 10:
            self.last_line = now
            total = f" / {progress['total']:,}" if progress.get("total") else ""
            print(f"  {now - self.started:6.0f} s  {stage:<9} {progress.get('done', 0):>8,} done{total}"
                  f"   RSS {rss_mb():4.0f} MB", flush=True)

    def rss_at(self, fraction: float) -> float:
        total = self.rss[-1][0] if self.rss else 0
        return next((rss for done, rss in self.rss if done >= fraction * total), float("nan"))


def run_sync(app, corp_id: str, timeout: float, sampler: Sampler | None):
    from scrm.extensions import db
    from scrm.models import SyncRun
    from scrm.services import sync

    run = sync.start(corp_id, full=True, requested_by="bench", enqueue_job=False)

    def watchdog() -> None:
        if not done.wait(timeout):
            with app.app_context():
                print(f"timeout after {timeout:.0f} s: cancelling run {run.id}", flush=True)
                sync.cancel(run.id)

    done = threading.Event()
    threading.Thread(target=watchdog, daemon=True).start()
    started, cpu, writer = time.monotonic(), time.process_time(), time.thread_time()
    profile_to = os.environ.get("BENCH_SYNC_PROFILE") if sampler is not None else None
    if profile_to:  # cProfile of the writing thread (this one) during the first sync
        import cProfile

        profiler = cProfile.Profile()
        status = profiler.runcall(sync.run, run.id, on_progress=sampler)
        profiler.dump_stats(profile_to)
    else:
        status = sync.run(run.id, on_progress=sampler)
    done.set()
    wall, cpu = time.monotonic() - started, (time.process_time() - cpu, time.thread_time() - writer)
    return status, wall, cpu, db.session.get(SyncRun, run.id, populate_existing=True)


def stage_seconds(run) -> dict[str, float]:
    return {stage: (datetime.fromisoformat(p["finished_at"])
                    - datetime.fromisoformat(p["started_at"])).total_seconds()
            for stage, p in run.progress.items() if p.get("finished_at")}


def mean_latency(spec: str) -> float:
    """The simulator's mean latency in seconds: "50-150" → 0.1 (uniform), "80" → 0.08."""
    low, _, high = spec.partition("-")
    return (float(low) + float(high or low)) / 2 / 1000


def latency_bound(counter: CallCounter, args) -> float:
    """The issue's bound: API calls × mean latency ÷ concurrency (the calls, perfectly overlapped)."""
    return counter.total * mean_latency(args.latency_ms) / args.concurrency


def rate_bound(counter: CallCounter) -> float:
    """What the rate budget alone imposes (8,000/min after a burst of 400, per API): the busiest
    API's calls cannot take less than this however many are in flight."""
    from scrm.wecom.ratelimit import default_windows

    minute = default_windows()[0]
    return max((max(0, len(times) - minute.burst) * minute.interval for times in counter.calls.values()),
               default=0.0)


def print_bound(label: str, wall: float, cpu: tuple[float, float], counter: CallCounter, args) -> float:
    """`cpu`: (this process, the writing thread) in CPU seconds."""
    bound = latency_bound(counter, args)
    measured = sum(counter.latency_ms) / len(counter.latency_ms) / 1000 if counter.latency_ms else float("nan")
    print(f"{label:<13} wall {wall:.1f} s; bound {bound:.1f} s = {counter.total:,} calls x "
          f"{mean_latency(args.latency_ms) * 1000:.0f} ms / {args.concurrency}; ratio {wall / bound:.2f} "
          f"(target <= 1.5); rate budget alone {rate_bound(counter):.1f} s; measured mean latency "
          f"{measured * 1000:.0f} ms; CPU {cpu[0]:.1f} s ({cpu[1]:.1f} s of it the writing thread, the rest the "
          f"HTTP threads); load {os.getloadavg()[0]:.2f}")
    return bound


def print_calls(counter: CallCounter) -> None:
    print(f"API calls:    {counter.total:,}")
    for path, times in sorted(counter.calls.items(), key=lambda item: -len(item[1])):
        print(f"  {path:<42} {len(times):>7,}   busiest minute {counter.busiest_minute(path):>6,}/min")
    for (path, errcode), n in counter.errors.items():
        print(f"  errors: {path} errcode={errcode}: {n}")


def open_api_check(app, corp_id: str, port: int) -> str:
    """What an integration sees: the customer count and one random customer against the simulator."""
    from scrm.services.tokens import create_token

    token = create_token("bench", corp_id)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/customers?page_size=1", headers=headers)
    total = json.loads(listed.headers["X-Pagination"])["total"]
    page = random.randint(1, world(port, "customers?page_size=1")["total"])
    some = world(port, f"customers?page={page}&page_size=1")["customers"][0]["external_userid"]
    theirs = world(port, f"customers/{some}")
    ours = client.get(f"/api/v1/customers/{some}", headers=headers).get_json()
    relations = sorted((r["userid"], r["remark"] or "", sorted(t["name"] for t in r["tags"]))
                       for r in ours["relations"])
    follows = sorted((f["userid"], f["remark"], sorted(t["name"] for t in f["tags"]))
                     for f in theirs["customer"]["follow"])
    same = (ours["name"] == theirs["customer"]["name"] and relations == follows
            and {g["chat_id"] for g in ours["groups"]} == {g["chat_id"] for g in theirs["groups"]})
    return (f"{total:,} customers listed; {some} (relations, remarks, tags, groups): "
            f"{'matches the simulator' if same else 'DIFFERS'}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database-url", help="PostgreSQL database to hold a throwaway schema "
                   "(default: a fresh SQLite file in a temp dir)")
    p.add_argument("--staff", type=int, default=500)
    p.add_argument("--customers", type=int, default=100_000)
    p.add_argument("--groups", type=int, default=5_000)
    p.add_argument("--latency-ms", default="50-150")
    p.add_argument("--concurrency", type=int, default=16, help="SCRM_SYNC_CONCURRENCY (groupchat/get threads)")
    p.add_argument("--timeout", type=float, default=900, help="cancel the sync after this many seconds")
    args = p.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="scrm-bench-sync-")
    url, drop_database = throwaway_database(args.database_url, tmp.name)
    embedded = None if os.environ.get("REDIS_URL") else EmbeddedRedis().start()
    redis_url = embedded.url if embedded else os.environ["REDIS_URL"]
    port = free_port()
    sim_env = {k: v for k, v in os.environ.items() if not k.startswith("WECOM_")}
    env = dict(sim_env, SECRET_KEY=secrets.token_hex(32), DATABASE_URL=url.render_as_string(hide_password=False),
               REDIS_URL=redis_url, SCRM_SANDBOX="1", WECOM_API_BASE_URL=f"http://127.0.0.1:{port}/cgi-bin/",
               SCRM_SYNC_CONCURRENCY=str(args.concurrency), SCRM_SPOOL_DIR=f"{tmp.name}/spool",
               SCRM_NIGHTLY_SYNC_AT="off", LOG_LEVEL="WARNING", SCRM_ENV_FILE="-")
    sim = None
    try:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=REPO, env=env,
                       check=True, timeout=120, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"simulator:    {args.staff} staff, {args.customers:,} customers, {args.groups:,} groups, "
              f"latency {args.latency_ms} ms, WeCom's rate limit (10,000/min per API)", flush=True)
        sim = start_simulator(args, port, sim_env)
        expected = simulator_counts(port)
        os.environ.update(env)
        from scrm.app import create_app
        from scrm.config import settings

        app = create_app()
        for handler in logging.getLogger().handlers:  # the call lines are DEBUG: count them, don't print them
            handler.setLevel(max(handler.level, logging.WARNING))
        logging.getLogger("scrm.wecom").setLevel(logging.DEBUG)
        counter = CallCounter()
        logging.getLogger("scrm.wecom").addHandler(counter)
        with app.app_context():
            corp_id = settings(app).wecom_corp_id
            print(f"database:     {url.get_backend_name()}; sync in this process, {args.concurrency} "
                  "calls in flight at most (customer chains, groupchat/get threads); load "
                  + " ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)
            sampler = Sampler()
            status, wall, cpu, run = run_sync(app, corp_id, args.timeout, sampler)
            got = database_counts(corp_id)
            print(f"\nfull sync:    {status} in {wall:.1f} s "
                  f"({', '.join(f'{s} {t:.1f} s' for s, t in stage_seconds(run).items())}), "
                  f"{run.error_count} errors")
            print_calls(counter)
            bound = print_bound("bound:", wall, cpu, counter, args)
            print("rows:         " + ", ".join(f"{k} {v:,}" for k, v in got.items()))
            mismatched = {k: (got[k], v) for k, v in expected.items() if got[k] != v}
            print("vs simulator: " + ("all equal" if not mismatched else f"DIFFERENT (ours, simulator): {mismatched}"))
            print(f"Open API:     {open_api_check(app, corp_id, port)}")
            print(f"RSS:          {sampler.rss_at(0.25):.0f} MB at 25 % of the relations, "
                  f"{sampler.rss_at(0.5):.0f} MB at 50 %, {sampler.rss_at(1.0):.0f} MB at 100 %; "
                  f"peak {peak_rss_mb([os.getpid()]):.0f} MB (this process), "
                  f"simulator {peak_rss_mb(server_pids(sim.pid)):.0f} MB")

            counter.reset()
            since = datetime.utcnow()
            entries = got["timeline_entries"]
            status2, wall2, cpu2, run2 = run_sync(app, corp_id, args.timeout, None)
            changes = changed_since(corp_id, since)
            print(f"\nsecond sync:  {status2} in {wall2:.1f} s "
                  f"({', '.join(f'{s} {t:.1f} s' for s, t in stage_seconds(run2).items())}), "
                  f"{counter.total:,} API calls, {run2.error_count} errors, "
                  f"{run2.progress.get('customers', {}).get('unchanged', 0):,} relations found unchanged")
            bound2 = print_bound("bound:", wall2, cpu2, counter, args)
            print(f"second/first: wall {wall2 / wall:.2f}, CPU {cpu2[0] / cpu[0]:.2f}, writing thread's CPU "
                  f"{cpu2[1] / cpu[1]:.2f}; beyond the calls' bound "
                  f"{max(0.0, wall2 - bound2):.1f} s vs {max(0.0, wall - bound):.1f} s (the calls themselves "
                  "remain: WeCom has no changed-since API for customers)")
            changed = {k: v for k, v in changes.items() if v}
            print("changed:      "
                  + ("nothing" if not changed else ", ".join(f"{k} {v:,}" for k, v in changed.items())))
            ok = (status == status2 == "succeeded" and not mismatched and not changed
                  and database_counts(corp_id)["timeline_entries"] == entries)
        return 0 if ok else 1
    finally:
        if sim is not None:
            sim.terminate()
            try:
                sim.wait(15)
            except subprocess.TimeoutExpired:
                sim.kill()
        drop_database()
        if embedded:
            embedded.cleanup()
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
