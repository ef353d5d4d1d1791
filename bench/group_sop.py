"""Group SOP benchmark: a day of the ``group-sop`` sweep over 5,000 groups, 200 plans, 500 owners.

    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_gsop \\
    REDIS_URL=redis://127.0.0.1:6379/13 python bench/group_sop.py
        [--database-url URL] [--groups 5000 --plans 200 --owners 500] [--joins 2000]
        [--tick-minutes 1] [--plan-minutes 10] [--threads 12] [--latency-ms 50-150] [--skip-checks] [--profile]

Builds a throwaway schema (`flask db upgrade`; a new schema inside the PostgreSQL database of
--database-url / TEST_DATABASE_URL, dropped afterwards; a fresh SQLite file without one) and
starts the WeCom simulator (`python -m sandbox`, WeCom-like latency, its groups' owners are the
senders add_msg_template checks). Seeds set-based (multi-row INSERTs, no ORM objects): the
simulator's staff and groups (a few created during the day), ~20 customer members per group
(--joins of them joining during the day), 30 group labels on ~1/3 of the groups, 20 group codes,
and --plans plans of a mixed kind (daily, weekly, monthly, once, group_created, member_joined),
targets (owners, labels, name, codes, explicit lists) and delivery (mostly mass_send).

Then, with SCRM_GROUP_SOP_HORIZON_DAYS=1 and the clock frozen at each instant:
  (a) planning: plan_all(start of the next local day) from empty: executions created, time;
  (b) the day: sweep(now) every --tick-minutes of simulated time (the scheduler runs it every
      minute; it plans every --plan-minutes, SCRM_GROUP_SOP_PLAN_MINUTES), timing each sweep and
      counting the jobs it enqueues (Redis, the real RQ queue);
  (c) the jobs of each tick run at once (run_batch / check_msg on --threads threads against the
      simulator) and their WeCom calls are counted per API and per simulated minute: the busiest
      minute against the per-corp budget (scrm/wecom/ratelimit.py, WeCom allows 10,000/min).
Prints executions, planning and sweep times (p50/p95/p99/max per sweep), jobs, calls, the SQL
that took the sweeps' time, the database round trips (statements, BEGIN, COMMIT) and Redis round
trips (a command or a pipeline) per sweep and by part, peak RSS, and the ratio to the 10 s target
of "create + enqueue a day of executions": planning from empty + the sweeps' planning (_plan)
+ their enqueueing (enqueue_due: the claim, the commit, RQ's enqueue). Round trips are the figure
to compare on a shared machine: wall times there mostly measure the wait for a CPU.
--profile adds cProfile's top functions for the sweeps. Exits 1 if the target is missed.
Redis: REDIS_URL when set (a scratch database: it is flushed), else an embedded redis-server.
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import io
import logging
import os
import pstats
import random
import secrets
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[0] = str(REPO)  # not bench/: its callbacks.py would shadow the callbacks package

from sqlalchemy import event, func, insert, select, text  # noqa: E402

from bench.callbacks import peak_rss_mb, percentile_ms, server_pids, throwaway_database  # noqa: E402
from bench.sync import CallCounter, start_simulator, world  # noqa: E402
from sandbox.embedded_redis import EmbeddedRedis, free_port  # noqa: E402

TARGET_SECONDS = 10.0
WECOM_LIMIT = 10_000  # per corp and API per minute (scrm/wecom/ratelimit.py)
KINDS = ["daily"] * 30 + ["weekly"] * 22 + ["monthly"] * 10 + ["once"] * 8 + ["group_created"] * 12 \
    + ["member_joined"] * 18
TARGETS = ["owners"] * 25 + ["label_ids"] * 35 + ["name_contains"] * 15 + ["group_code_ids"] * 10 \
    + ["chat_ids"] * 15
TIMES = ["09:00"] * 6 + ["10:00"] * 4 + ["20:00"] * 4 + ["08:30", "12:00", "14:30", "18:00", "21:00", "11:15"]
TEXTS = ["早上好！今日福利已上架，点击小程序领取专属优惠券。",
         "各位群友好，本周直播预告：周四晚8点，新品首发，记得预约哦～",
         "欢迎{nickname}加入本群！群公告里有新人礼包领取方式。", "【{group_name}】今日签到有礼，回复“签到”领取积分。",
         "温馨提示：会员日活动今晚24点截止，抓紧时间下单。", "{staff_name}为大家整理了本月热销清单，请查收。"]


class SqlTimer:
    """Time spent in each kind of SQL statement (its first words), and the database round trips
    (statements, BEGINs: psycopg sends one before a transaction's first statement, COMMITs and
    ROLLBACKs), while enabled."""

    def __init__(self, engine) -> None:
        self.enabled, self.seconds, self.counts = False, collections.Counter(), collections.Counter()
        self.trips = collections.Counter()  # statement / begin / commit / rollback
        event.listen(engine, "before_cursor_execute", self.before)
        event.listen(engine, "after_cursor_execute", self.after)
        for name in ("begin", "commit", "rollback"):
            event.listen(engine, name, self.counting(name))

    def counting(self, name: str):
        def count(conn) -> None:  # none in autocommit: psycopg sends no BEGIN / COMMIT then
            if self.enabled and not getattr(conn.connection.dbapi_connection, "autocommit", False):
                self.trips[name] += 1
        return count

    def round_trips(self) -> int:
        return sum(self.trips.values())

    def before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.enabled:
            key = " ".join(statement.split())[:90]
            if key.startswith("UPDATE") and cursor.rowcount == 0:
                key = "(no rows) " + key[:80]
            self.seconds[key] += time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())
            self.counts[key] += 1
            self.trips["statement"] += 1


def count_redis_round_trips(timer: SqlTimer) -> dict[str, int]:
    """Redis round trips while ``timer`` is enabled (a command, or a whole pipeline: one send)."""
    from redis.connection import AbstractConnection

    trips, send = {"n": 0}, AbstractConnection.send_packed_command

    def counting(self, *a, **kw):
        if timer.enabled:
            trips["n"] += 1
        return send(self, *a, **kw)
    AbstractConnection.send_packed_command = counting
    return trips


def bulk(model, rows: list[dict]) -> None:
    from scrm.extensions import db

    for start in range(0, len(rows), 5000):
        db.session.execute(insert(model), rows[start:start + 5000])


def seed(args, corp_id: str, sim_port: int, day_start: datetime, rng: random.Random) -> dict:
    """Staff, groups, members, labels, codes, plans and steps. → what the plans can target."""
    from scrm.extensions import db
    from scrm.models import (
        GroupChat,
        GroupCode,
        GroupCodeChat,
        GroupLabel,
        GroupLabelLink,
        GroupMember,
        GroupSop,
        GroupSopStep,
        Staff,
    )

    staff = world(sim_port, "staff")["staff"]
    bulk(Staff, [{"corp_id": corp_id, "userid": s["userid"], "name": s["name"], "status": 1 if s["active"] else 5}
                 for s in staff])
    groups, page = [], 1
    while True:
        chunk = world(sim_port, f"groups?page={page}&page_size=200")
        groups += chunk["groups"]
        if page * 200 >= chunk["total"]:
            break
        page += 1
    day = timedelta(days=1)
    created = {g["chat_id"] for g in rng.sample(groups, max(1, len(groups) // 100))}  # 1 % created today
    rows = [{"corp_id": corp_id, "chat_id": g["chat_id"], "name": g["name"], "owner": g["owner"],
             "status": "active", "create_time": day_start + rng.random() * day if g["chat_id"] in created
             else day_start - timedelta(days=rng.randint(1, 900))} for g in groups]
    arrivals = [(r["create_time"], GroupChat, r) for r in rows if r["chat_id"] in created]
    bulk(GroupChat, [r for r in rows if r["chat_id"] not in created])
    chat_ids = [g["chat_id"] for g in groups]
    members, n = [], 0
    for chat_id in chat_ids:
        for _ in range(rng.randint(10, 30)):
            n += 1
            members.append({"corp_id": corp_id, "chat_id": chat_id, "member_id": f"wmbench{n:07d}", "type": 2,
                            "name": f"客户{n}", "join_time": day_start - timedelta(days=rng.randint(1, 600))})
    for each in rng.sample(members, min(args.joins, len(members))):
        each["join_time"] = day_start + rng.random() * day
    born = {r["chat_id"]: r["create_time"] for r in rows}
    for each in members:  # those of the groups created today joined with the group or later
        if each["chat_id"] in created:
            each["join_time"] = max(each["join_time"], born[each["chat_id"]])
    arrivals += [(m["join_time"], GroupMember, m) for m in members if m["join_time"] >= day_start]
    bulk(GroupMember, [m for m in members if m["join_time"] < day_start])
    bulk(GroupLabel, [{"corp_id": corp_id, "name": f"标签{i}", "category": "运营"} for i in range(1, 31)])
    label_ids = list(db.session.scalars(select(GroupLabel.id)))
    links = {(rng.choice(label_ids), c) for c in rng.sample(chat_ids, len(chat_ids) // 3) for _ in range(2)}
    bulk(GroupLabelLink, [{"corp_id": corp_id, "label_id": lab, "chat_id": c} for lab, c in links])
    bulk(GroupCode, [{"corp_id": corp_id, "name": f"群活码{i}", "state": f"gc{i}", "config_id": f"cfg{i}"}
                     for i in range(1, 21)])
    code_ids = list(db.session.scalars(select(GroupCode.id)))
    code_chats = {(code, c) for code in code_ids for c in rng.sample(chat_ids, rng.randint(5, 20))}
    bulk(GroupCodeChat, [{"corp_id": corp_id, "group_code_id": code, "chat_id": c} for code, c in code_chats])
    owners = sorted({g["owner"] for g in groups})
    words = [g["name"][i:i + 2] for g in rng.sample(groups, 50) for i in range(0, max(1, len(g["name"]) - 1), 2)]
    plans, steps = [], []
    local_day = day_start + timedelta(hours=12)  # a time inside the local day, for its weekday/date
    from scrm.services import localtime
    local = localtime.to_local(local_day).date()
    for i in range(1, args.plans + 1):
        kind, by = rng.choice(KINDS), rng.choice(TARGETS)
        target = {"owners": rng.sample(owners, rng.randint(1, 8))} if by == "owners" else \
            {"label_ids": rng.sample(label_ids, rng.randint(1, 2))} if by == "label_ids" else \
            {"name_contains": rng.choice(words)} if by == "name_contains" else \
            {"group_code_ids": rng.sample(code_ids, rng.randint(1, 3))} if by == "group_code_ids" else \
            {"chat_ids": rng.sample(chat_ids, rng.randint(5, 100))}
        at = rng.choice(TIMES)
        sched = {"kind": kind, "at_time": at}
        if kind == "weekly":
            sched["weekdays"] = sorted(rng.sample(range(1, 8), rng.randint(1, 3)))
        elif kind == "monthly":
            sched["month_days"] = sorted(rng.sample(range(1, 32), rng.randint(1, 4)))
        elif kind == "once":
            sched = {"kind": kind, "at": f"{local + timedelta(days=rng.choice([0, 0, 1, 3]))}T{at}"}
        relative = kind in ("group_created", "member_joined")
        plans.append({"corp_id": corp_id, "name": f"群SOP{i}", "status": "active", "targets": target,
                      "schedule": sched, "delivery": "reminder" if rng.random() < 0.15 else "mass_send",
                      "starts_at": day_start - timedelta(days=30), "planned_at": None})
        for pos in range(rng.randint(2, 4) if relative else 1):
            delay = [5, 60, None, None][pos] if relative else None
            steps.append({"corp_id": corp_id, "plan_id": i, "position": pos, "name": f"第{pos + 1}步",
                          "delay_minutes": delay, "day_offset": pos if relative and delay is None else None,
                          "at_time": "10:00" if relative and delay is None else None,
                          "text": rng.choice(TEXTS), "attachments": [], "deleted": False})
    bulk(GroupSop, plans)
    first = db.session.scalar(select(func.min(GroupSop.id)))
    for step in steps:
        step["plan_id"] += first - 1
    bulk(GroupSopStep, steps)
    db.session.commit()
    return {"arrivals": sorted(arrivals, key=lambda a: a[0]),
            "groups": len(groups), "owners": len(owners), "members": len(members), "links": len(links),
            "code_chats": len(code_chats), "plans": collections.Counter(p["schedule"]["kind"] for p in plans),
            "steps": len(steps), "reminders": sum(p["delivery"] == "reminder" for p in plans)}


def run_jobs(app, jobs: list[tuple[str, tuple]], threads: int) -> collections.Counter:
    """Run RQ jobs' functions as a worker would (one app context per job)."""
    import importlib

    def one(job: tuple[str, tuple]) -> str:
        module, _, name = job[0].rpartition(".")
        with app.app_context():
            try:
                result = getattr(importlib.import_module(module), name)(*job[1])
                return [f"{name}:{r}" for r in result] if isinstance(result, list) else [f"{name}:{result}"]
            except Exception as exc:  # noqa: BLE001 - counted and printed
                return [f"{name}:error {type(exc).__name__}: {exc}"[:120]]

    with ThreadPoolExecutor(threads) as pool:
        return collections.Counter(outcome for outcomes in pool.map(one, jobs) for outcome in outcomes)


