"""Churn scoring benchmark (PostgreSQL): the nightly set-based scoring of N relations with an
interaction history.

    python bench/churn.py --database-url postgresql://postgres@127.0.0.1:5432/DB
                          [--relations 100000,1000000] [--history-days 180] [--keep]

For each size, in a child process of its own (so each peak RSS is that size's): builds a
throwaway schema inside the given database (`flask db upgrade`), seeds it with set-based SQL
(generate_series: staff, follow relations with 3 % deleted by the customer, 1 % by the member,
1 % transferred; about 6 activity days per relation over --history-days; a corp-tag segment with
its own thresholds on 10 % of relations; 10 % of customers in a group of their member's; and
for the nights measured, archived 1:1 messages and follow-ups on 5 % / 1 % of relations), then
runs the nightly scoring (`score_corp`: the last two days' signals, the fold into last
interactions, the scores and levels, the level changes on the timeline) three times:

* night 1: the first scoring (as `flask scrm churn rebuild`): relation_risk filled, the whole
  history folded into the last interactions;
* night 2: the next day, new messages on 5 % of relations (a typical night);
* night 31: thirty days later, the night before having run (a wave of relations crossing a
  threshold: the seeded history stops, only 5 % hear anything each night).

Prints per night the wall time, relations scored, rows rewritten and level changes, and the
process's peak RSS (VmHWM) after all nights; then, when several sizes were run, a summary
table. Target: a night under 20 s at 1,000,000 relations, memory independent of the row count.
The schema is dropped afterwards unless --keep.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[0] = str(REPO)  # not bench/: its callbacks.py would shadow the callbacks package

import psycopg  # noqa: E402
from sqlalchemy import make_url  # noqa: E402

from sandbox.embedded_redis import EmbeddedRedis  # noqa: E402

CORP_ID = "wwbenchchurn00001"
NOW = datetime(2026, 12, 1, 21, 0)  # 2026-12-02 05:00 in Shanghai, after SCRM_CHURN_SCORING_AT


def peak_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024


def seed_sql(n: int, history_days: int) -> list[tuple[str, str]]:
    """(label, statement) filling the schema for n relations, as of NOW."""
    staff = max(1, n // 500)
    now = f"TIMESTAMP '{NOW:%Y-%m-%d %H:%M:%S}'"
    today = f"DATE '{(NOW + timedelta(hours=8)).date()}'"
    corp = f"'{CORP_ID}'"
    return [
        ("staff", f"""INSERT INTO staff (corp_id, userid, name, status, session_version, created_at, updated_at)
            SELECT {corp}, 'u' || s, 'staff ' || s, 1, 0, {now}, {now} FROM generate_series(0, {staff - 1}) s"""),
        ("follow_relation", f"""INSERT INTO follow_relation (corp_id, userid, external_userid, added_at, state,
                status, status_changed_at, created_at, updated_at)
            SELECT {corp}, 'u' || (i % {staff}), 'wm' || i, {now} - (i % 400 + 1) * INTERVAL '1 day',
                   CASE WHEN i % 4 = 0 THEN 'ch_' || (i % 20) END,
                   CASE WHEN i % 100 < 3 THEN 'deleted_by_customer' WHEN i % 100 = 3 THEN 'deleted_by_staff'
                        WHEN i % 100 = 4 THEN 'transferred' ELSE 'active' END,
                   CASE WHEN i % 100 < 5 THEN {now} - (i % 60) * INTERVAL '1 day' END,
                   {now} - (i % 400 + 1) * INTERVAL '1 day', {now} - (i % 400 + 1) * INTERVAL '1 day'
            FROM generate_series(1, {n}) i"""),
        # follow_relation.id = i (a fresh table, rows inserted in order).
        # About 6 active days per relation (0..12) in the history, distinct days, a third with a reply.
        ("relation_activity_day", f"""INSERT INTO relation_activity_day (corp_id, day, relation_id, userid,
                external_userid, inbound, outbound, follow_ups, sop_sends, last_inbound_at, last_at)
            SELECT {corp}, d.day, i, 'u' || (i % {staff}), 'wm' || i, d.inbound, 1, 0, 0,
                   CASE WHEN d.inbound > 0 THEN d.day + TIME '12:00' - INTERVAL '8 hours' END,
                   d.day + TIME '12:30' - INTERVAL '8 hours'
            FROM generate_series(1, {n}) i
            CROSS JOIN LATERAL (
                SELECT {today} - 2 - CAST((j * 14 + i % 14) % {history_days} AS integer) AS day,
                       CASE WHEN (i + j) % 3 = 0 THEN 1 ELSE 0 END AS inbound
                FROM generate_series(0, (i::bigint * 7919) % 13 - 1) j) d
