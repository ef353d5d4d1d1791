"""Manager reports benchmark (PostgreSQL): the nightly aggregation and the follow-up report.

    python bench/reports.py --database-url postgresql://postgres@127.0.0.1:5432/DB
                            [--staff 500] [--relations 1000000] [--requests 30] [--keep]

Builds a throwaway schema inside the given database (`flask db upgrade`), seeds it with set-based
SQL (generate_series): --staff members in 10 departments, --relations follow relations added over
400 days (3 % deleted by the customer, 1 % by the member, 1 % handed over), a year of events:
one follow-up per relation (a third asking for a next one, half of those met by a later one),
an SOP task on a third of the relations and a recall on 5 % (half confirmed), and a first reply
to a quarter of the new customers in the archived messages. Then measures, with the load average:

* the rebuild of the whole year (`flask scrm reports rebuild`, 365 days, stocks counted once);
* the nightly run (the last three days from the sources, then today from yesterday's rows);
* today's refresh (the day's events on top of yesterday's rows);
* the follow-up report through the Open API (GET /api/v1/reports/follow-up, a read token, the
  Flask test client: the view, the queries and the JSON) for 30 and 365 days, --requests each,
  whole corp and one department: p50 / p95 against the 500 ms target, and the nightly run
  against the 60 s target.

The schema is dropped afterwards unless --keep. Redis: REDIS_URL when set, else an embedded one.
"""
from __future__ import annotations

import argparse
import itertools
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

from bench import report_seeds  # noqa: E402
from sandbox.embedded_redis import EmbeddedRedis  # noqa: E402

CORP_ID = "wwbenchreports001"
NOW = datetime(2026, 12, 1, 21, 30)  # 2026-12-02 05:30 in Shanghai, after SCRM_REPORTS_AT
TODAY = (NOW + timedelta(hours=8)).date()
TARGET_REPORT_MS, TARGET_NIGHTLY_S = 500, 60


