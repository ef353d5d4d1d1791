"""Console benchmark (issue #14, part 4): p50/p95/p99 of the customer list with three filters and
of a segment count, on PostgreSQL with 1,000,000 customers, 3,000,000 relations and 2,000 staff.

    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_console python bench/console.py
        [--customers 1000000] [--iterations 400] [--keep | --reuse SCHEMA] [--explain]

Builds a throwaway schema in the database (`flask db upgrade`), fills it set-based on the server
with bench/sidebar.py's generator (INSERT … SELECT generate_series; indexes dropped during the
load and rebuilt; ~2 corp tags per relation out of 200, 40 departments, 50 channel codes, funnel
stages for 40% of customers, 50,000 groups; a small timeline), adds a churn score per
relation (relation_risk: level and last interaction), then the customer list's search rows
(relation_search, the statement `flask scrm search rebuild` runs, into the index-less table).
Then, in-process (the service functions the Open API's views call, scrm/services/customer_search),
with varied filter values:

  list   listing.page(): one page of 20 rows + the page's tags + the count capped at 10,000,
         three filters per request, from five shapes (tags any/all, department, owner, risk
         level, stage, channel, added between, last interaction between)
  count  a segment's count (segments.count, the same capped count) with three filters
  page   a later page without the count (with_total=false: the console pages on this way)
  exact  the same with exact=true (every matching relation and the distinct customers)

Prints p50/p95/p99/max per measure, the 200 ms target and the ratio p95/target. Redis:
redis://127.0.0.1:6379/7 unless REDIS_URL is set. The schema is dropped unless --keep."""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[0] = str(REPO)  # not bench/: bench/console.py would shadow the console package

import psycopg  # noqa: E402
from sqlalchemy import make_url  # noqa: E402

import bench.sidebar as _sb  # noqa: E402  (the generator)

TARGET_P95_MS = 200
NOW = datetime.utcnow().replace(microsecond=0)  # noqa: DTZ003  (naive UTC, as stored)


def risk_sql(corp: str) -> str:
    """One relation_risk row per relation: 45% active, 25% cooling, 15% dormant, 15% lost;
    the last interaction within the last 400 days (none for 10%)."""
    return (
        "INSERT INTO relation_risk (corp_id, relation_id, userid, external_userid, last_interaction_at, "
        "silent_since, active_days_30, active_days_90, reply_days_90, in_group, recency, frequency, engagement, "
        "score, level, scored_at) "
        f"SELECT '{corp}', id, userid, external_userid, li, coalesce(li, added_at), 0, 0, 0, false, 0, 0, 0, "
        "(random() * 100)::int, CASE WHEN r < 0.45 THEN 'active' WHEN r < 0.70 THEN 'cooling' "
        "WHEN r < 0.85 THEN 'dormant' ELSE 'lost' END, timezone('utc', now()) "
        "FROM (SELECT id, userid, external_userid, added_at, random() r, "
        "             CASE WHEN random() < 0.9 THEN timezone('utc', now()) - random() * interval '400 days' END li "
        "      FROM follow_relation) f")