"""),
        ("tag", f"""INSERT INTO tag (corp_id, tag_id, group_id, name, deleted, created_at, updated_at)
            VALUES ({corp}, 'etVIP', 'etG', 'VIP', false, {now}, {now})"""),
        ("relation_tag", f"""INSERT INTO relation_tag (corp_id, userid, external_userid, tag_key, tag_id, type,
                created_at)
            SELECT {corp}, 'u' || (i % {staff}), 'wm' || i, 'etVIP', 'etVIP', 1, {now}
            FROM generate_series(1, {n}, 10) i"""),
        ("churn_threshold", f"""INSERT INTO churn_threshold (corp_id, kind, value, name, priority, cooling_days,
                dormant_days, lost_days, created_at, updated_at)
            VALUES ({corp}, 'tag', 'etVIP', 'VIP', 10, 7, 14, 60, {now}, {now})"""),
        ("group_chat", f"""INSERT INTO group_chat (corp_id, chat_id, owner, status, created_at, updated_at)
            SELECT {corp}, 'wr' || s, 'u' || s, 'active', {now}, {now} FROM generate_series(0, {staff - 1}) s"""),
        ("group_member", f"""INSERT INTO group_member (corp_id, chat_id, member_id, type, join_time, created_at,
                updated_at)
            SELECT {corp}, 'wr' || (i % {staff}), 'wm' || i, 2, {now} - INTERVAL '30 days', {now}, {now}
            FROM generate_series(3, {n}, 10) i"""),
    ]


def night_sql(n: int, night: datetime, seq0: int) -> list[tuple[str, str]]:
    """The day before ``night``: 1:1 messages on 5 % of relations (both ways), follow-ups on 1 %."""
    staff = max(1, n // 500)
    at = f"TIMESTAMP '{night - timedelta(hours=10):%Y-%m-%d %H:%M:%S}'"
    corp = f"'{CORP_ID}'"
    return [
        ("archived_message", f"""INSERT INTO archived_message (corp_id, seq, msgid, action, from_id, peer_id,
                msgtype, msgtime)
            SELECT {corp}, {seq0} + 2 * i + k, 'm{seq0}_' || i || '_' || k, 'send',
                   CASE WHEN k = 0 THEN 'wm' || i ELSE 'u' || (i % {staff}) END,
                   CASE WHEN k = 0 THEN 'u' || (i % {staff}) ELSE 'wm' || i END, 'text',
                   {at} + k * INTERVAL '5 minutes'
            FROM generate_series(1, {n}, 20) i CROSS JOIN generate_series(0, 1) k"""),
        ("follow_up", f"""INSERT INTO follow_up (corp_id, userid, external_userid, kind, content, reminder_status,
                created_at, updated_at)
            SELECT {corp}, 'u' || (i % {staff}), 'wm' || i, 'call', 'bench', 'none', {at}, {at}
            FROM generate_series(7, {n}, 100) i"""),
    ]


def _watch_statements(engine, log, n: int) -> list:
    """Statements of the scoring and their seconds (the slowest first, per night)."""
    from sqlalchemy import event

    timings: list = []

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_t"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):
        seconds = time.perf_counter() - conn.info.pop("bench_t", time.perf_counter())
        label = " ".join(statement.split()[:3])
        timings.append((seconds, label))
        if seconds > 0.5:
            log(f"  [{n:,}]   {seconds:.1f} s {label}")

    return timings


def child(args) -> int:
    """One size: seed, score three nights, print JSON."""
    url = make_url(args.database_url).set(drivername="postgresql")
    schema = f"scrm_bench_churn_{os.getpid()}"
    conninfo = url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    db_url = make_url(conninfo).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    admin = url.render_as_string(hide_password=False)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    n = args.relations_one
    tmp = tempfile.TemporaryDirectory(prefix="scrm-bench-")
    embedded = None if os.environ.get("REDIS_URL") else EmbeddedRedis().start()
    env = dict(os.environ, SECRET_KEY=secrets.token_hex(32), DATABASE_URL=db_url,
               REDIS_URL=embedded.url if embedded else os.environ["REDIS_URL"], WECOM_CORP_ID=CORP_ID,
               WECOM_AGENT_ID="1000002", WECOM_SECRET="bench", WECOM_TOKEN="bench",
               WECOM_AES_KEY="6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", SCRM_SPOOL_DIR=f"{tmp.name}/spool",
               LOG_LEVEL="WARNING", SCRM_NIGHTLY_SYNC_AT="off")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    result: dict = {"relations": n}
    try:
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=REPO, env=env,
                       check=True, timeout=300, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.perf_counter()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            for label, sql in seed_sql(n, args.history_days) + night_sql(n, NOW, 0):
                t = time.perf_counter()
                conn.execute(sql)
                log(f"  [{n:,}] {label}: {time.perf_counter() - t:.1f} s")
            conn.execute("VACUUM ANALYZE")
            result["activity_rows"] = conn.execute("SELECT count(*) FROM relation_activity_day").fetchone()[0]
        result["seed_seconds"] = round(time.perf_counter() - t0, 1)
        result["rss_before_mb"] = round(peak_rss_mb(), 1)
        os.environ.update(env)
        from scrm.app import create_app
        from scrm.extensions import db
        from scrm.services.churn import score_corp

        app = create_app()
        nights = {}
        with app.app_context():
            slow = _watch_statements(db.engine, log, n)
            for number, night in ((1, NOW), (2, NOW + timedelta(days=1)), (31, NOW + timedelta(days=30))):
                day = (night + timedelta(hours=8)).date()
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    if number > 1:
                        for _, sql in night_sql(n, night, number * 10 * n):
                            conn.execute(sql)
                        # The night before ran (as the sweep records it): this night takes the
                        # ordinary path (the last two days' signals, folded into the rows).
                        conn.execute("INSERT INTO churn_run (corp_id, run_day, status, attempts, relations, "
                                     "changes, staff_rows, tagged, started_at) VALUES (%s, %s, 'done', 1, %s, "
                                     "0, 0, 0, now())", (CORP_ID, day - timedelta(days=1), n))
                    conn.execute("ANALYZE")
                t = time.perf_counter()
                # Night 1 is the first scoring (as `flask scrm churn rebuild`): every activity day
                # of the history folded into the last interactions.
                figures = score_corp(CORP_ID, night, since=day - timedelta(days=1) if number == 1 else None)
                seconds = time.perf_counter() - t
                db.session.remove()
                nights[number] = {"seconds": round(seconds, 2), **figures,
                                  "statements": [[round(t, 2), text] for t, text in slow]}
                slow.clear()
                log(f"  [{n:,}] night {number}: {seconds:.1f} s {figures}")
            with psycopg.connect(conninfo) as conn:
                result["levels"] = dict(conn.execute(
                    "SELECT level, count(*) FROM relation_risk GROUP BY level ORDER BY level").fetchall())
        result["nights"] = nights
        result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    finally:
        if not args.keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
        else:
            log(f"  kept schema {schema}")
        if embedded:
            embedded.stop()
    print(json.dumps(result))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                   help="PostgreSQL database to hold the throwaway schemas (default: DATABASE_URL)")
    p.add_argument("--relations", default="100000,1000000", help="comma-separated sizes")
    p.add_argument("--history-days", type=int, default=180)
    p.add_argument("--keep", action="store_true", help="keep the generated schemas")
    p.add_argument("--relations-one", type=int, help=argparse.SUPPRESS)  # the child's size
    args = p.parse_args()
    if not args.database_url or make_url(args.database_url).get_backend_name() != "postgresql":
        p.error("--database-url (PostgreSQL) is required")
    if args.relations_one:
        return child(args)
    results = []
    for size in (int(s) for s in args.relations.split(",")):
        print(f"{size:,} relations …", file=sys.stderr, flush=True)
        out = subprocess.run([sys.executable, __file__, "--database-url", args.database_url,
                              "--history-days", str(args.history_days), "--relations-one", str(size),
                              *(["--keep"] if args.keep else [])],
                             check=True, stdout=subprocess.PIPE, text=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'relations':>10} {'activity rows':>14} {'night 1':>9} {'night 2':>9} {'night 31':>9} "
          f"{'changes 2 / 31':>15} {'peak RSS':>9}")
    for r in results:
        nights = r["nights"]
        print(f"{r['relations']:>10,} {r['activity_rows']:>14,} {nights['1']['seconds']:>8.1f}s "
              f"{nights['2']['seconds']:>8.1f}s {nights['31']['seconds']:>8.1f}s "
              f"{nights['2']['level_changes']:>7,} / {nights['31']['level_changes']:<7,}"
              f"{r['peak_rss_mb']:>8.0f}MB")
    for r in results:
        print(json.dumps(r))
    worst = max(night["seconds"] for r in results for night in r["nights"].values())
    return 0 if worst < 20 else 1


if __name__ == "__main__":
    sys.exit(main())
