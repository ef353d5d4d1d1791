"""The groups report's part of bench/reports.py: GROUPS_PER_OWNER groups per member, a year and a
day of group_daily_stat rows (issue #12's aggregate, written nightly by its own run, so seeded
here as rows) and of WeCom's per-owner figures, three group SOP plans and a weekly execution per
group and plan over the year with mixed outcomes (aggregated by the nightly run's
group_sop_day). All set-based (generate_series)."""
from __future__ import annotations

from datetime import datetime, timedelta

ENDPOINT = "/api/v1/reports/groups"
TABLES = ("group_chat", "group_daily_stat", "group_owner_daily_stat", "group_sop_execution")
GROUPS_PER_OWNER = 4
DAYS = 366
CORP_ID = "wwbenchreports001"  # bench/reports.py's
NOW = datetime(2026, 12, 1, 21, 30)
TODAY = (NOW + timedelta(hours=8)).date()


def seed_sql(staff: int, relations: int) -> list[tuple[str, str]]:  # noqa: ARG001 - the seed interface
    now, corp, today = f"TIMESTAMP '{NOW:%Y-%m-%d %H:%M:%S}'", f"'{CORP_ID}'", f"DATE '{TODAY}'"
    groups = staff * GROUPS_PER_OWNER
    return [
        ("group_chat", f"""INSERT INTO group_chat (corp_id, chat_id, name, owner, create_time, status,
                created_at, updated_at)
            SELECT {corp}, 'wr' || g, '群' || g, 'u' || (g % {staff}), {now} - INTERVAL '500 days', 'active',
                   {now}, {now}
            FROM generate_series(0, {groups - 1}) g"""),
        ("group_daily_stat", f"""INSERT INTO group_daily_stat (corp_id, day, chat_id, owner, members, customers,
                staff, joins, joins_invite, joins_link, joins_qrcode, joins_group_code, leaves, leaves_self,
                leaves_removed, computed_at)
            SELECT {corp}, {today} - d, 'wr' || g, 'u' || (g % {staff}), 80 + (g * 7 + d) % 40,
                   75 + (g * 7 + d) % 40, 5, (g + d) % 5, (g + d) % 2, (g + d) % 3 / 2, (g + d) % 5 / 3,
                   (g + d) % 7 / 6, (g + d) % 4, (g + d) % 4 / 2, (g + d) % 4 / 3, {now}
            FROM generate_series(0, {groups - 1}) g CROSS JOIN generate_series(0, {DAYS - 1}) d"""),
        ("group_owner_daily_stat", f"""INSERT INTO group_owner_daily_stat (corp_id, day, owner, new_chat_cnt,
                chat_total, chat_has_msg, new_member_cnt, member_total, member_has_msg, msg_total, pulled_at)
            SELECT {corp}, {today} - d, 'u' || s, (s + d) % 7 / 6, {GROUPS_PER_OWNER}, (s + d) % 4, (s + d) % 9,
                   400, (s * 3 + d) % 60, (s * 11 + d) % 300, {now}
            FROM generate_series(0, {staff - 1}) s CROSS JOIN generate_series(0, {DAYS - 1}) d"""),
        ("group_sop", f"""INSERT INTO group_sop (corp_id, name, status, targets, schedule, delivery, starts_at,
                revision, created_at, updated_at)
            SELECT {corp}, '群SOP' || p, 'active', '{{}}', '{{"kind": "weekly"}}',
                   CASE WHEN p = 1 THEN 'reminder' ELSE 'mass_send' END, {now} - INTERVAL '400 days', '', {now}, {now}
            FROM generate_series(1, 3) p"""),
        ("group_sop_step", f"""INSERT INTO group_sop_step (corp_id, plan_id, position, text, attachments, deleted,
                created_at, updated_at)
            SELECT {corp}, id, 1, 'hi', '[]', false, {now}, {now} FROM group_sop"""),
        ("group_sop_execution", f"""INSERT INTO group_sop_execution (corp_id, plan_id, step_id, chat_id, member_id,
                owner, delivery, due_at, status, attempts, result, created_at)
            SELECT {corp}, st.plan_id, st.id, 'wr' || g, '', 'u' || (g % {staff}), 'mass_send',
                   {now} - w * INTERVAL '7 days' - st.plan_id * INTERVAL '1 day',
                   CASE WHEN (g + w) % 10 < 6 THEN 'sent' WHEN (g + w) % 10 = 6 THEN 'awaiting'
                        WHEN (g + w) % 10 = 7 THEN 'failed' ELSE 'skipped' END, 1,
                   CASE WHEN (g + w) % 10 < 6 THEN 'sent' WHEN (g + w) % 10 = 7 THEN 'not_sent'
                        WHEN (g + w) % 10 = 8 THEN 'monthly_cap' WHEN (g + w) % 10 = 9 THEN 'stale' END, {now}
            FROM group_sop_step st CROSS JOIN generate_series(0, {groups - 1}) g
            CROSS JOIN generate_series(0, 52) w"""),
    ]
