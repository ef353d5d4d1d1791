"""The funnel report's part of bench/reports.py: five funnel stages; two thirds of the relations
get a channel code (8 codes); half of the customers move through 1–5 stages (a `stage_changed`
timeline entry per move, three days apart after the add, none after the bench's now) and keep
the last one as their customer_stage."""
from __future__ import annotations

ENDPOINT = "/api/v1/reports/funnel"
TABLES = ("timeline_entry", "customer_stage")
STAGES = ("初步接触", "需求确认", "方案报价", "商务谈判", "成交")


def seed_sql(staff: int, relations: int) -> list[tuple[str, str]]:
    from bench.reports import CORP_ID, NOW

    now, corp = f"TIMESTAMP '{NOW:%Y-%m-%d %H:%M:%S}'", f"'{CORP_ID}'"
    values = ", ".join(f"({corp}, '{name}', {n}, false, {now}, {now})" for n, name in enumerate(STAGES))
    return [
        ("funnel_stage", f"""INSERT INTO funnel_stage (corp_id, name, "order", deleted, created_at, updated_at)
            VALUES {values}"""),
        ("follow_relation.state", """UPDATE follow_relation SET state = 'ch' || (id % 8) WHERE id % 3 <> 0"""),
        ("timeline_entry (stage_changed)", f"""INSERT INTO timeline_entry (corp_id, external_userid, userid, kind,
                source, occurred_at, recorded_at, data)
            SELECT {corp}, r.external_userid, r.userid, 'stage_changed', 'sidebar',
                   r.added_at + k * INTERVAL '3 days' + INTERVAL '1 hour', {now},
                   json_build_object('from', CASE WHEN k > 1 THEN s.first_id + k - 2 END, 'to', s.first_id + k - 1)
            FROM follow_relation r
            CROSS JOIN (SELECT min(id) AS first_id FROM funnel_stage WHERE corp_id = {corp}) s
            JOIN generate_series(1, 5) k ON k <= 1 + r.id % 5
            WHERE r.corp_id = {corp} AND r.id % 2 = 0
              AND r.added_at + k * INTERVAL '3 days' + INTERVAL '1 hour' < {now}"""),
        ("customer_stage", f"""INSERT INTO customer_stage (corp_id, external_userid, stage_id, updated_by, created_at,
                updated_at)
            SELECT DISTINCT ON (t.external_userid) {corp}, t.external_userid, CAST(t.data ->> 'to' AS INTEGER),
                   t.userid, t.occurred_at, t.occurred_at
            FROM timeline_entry t WHERE t.corp_id = {corp} AND t.kind = 'stage_changed'
            ORDER BY t.external_userid, t.occurred_at DESC"""),
    ]