def skip_checks(msgids: list[str], now: datetime) -> None:
    """What check_msg does for a task the owner has not sent yet: the next check after
    min(max(10 min, time waited), 6 h) (scrm/services/group_sop/results.py)."""
    from sqlalchemy import update

    from scrm.extensions import db
    from scrm.models import GroupSopExecution as E  # noqa: N817

    sent = db.session.execute(select(E.msgid, func.min(E.sent_at)).where(E.msgid.in_(msgids))
                              .group_by(E.msgid)).all()
    by_next = collections.defaultdict(list)
    for msgid, sent_at in sent:
        by_next[now + min(max(timedelta(minutes=10), now - (sent_at or now)), timedelta(hours=6))].append(msgid)
    for at, ids in by_next.items():
        db.session.execute(update(E).where(E.msgid.in_(ids), E.status == "awaiting").values(next_check_at=at)
                           .execution_options(synchronize_session=False))
    db.session.commit()


def print_top_sql(timer: SqlTimer, total: float) -> None:
    print(f"SQL in the sweeps: {sum(timer.seconds.values()):.2f} s of {total:.2f} s, by statement:")
    for key, seconds in timer.seconds.most_common(8):
        print(f"  {seconds:7.2f} s {timer.counts[key]:>7,} x  {key}")