def seed_sql(staff: int, n: int) -> list[tuple[str, str]]:
    now, corp = f"TIMESTAMP '{NOW:%Y-%m-%d %H:%M:%S}'", f"'{CORP_ID}'"
    day = "INTERVAL '1 day'"
    return [
        ("department", f"""INSERT INTO department (corp_id, dept_id, name, parent_id, created_at, updated_at)
            SELECT {corp}, d, '部门' || d, CASE WHEN d > 1 THEN 1 END, {now}, {now} FROM generate_series(1, 11) d"""),
        ("staff", f"""INSERT INTO staff (corp_id, userid, name, status, main_department, department_ids,
                session_version, created_at, updated_at)
            SELECT {corp}, 'u' || s, '成员' || s, 1, 2 + s % 10, json_build_array(2 + s % 10), 0, {now}, {now}
            FROM generate_series(0, {staff - 1}) s"""),
        ("follow_relation", f"""INSERT INTO follow_relation (corp_id, userid, external_userid, added_at, status,
                status_changed_at, created_at, updated_at)
            SELECT {corp}, 'u' || (i % {staff}), 'wm' || i,
                   {now} - (i % 400) * {day} - (i % 1440) * INTERVAL '1 minute',
                   CASE WHEN i % 100 < 3 THEN 'deleted_by_customer' WHEN i % 100 = 3 THEN 'deleted_by_staff'
                        WHEN i % 100 = 4 THEN 'transferred' ELSE 'active' END,
                   CASE WHEN i % 100 < 5 THEN {now} - (i % 400) * {day} / 2 END, {now}, {now}
            FROM generate_series(1, {n}) i"""),
        ("follow_up", f"""INSERT INTO follow_up (corp_id, userid, external_userid, kind, content, next_at,
                reminder_status, created_at, updated_at)
            SELECT {corp}, 'u' || (i % {staff}), 'wm' || i, 'call', 'bench',
                   CASE WHEN i % 3 = 0 THEN {now} - (i % 365) * {day} + 3 * {day} END,
                   CASE WHEN i % 3 = 0 THEN 'sent' ELSE 'none' END,
                   {now} - (i % 365) * {day}, {now} - (i % 365) * {day}
            FROM generate_series(1, {n}) i"""),
        ("follow_up (met)", f"""INSERT INTO follow_up (corp_id, userid, external_userid, kind, content,
                reminder_status, created_at, updated_at)
            SELECT {corp}, 'u' || (i % {staff}), 'wm' || i, 'call', 'bench', 'none',
                   {now} - (i % 365) * {day} + 2 * {day}, {now}
            FROM generate_series(6, {n}, 6) i"""),
        ("sop", f"""INSERT INTO sop (corp_id, name, status, conditions, created_at, updated_at)
            VALUES ({corp}, 'bench', 'active', '{{}}', {now}, {now})"""),
        ("sop_step", f"""INSERT INTO sop_step (corp_id, sop_id, position, anchor, delay_minutes, text, attachments,
                delivery, deleted, yearly, created_at, updated_at)
            SELECT {corp}, id, 1, 'added', 60, 'hi', '[]', 'reminder', false, false, {now}, {now} FROM sop"""),
        ("sop_enrollment", f"""INSERT INTO sop_enrollment (corp_id, sop_id, userid, external_userid, added_at,
                status, created_at)
            SELECT {corp}, (SELECT id FROM sop), 'u' || (i % {staff}), 'wm' || i, {now}, 'active', {now}
            FROM generate_series(1, {n}, 3) i"""),
        ("sop_task", f"""INSERT INTO sop_task (corp_id, sop_id, step_id, enrollment_id, userid, external_userid,
                delivery, due_at, status, attempts, sent_from_sidebar_at, created_at)
            SELECT {corp}, e.sop_id, (SELECT id FROM sop_step), e.id, e.userid, e.external_userid, 'reminder',
                   {now} - (e.id % 365) * {day}, 'sent',
                   1, CASE WHEN e.id % 2 = 0 THEN {now} - (e.id % 365) * {day} + INTERVAL '2 hours' END, {now}
            FROM sop_enrollment e"""),
        ("recall_playbook", f"""INSERT INTO recall_playbook (corp_id, name, trigger, segment, action, attachments,
                priority, status, created_at, updated_at)
            VALUES ({corp}, 'bench', 'dormant', '{{}}', 'reminder', '[]', 100, 'active', {now}, {now})"""),
        ("recall", f"""INSERT INTO recall (corp_id, playbook_id, relation_id, userid, external_userid, trigger,
                action, entered_at, due_at, status, attempts, sent_from_sidebar_at, created_at)
            SELECT {corp}, (SELECT id FROM recall_playbook), i, 'u' || (i % {staff}), 'wm' || i, 'dormant',
                   'reminder', {now} - (i % 365) * {day}, {now} - (i % 365) * {day}, 'sent', 1,
                   CASE WHEN i % 2 = 0 THEN {now} - (i % 365) * {day} + INTERVAL '1 hour' END, {now}
            FROM generate_series(1, {n}, 20) i"""),
        ("archived_message", f"""INSERT INTO archived_message (corp_id, seq, msgid, action, from_id, peer_id,
                msgtype, msgtime)
            SELECT {corp}, r.id, 'm' || r.id, 'send', r.userid, r.external_userid, 'text',
                   r.added_at + INTERVAL '20 minutes'
            FROM follow_relation r WHERE r.id % 4 = 0"""),
    ]