def build(conninfo: str, env: dict, sizes, log) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=REPO, env=env,
                   check=True, timeout=300, stdout=subprocess.DEVNULL)
    with _sb.loader(conninfo) as conn:  # its foreign key would hold follow_relation's key during the load
        search_keys = _sb.drop_indexes(conn, ["relation_search"])
    log(f"generating: {sizes}")
    timings = _sb.generate(conninfo, sizes, log)
    log("generation: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
    with _sb.loader(conninfo) as conn:
        t = time.perf_counter()
        dropped = _sb.drop_indexes(conn, ["relation_risk"])
        conn.execute(risk_sql(_sb.CORP_ID))
        for statement in dropped["relation_risk"]:
            conn.execute(statement)
        conn.execute("VACUUM (ANALYZE) relation_risk")
        log(f"relation_risk: {time.perf_counter() - t:.0f} s")
        t = time.perf_counter()
        conn.execute(search_rows_sql(_sb.CORP_ID))
        for statement in search_keys["relation_search"]:
            conn.execute(statement)
        conn.execute("VACUUM (ANALYZE) relation_search")
        log(f"relation_search: {time.perf_counter() - t:.0f} s")


def search_rows_sql(corp: str) -> str:
    """The customer list's search rows of every relation: the statement `flask scrm search rebuild`
    runs (scrm/services/customer_search/search_rows.py), as one INSERT … SELECT into the empty,
    index-less table."""
    from sqlalchemy.dialects import postgresql

    from scrm.services.customer_search.search_rows import COLUMNS, rows_query

    select_sql = rows_query(corp).compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    return f"INSERT INTO relation_search ({', '.join(COLUMNS)}) {select_sql}"


def choices(conninfo: str) -> dict:
    with psycopg.connect(conninfo) as conn:
        def col(sql: str) -> list:
            return [row[0] for row in conn.execute(sql)]
        return {"tags": col("SELECT tag_id FROM tag"), "staff": col("SELECT userid FROM staff"),
                "departments": col("SELECT dept_id FROM department WHERE dept_id > 1"),
                "stages": col("SELECT id FROM funnel_stage"), "channels": col("SELECT id FROM channel")}


def three_filters(rng: random.Random, c: dict) -> dict:
    """Three filters of one of five shapes, with random values."""
    days = rng.randint(30, 365)
    start = NOW - timedelta(days=rng.randint(days, 1095))
    added = {"added_from": start, "added_to": start + timedelta(days=days)}
    seen_from = NOW - timedelta(days=rng.randint(30, 400))
    shape = rng.randrange(5)
    if shape == 0:
        return {"tag_id": rng.sample(c["tags"], 2), "department_id": [rng.choice(c["departments"])],
                "risk_level": [rng.choice(["cooling", "dormant", "lost"])]}
    if shape == 1:
        return {"tag_id": rng.sample(c["tags"], 2), "tag_mode": "all", "stage_id": [rng.choice(c["stages"])], **added}
    if shape == 2:
        return {"owner": rng.sample(c["staff"], 3), "tag_id": [rng.choice(c["tags"])],
                "interaction_from": seen_from}
    if shape == 3:
        return {"channel_id": rng.sample(c["channels"], 2), "risk_level": ["dormant", "lost"], **added}
    return {"tag_id": rng.sample(c["tags"], 3), "stage_id": rng.sample(c["stages"], 2),
            "risk_level": [rng.choice(["active", "cooling"])]}


def measure(app, c: dict, iterations: int, exact_iterations: int, log) -> dict[str, list[float]]:
    from scrm.extensions import db
    from scrm.models import CustomerSegment
    from scrm.services.customer_search import listing, segments

    rng = random.Random(14)
    out: dict[str, list[float]] = {"list": [], "page": [], "count": [], "exact": []}
    totals: dict[str, list[int]] = {"list": [], "count": [], "exact": []}
    with app.app_context():
        for i in range(iterations // 2 + 5):
            filters = {"tag_mode": "any", **three_filters(rng, c)}
            t = time.perf_counter()
            listing.page(_sb.CORP_ID, filters, page=rng.choice([2, 3, 5]), page_size=20, with_total=False)
            if i >= 5:
                out["page"].append(time.perf_counter() - t)
            db.session.rollback()
        for i in range(iterations + 20):
            filters = {"tag_mode": "any", **three_filters(rng, c)}
            t = time.perf_counter()
            page = listing.page(_sb.CORP_ID, filters, page=rng.choice([1, 1, 1, 2, 5]), page_size=20)
            elapsed = time.perf_counter() - t
            db.session.rollback()
            if i >= 20:
                out["list"].append(elapsed)
                totals["list"].append(page["total"])
        for kind, n in (("count", iterations), ("exact", exact_iterations)):
            for i in range(n + 5):
                filters = {"tag_mode": "any", **three_filters(rng, c)}
                segment = CustomerSegment(id=1, corp_id=_sb.CORP_ID, name="bench",
                                          filters=segments.stored_filters(filters))
                t = time.perf_counter()
                result = segments.count(segment, exact=kind == "exact")
                elapsed = time.perf_counter() - t
                db.session.rollback()
                if i >= 5:
                    out[kind].append(elapsed)
                    totals[kind].append(result["total"])
    for kind, values in totals.items():
        if values:
            capped = sum(1 for v in values if v >= listing.COUNT_CAP)
            log(f"{kind}: totals median {sorted(values)[len(values) // 2]:,}, max {max(values):,}, "
                f"{capped} of {len(values)} at the cap")
    return out


def explain(app, c: dict, log) -> None:
    from sqlalchemy import select, text

    from scrm.extensions import db
    from scrm.services.customer_search.filters import S, relation_conditions

    rng = random.Random(99)
    with app.app_context():
        for _ in range(5):
            filters = {"tag_mode": "any", **three_filters(rng, c)}
            for label, query in (
                    ("page", select(S.relation_id).where(*relation_conditions(_sb.CORP_ID, filters)).order_by(
                        S.added_at.desc().nulls_last(), S.relation_id.desc()).limit(20)),
                    ("count", select(S.relation_id).where(*relation_conditions(_sb.CORP_ID, filters))
                     .limit(10_001))):
                sql = str(query.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
                plan = db.session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql)).scalars().all()
                log(f"{label} {sorted(filters)}:\n  " + "\n  ".join(plan))
            db.session.rollback()


def calibrate(conninfo: str) -> float:
    """A fixed CPU-bound statement, to tell a slow machine from a slow query."""
    runs = []
    with psycopg.connect(conninfo) as conn:
        for _ in range(5):
            t = time.perf_counter()
            conn.execute("SELECT count(*) FROM generate_series(1, 3000000)").fetchone()
            runs.append(1000 * (time.perf_counter() - t))
    return sorted(runs)[2]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL"))
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--iterations", type=int, default=400, help="list requests and segment counts measured")
    p.add_argument("--exact-iterations", type=int, default=100, help="exact segment counts measured")
    p.add_argument("--explain", action="store_true")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--keep", action="store_true")
    group.add_argument("--reuse", metavar="SCHEMA")
    args = p.parse_args()
    if not args.database_url:
        p.error("--database-url or TEST_DATABASE_URL (PostgreSQL) is required")
    url = make_url(args.database_url).set(drivername="postgresql")
    if url.get_backend_name() != "postgresql":
        p.error("this benchmark wants PostgreSQL")
    schema = args.reuse or f"scrm_bench_console_{os.getpid()}"
    schema_url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    conninfo = schema_url.render_as_string(hide_password=False)
    db_url = schema_url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    n = args.customers
    scale = n / 1_000_000
    sizes = _sb.Sizes(customers=n, staff=max(10, round(2000 * scale)), relations=3 * n,
                      timeline=max(1000, n // 10), groups=max(10, round(50_000 * scale)), members=n,
                      follow_ups=n // 10)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    env = dict(os.environ, SECRET_KEY="bench-" + "0" * 40, DATABASE_URL=db_url,
               REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7"),
               WECOM_CORP_ID=_sb.CORP_ID, WECOM_AGENT_ID=str(_sb.AGENT_ID), WECOM_SECRET="bench",
               WECOM_TOKEN=_sb.TOKEN, WECOM_AES_KEY=_sb.AES_KEY, LOG_LEVEL="WARNING", SCRM_NIGHTLY_SYNC_AT="off",
               SCRM_SPOOL_DIR="/tmp/scrm-bench-console-spool",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    admin_info = url.render_as_string(hide_password=False)
    created = False
    try:
        started = time.perf_counter()
        if not args.reuse:
            with psycopg.connect(admin_info, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {schema}")
            created = True
            build(conninfo, env, sizes, log)
        build_seconds = time.perf_counter() - started
        rows = {}
        with psycopg.connect(conninfo) as conn:
            for table in ("staff", "customer", "follow_relation", "relation_tag", "relation_risk", "customer_stage",
                          "relation_search"):
                rows[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        size, index_size = _sb.database_size(conninfo)
        os.environ.update(env)
        from scrm.app import create_app

        app = create_app()
        c = choices(conninfo)
        if args.explain:
            explain(app, c, log)
        results = measure(app, c, args.iterations, args.exact_iterations, log)
        print(f"database:   PostgreSQL, schema {schema}: {size / 2**30:.2f} GB ({index_size / 2**30:.2f} GB indexes)")
        print("rows:       " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
        if not args.reuse:
            print(f"generation: {build_seconds:.0f} s")
        names = {"list": "customer list (3 filters, page of 20 + capped count)",
                 "page": "next page, without the count (with_total=false)",
                 "count": "segment count (3 filters, capped at 10,000)",
                 "exact": "segment count, exact (relations + distinct customers)"}
        for kind, values in results.items():
            lat = sorted(values)
            p95 = _sb.percentile_ms(lat, 0.95)
            print(f"{names[kind]}: {len(lat)} runs")
            print(f"    p50 {_sb.percentile_ms(lat, 0.5):.1f} ms   p95 {p95:.1f} ms   p99 "
                  f"{_sb.percentile_ms(lat, 0.99):.1f} ms   max {_sb.percentile_ms(lat, 1):.1f} ms   "
                  f"target p95 < {TARGET_P95_MS} ms: {'met' if p95 < TARGET_P95_MS else 'MISSED'} "
                  f"(p95/target {p95 / TARGET_P95_MS:.2f})")
        print(f"machine:    {os.cpu_count()} cores, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
              f"calibration (SELECT count(*) FROM generate_series(1, 3000000), median of 5): "
              f"{calibrate(conninfo):.0f} ms")
        return 0
    finally:
        if created and not args.keep:
            with psycopg.connect(admin_info, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    sys.exit(main())
