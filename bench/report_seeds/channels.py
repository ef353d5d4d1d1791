"""The channel report's part of bench/reports.py: 40 channel codes, the follow relations' `state`
(80 % of them: 50 states, 10 of which no code holds — they count as no channel), a welcome
message per attributed add (90 % delivered), a funnel stage for a third of the customers, and a
cost per code and month for the last 13 months."""
from __future__ import annotations

from bench.reports import CORP_ID, NOW

ENDPOINT = "/api/v1/reports/channels"
TABLES = ("channel", "welcome_message", "customer_stage", "channel_cost")
CODES = 40


def seed_sql(staff: int, relations: int) -> list[tuple[str, str]]:
    now, corp = f"TIMESTAMP '{NOW:%Y-%m-%d %H:%M:%S}'", f"'{CORP_ID}'"
    return [
        ("channel", f"""INSERT INTO channel (corp_id, name, type, scene, skip_verify, state, userids, tag_ids,
                status, created_at, updated_at)
            SELECT {corp}, '渠道' || c, 1, 2, true, 'ch' || c, json_build_array('u' || (c % {staff})), '[]',
                   CASE WHEN c % 10 = 9 THEN 'deleted' ELSE 'active' END, {now}, {now}
            FROM generate_series(0, {CODES - 1}) c"""),
        ("follow_relation.state", """UPDATE follow_relation SET state = 'ch' || (id / 400 % 50)
            WHERE id / 400 % 5 <> 0"""),  # a day's adds (id % 400) spread over every state
        ("welcome_message", f"""INSERT INTO welcome_message (corp_id, event_id, userid, external_userid, status,
                attempts, received_at)
            SELECT {corp}, r.id, r.userid, r.external_userid,
                   CASE WHEN r.id % 10 = 1 THEN 'too_late' ELSE 'sent' END, 1, r.added_at + INTERVAL '3 seconds'
            FROM follow_relation r WHERE r.state IS NOT NULL"""),
        ("funnel_stage", f"""INSERT INTO funnel_stage (corp_id, name, "order", deleted, created_at, updated_at)
            SELECT {corp}, '阶段' || s, s, false, {now}, {now} FROM generate_series(1, 4) s
            WHERE NOT EXISTS (SELECT 1 FROM funnel_stage WHERE corp_id = {corp})"""),  # the funnel's seed may have them
        ("customer_stage", f"""INSERT INTO customer_stage (corp_id, external_userid, stage_id, created_at,
                updated_at)
            SELECT {corp}, 'wm' || i, (SELECT min(id) FROM funnel_stage) + i % 4, {now}, {now}
            FROM generate_series(3, {relations}, 3) i
            ON CONFLICT DO NOTHING"""),  # customers the funnel's seed gave a stage keep it
        ("channel_cost", f"""INSERT INTO channel_cost (corp_id, channel_id, month, amount_fen, created_at,
                updated_at)
            SELECT {corp}, c.id, CAST(date_trunc('month', {now}) - m * INTERVAL '1 month' AS date),
                   100000 + c.id * 1000, {now}, {now}
            FROM channel c CROSS JOIN generate_series(0, 12) m"""),
    ]