def percentile_ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="PostgreSQL database")
    p.add_argument("--staff", type=int, default=500)
    p.add_argument("--relations", type=int, default=1_000_000)
    p.add_argument("--requests", type=int, default=30)
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    url = make_url(args.database_url).set(drivername="postgresql")
    schema = f"scrm_bench_reports_{os.getpid()}"
    conninfo = url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    db_url = make_url(conninfo).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    admin = url.render_as_string(hide_password=False)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    tmp = tempfile.TemporaryDirectory(prefix="scrm-bench-")
    embedded = None if os.environ.get("REDIS_URL") else EmbeddedRedis().start()
    env = dict(os.environ, SECRET_KEY=secrets.token_hex(32), DATABASE_URL=db_url,
               REDIS_URL=embedded.url if embedded else os.environ["REDIS_URL"], WECOM_CORP_ID=CORP_ID,
               WECOM_AGENT_ID="1000002", WECOM_SECRET="bench", WECOM_TOKEN="bench",
               WECOM_AES_KEY="6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", SCRM_SPOOL_DIR=f"{tmp.name}/spool",
               LOG_LEVEL="WARNING", SCRM_NIGHTLY_SYNC_AT="off")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    result: dict = {"staff": args.staff, "relations": args.relations, "load_before": os.getloadavg()}
    try:
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=REPO, env=env,
                       check=True, timeout=300, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.perf_counter()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            extra = report_seeds.load()
            seeds = seed_sql(args.staff, args.relations) + [
                step for module in extra for step in module.seed_sql(args.staff, args.relations)]
            for label, sql in seeds:
                t = time.perf_counter()
                conn.execute(sql)
                log(f"  {label}: {time.perf_counter() - t:.1f} s")
            conn.execute("VACUUM ANALYZE")
            result["rows"] = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
                              for table in ("follow_relation", "follow_up", "sop_task", "recall", "archived_message",
                                            *(t for module in extra for t in module.TABLES))}
        result["seed_seconds"] = round(time.perf_counter() - t0, 1)
        os.environ.update(env)
        measure(result, args, log)
    finally:
        if not args.keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
        else:
            log(f"  kept schema {schema}")
        if embedded:
            embedded.stop()
    result["load_after"] = os.getloadavg()
    print(json.dumps(result, indent=1, default=str))
    return 0


def measure(result: dict, args, log) -> None:
    from scrm import clock
    from scrm.app import create_app
    from scrm.extensions import db
    from scrm.services.reports import nightly
    from scrm.services.tokens import create_token

    app = create_app()
    clock.freeze(NOW)
    with app.app_context():
        t = time.perf_counter()
        nightly.rebuild(CORP_ID, TODAY - timedelta(days=364), TODAY, now=NOW)
        result["rebuild_365_days_seconds"] = round(time.perf_counter() - t, 1)
        log(f"  rebuild of 365 days: {result['rebuild_365_days_seconds']} s (load {os.getloadavg()[0]:.2f})")
        db.session.execute(db.text("ANALYZE"))  # every aggregate the rebuild wrote (autovacuum would, later)
        db.session.commit()
        t = time.perf_counter()
        assert nightly.run_nightly(NOW) == 1
        result["nightly_seconds"] = round(time.perf_counter() - t, 1)
        log(f"  nightly run: {result['nightly_seconds']} s (load {os.getloadavg()[0]:.2f})")
        t = time.perf_counter()
        nightly.refresh_corp(CORP_ID, TODAY)
        db.session.commit()
        result["today_refresh_seconds"] = round(time.perf_counter() - t, 2)
        token = create_token("bench", CORP_ID, scope="read")
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        reports = {}
        endpoints = {"follow_up": "/api/v1/reports/follow-up",
                     **{module.__name__.rsplit(".", 1)[1]: module.ENDPOINT for module in report_seeds.load()}}
        scopes = (("corp", {}), ("department", {"department_id": 3}))
        for (name, endpoint), days, (label, extra) in itertools.product(endpoints.items(), (30, 365), scopes):
            params = {"from": (TODAY - timedelta(days=days - 1)).isoformat(), "to": TODAY.isoformat(), **extra}
            samples = []
            for _ in range(args.requests):
                t = time.perf_counter()
                reply = client.get(endpoint, query_string=params, headers=headers)
                samples.append(time.perf_counter() - t)
                assert reply.status_code == 200, reply.get_data(as_text=True)[:300]
                db.session.remove()
            key = f"{name}_{days}_days_{label}"
            reports[key] = {"p50_ms": percentile_ms(samples, 0.5), "p95_ms": percentile_ms(samples, 0.95),
                            "bytes": len(reply.get_data()), "load": os.getloadavg()[0]}
            log(f"  report {key}: {reports[key]}")
        result["reports"] = reports
        worst = max(r["p95_ms"] for r in reports.values())
        result["targets"] = {"report_p95_under_500_ms": worst < TARGET_REPORT_MS,
                             "nightly_under_60_s": result["nightly_seconds"] < TARGET_NIGHTLY_S}


if __name__ == "__main__":
    sys.exit(main())