def explain_claim(now: datetime) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the sweep's claim at ``now``, in a transaction rolled back."""
    from scrm.extensions import db
    from scrm.services import localtime
    from scrm.services.group_sop import planning
    compiled = planning._DUE.compile(dialect=db.engine.dialect)
    params = {**compiled.params, "now": now, "stale": now - planning.REQUEUE_AFTER}
    with db.engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), params).all()
        conn.rollback()
    print(f"  claim at {localtime.to_local(now):%H:%M}:\n" + "\n".join(f"      {row[0]}" for row in plan), flush=True)


def main() -> int:  # noqa: PLR0915 - one linear script
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    p.add_argument("--groups", type=int, default=5000)
    p.add_argument("--plans", type=int, default=200)
    p.add_argument("--owners", type=int, default=500)
    p.add_argument("--joins", type=int, default=2000, help="customers joining groups during the day")
    p.add_argument("--tick-minutes", type=int, default=1)
    p.add_argument("--plan-minutes", type=int, default=10,
                   help="SCRM_GROUP_SOP_PLAN_MINUTES: the sweep plans every this many minutes (1: every sweep)")
    p.add_argument("--threads", type=int, default=12, help="worker threads running each tick's jobs")
    p.add_argument("--latency-ms", default="50-150")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--explain-claim", action="store_true",
                   help="print EXPLAIN (ANALYZE, BUFFERS) of the sweep's claim every 3 simulated hours (rolled back)")
    p.add_argument("--skip-checks", action="store_true",
                   help="count check_msg jobs (one get_groupmsg_task each) instead of running them: their tasks "
                        "get their next check as check_msg gives a task not sent yet")
    args = p.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="scrm-bench-gsop-")
    url, drop_database = throwaway_database(args.database_url, tmp.name)
    embedded = None if os.environ.get("REDIS_URL") else EmbeddedRedis().start()
    redis_url = embedded.url if embedded else os.environ["REDIS_URL"]
    port = free_port()
    sim_env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "TEST_"))}
    env = dict(sim_env, SECRET_KEY=secrets.token_hex(32), DATABASE_URL=url.render_as_string(hide_password=False),
               REDIS_URL=redis_url, SCRM_SANDBOX="1", WECOM_API_BASE_URL=f"http://127.0.0.1:{port}/cgi-bin/",
               SCRM_SPOOL_DIR=f"{tmp.name}/spool", SCRM_GROUP_SOP_HORIZON_DAYS="1", SCRM_NIGHTLY_SYNC_AT="off",
               SCRM_GROUP_SOP_PLAN_MINUTES=str(args.plan_minutes),
               LOG_LEVEL="WARNING", SCRM_ENV_FILE="-")
    sim = None
    try:
        import redis

        rds = redis.Redis.from_url(redis_url)
        rds.flushdb()
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=REPO, env=env,
                       check=True, timeout=120, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        args.staff, args.customers = args.owners, 1000
        sim = start_simulator(args, port, sim_env)
        os.environ.update(env)
        from scrm import clock
        from scrm.app import create_app
        from scrm.config import settings
        from scrm.extensions import db
        from scrm.models import GroupSopExecution
        from scrm.services import group_sop, localtime
        from scrm.services.group_sop import planning, tidying

        app = create_app()
        wecom_log = logging.getLogger("scrm.wecom")  # each call: "wecom <path> errcode=<n> <ms>ms" (DEBUG)
        wecom_log.setLevel(logging.DEBUG)
        wecom_log.propagate = False  # counted, not printed (41063 while a task is dispatched is expected)
        counter = CallCounter()
        counter.setLevel(logging.DEBUG)
        wecom_log.addHandler(counter)
        enqueued: list[tuple[str, tuple]] = []
        real_enqueue = planning.enqueue_many

        def recording_enqueue(func: str, calls: list, **kwargs) -> None:
            real_enqueue(func, calls, **kwargs)
            enqueued.extend((func, call_args) for _, call_args in calls)

        planning.enqueue_many = recording_enqueue
        with app.app_context():
            corp_id = settings(app).wecom_corp_id
            timer = SqlTimer(db.engine)
            day_start = localtime.at_local(localtime.to_local(clock.utcnow()).date() + timedelta(days=1), "00:00")
            t0 = time.perf_counter()
            seeded = seed(args, corp_id, port, day_start, random.Random(args.seed))
            arrivals = seeded["arrivals"]
            db.session.execute(text("ANALYZE") if url.get_backend_name() == "postgresql" else select(1))
            db.session.commit()
            print(f"database:     {url.get_backend_name()}, seeded in {time.perf_counter() - t0:.1f} s: "
                  f"{seeded['groups']:,} groups of {seeded['owners']} owners, {seeded['members']:,} members "
                  f"({args.joins:,} joining during the day), {seeded['links']:,} label links, "
                  f"{seeded['code_chats']} code groups; {len(arrivals):,} groups and members arrive during the day")
            print(f"plans:        {args.plans} ({', '.join(f'{k} {v}' for k, v in seeded['plans'].most_common())}), "
                  f"{seeded['steps']} steps, {seeded['reminders']} by reminder; simulated day "
                  f"{localtime.to_local(day_start).date()} (local), horizon 1 day, sweep every "
                  f"{args.tick_minutes} min, planning every {args.plan_minutes} min, WeCom latency "
                  f"{args.latency_ms} ms, {os.cpu_count()} cores")

            clock.freeze(day_start)
            timer.enabled = True
            t0 = time.perf_counter()
            created = group_sop.plan_all(day_start)
            planning_s = time.perf_counter() - t0
            timer.enabled = False
            plan_sql = sum(timer.seconds.values())
            timer.seconds.clear()
            timer.counts.clear()
            timer.trips.clear()
            total = db.session.scalar(select(func.count()).select_from(GroupSopExecution))
            print(f"\n(a) planning: plan_all from empty created {created:,} executions ({total:,} rows) "
                  f"in {planning_s:.2f} s ({plan_sql:.2f} s in SQL)")

            stage_s = collections.Counter()  # seconds per part of the sweep
            stage_db, stage_redis = collections.Counter(), collections.Counter()  # round trips per part
            stage_cpu = collections.Counter()  # this process's CPU seconds per part (steadier than wall on a busy host)
            redis_trips = count_redis_round_trips(timer)

            def timed(name: str, func):
                def wrapper(*a, **kw):
                    t, c, db0, r0 = time.perf_counter(), time.process_time(), timer.round_trips(), redis_trips["n"]
                    try:
                        return func(*a, **kw)
                    finally:
                        stage_s[name] += time.perf_counter() - t
                        stage_cpu[name] += time.process_time() - c
                        stage_db[name] += timer.round_trips() - db0
                        stage_redis[name] += redis_trips["n"] - r0
                return wrapper
            for name in ("_plan", "enqueue_due", "enqueue_checks"):  # sweep() calls them by name
                setattr(planning, name, timed(name, getattr(planning, name)))
            tidying.tidy = timed("_tidy", tidying.tidy)  # sweep() calls it through its module
            sweeps, jobs_per_tick, calls_per_tick, outcomes = [], [], [], collections.Counter()
            counted = collections.defaultdict(list)
            job_seconds, profiler = [], cProfile.Profile() if args.profile else None
            for k in range(0, 24 * 60, args.tick_minutes):
                now = day_start + timedelta(minutes=k)
                clock.freeze(now)
                while arrivals and arrivals[0][0] <= now:  # groups created, members joined: as sync would
                    batch = collections.defaultdict(list)
                    while arrivals and arrivals[0][0] <= now:
                        _, model, row = arrivals.pop(0)
                        batch[model].append(row)
                    for model, rows in sorted(batch.items(), key=lambda i: i[0].__name__ != "GroupChat"):
                        db.session.execute(insert(model), rows)
                    db.session.commit()
                if args.explain_claim and k % 180 == 0:
                    explain_claim(now)
                before = len(enqueued)
                timer.enabled = True
                if profiler:
                    profiler.enable()
                t0 = time.perf_counter()
                group_sop.sweep(now)
                sweeps.append(time.perf_counter() - t0)
                if profiler:
                    profiler.disable()
                timer.enabled = False
                jobs = [j for j in enqueued[before:] if not (args.skip_checks and j[0] == planning.CHECK_JOB)]
                if args.skip_checks and len(jobs) < len(enqueued) - before:
                    skipped = [j[1][0] for j in enqueued[before:] if j[0] == planning.CHECK_JOB]
                    skip_checks(skipped, now)
                    counted["externalcontact/get_groupmsg_task (check_msg jobs, not run)"].append(len(skipped))
                jobs_per_tick.append(len(enqueued) - before)
                db.session.remove()
                calls_before = {path: len(times) for path, times in counter.calls.items()}
                if jobs:
                    t0 = time.perf_counter()
                    outcomes += run_jobs(app, jobs, args.threads)
                    job_seconds.append(time.perf_counter() - t0)
                calls_per_tick.append({path: len(times) - calls_before.get(path, 0)
                                       for path, times in counter.calls.items()})
                if k % 240 == 0 or k == 24 * 60 - args.tick_minutes:
                    print(f"  {localtime.to_local(now):%H:%M}  {sum(jobs_per_tick):>7,} jobs so far, "
                          f"sweeps {sum(sweeps):6.2f} s, jobs {sum(job_seconds):6.1f} s", flush=True)
            clock.freeze(None)
            sweep_s = sum(sweeps)
            srt = sorted(sweeps)
            print(f"\n(b) the day: {len(sweeps)} sweeps took {sweep_s:.2f} s (per sweep p50 "
                  f"{percentile_ms(srt, .5):.0f} ms, p95 {percentile_ms(srt, .95):.0f} ms, "
                  f"p99 {percentile_ms(srt, .99):.0f} ms, max {percentile_ms(srt, 1):.0f} ms); "
                  f"{len(enqueued):,} jobs enqueued "
                  f"({sum(1 for f, _ in enqueued if f == planning.RUN_JOB):,} {planning.RUN_JOB.rsplit('.')[-1]} of "
                  f"{sum(len(a[0]) for f, a in enqueued if f == planning.RUN_JOB):,} runs, "
                  f"{sum(1 for f, _ in enqueued if f == planning.CHECK_JOB):,} check_msg), "
                  f"busiest tick {max(jobs_per_tick):,}")
            print_top_sql(timer, sweep_s)
            statuses = dict(db.session.execute(select(GroupSopExecution.status, func.count())
                                               .group_by(GroupSopExecution.status)).tuples().all())
            print(f"executions at the end of the day: {statuses}")

            print(f"\n(c) the jobs ran on {args.threads} threads in {sum(job_seconds):.1f} s (busiest tick "
                  f"{max(job_seconds, default=0):.1f} s); outcomes: "
                  + ", ".join(f"{k} {v:,}" for k, v in outcomes.most_common(8)))
            worst = 0.0
            for path in sorted(counter.calls, key=lambda x: -len(counter.calls[x])):
                busiest = max((tick.get(path, 0) for tick in calls_per_tick), default=0) / args.tick_minutes
                worst = max(worst, busiest / WECOM_LIMIT)
                print(f"  {path:<42} {len(counter.calls[path]):>7,} calls   busiest simulated minute "
                      f"{busiest:>7,.0f}/min = {busiest / WECOM_LIMIT:.1%} of {WECOM_LIMIT:,}/min")
            for path, per_tick in counted.items():
                busiest = max(per_tick) / args.tick_minutes
                worst = max(worst, busiest / WECOM_LIMIT)
                print(f"  {path:<42} {sum(per_tick):>7,} calls   busiest simulated minute "
                      f"{busiest:>7,.0f}/min = {busiest / WECOM_LIMIT:.1%} of {WECOM_LIMIT:,}/min")
            for (path, errcode), n in counter.errors.items():
                print(f"  errors: {path} errcode={errcode}: {n}")
            create_enqueue = planning_s + stage_s["_plan"] + stage_s["enqueue_due"]
            ratio = create_enqueue / TARGET_SECONDS
            print(f"\nRSS:          peak {peak_rss_mb([os.getpid()]):.0f} MB (this process), "
                  f"simulator {peak_rss_mb(server_pids(sim.pid)):.0f} MB")
            print(f"the sweeps' {sweep_s:.2f} s by part: planning (new events, new groups) "
                  f"{stage_s['_plan']:.2f} s, "
                  f"enqueueing due executions (and the sweep's commit) {stage_s['enqueue_due']:.2f} s, result checks "
                  f"{stage_s['enqueue_checks']:.2f} s, tidying {stage_s['_tidy']:.2f} s")
            n = len(sweeps)
            print(f"round trips per sweep (database: statements, BEGIN, COMMIT, ROLLBACK / Redis): "
                  f"planning {stage_db['_plan'] / n:.2f} / {stage_redis['_plan'] / n:.2f}, enqueueing "
                  f"{stage_db['enqueue_due'] / n:.2f} / {stage_redis['enqueue_due'] / n:.2f}, result checks "
                  f"{stage_db['enqueue_checks'] / n:.2f} / {stage_redis['enqueue_checks'] / n:.2f}, tidying "
                  f"{stage_db['_tidy'] / n:.2f} / {stage_redis['_tidy'] / n:.2f}; whole sweep "
                  f"{timer.round_trips() / n:.2f} / {redis_trips['n'] / n:.2f} "
                  f"({', '.join(f'{k} {v / n:.2f}' for k, v in sorted(timer.trips.items()))})")
            print(f"create + enqueue a day of executions: {create_enqueue:.2f} s = planning from empty "
                  f"{planning_s:.2f} s + planning in the sweeps {stage_s['_plan']:.2f} s + enqueueing "
                  f"{stage_s['enqueue_due']:.2f} s; ratio to the {TARGET_SECONDS:.0f} s target: {ratio:.2f} "
                  f"({'met' if ratio <= 1 else 'MISSED'}); busiest API minute {worst:.1%} of WeCom's limit")
            print(f"this process's CPU in create + enqueue (the client side: SQLAlchemy, psycopg, matching, RQ; "
                  f"not PostgreSQL's): planning in the sweeps {stage_cpu['_plan']:.2f} s "
                  f"({stage_cpu['_plan'] / n * 1000:.2f} ms a sweep), enqueueing {stage_cpu['enqueue_due']:.2f} s")
            if profiler:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
                print(out.getvalue())
        return 0 if ratio <= 1 and worst < 0.84 else 1
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
