"""The churn and recall report's part of bench/reports.py: channel codes on a third of the
relations (20 codes), a relation_risk row per relation not handed over (levels spread, half of
them moved from another level over the year, the ended ones lost), and the seeded recalls sent,
confirmed and settled (won / lost) across two playbooks. Set-based SQL in the bench's schema."""
from __future__ import annotations

ENDPOINT = "/api/v1/reports/churn"
TABLES = ("relation_risk",)
LEVELS = "ARRAY['active', 'active', 'active', 'active', 'active', 'cooling', 'cooling', 'dormant', 'dormant', 'lost']"


def seed_sql(staff: int, relations: int) -> list[tuple[str, str]]:
    # the bench's one corp and its "now" (every seeded relation was created then)
    corp, now = "(SELECT min(corp_id) FROM staff)", "(SELECT max(created_at) FROM follow_relation)"
    day = "INTERVAL '1 day'"
    return [
        ("follow_relation (channel codes)", """UPDATE follow_relation SET state = 'ch' || (id % 20)
            WHERE id % 3 = 0"""),
        ("relation_risk", f"""INSERT INTO relation_risk (corp_id, relation_id, userid, external_userid,
                active_days_30, active_days_90, reply_days_90, in_group, recency, frequency, engagement, score,
                reason, level, previous_level, level_changed_at, scored_at)
            SELECT corp_id, id, userid, external_userid, 0, 0, 0, false, 0, 0, 0, 50,
                   CASE WHEN status <> 'active' THEN status ELSE 'silent' END,
                   CASE WHEN status <> 'active' THEN 'lost' ELSE ({LEVELS})[1 + id % 10] END,
                   CASE WHEN id % 2 = 0 THEN ({LEVELS})[1 + (id + 3) % 10] END,
                   {now} - (id % 365) * {day} - (id % 1440) * INTERVAL '1 minute', {now}
            FROM follow_relation WHERE status <> 'transferred'"""),
        ("recall_playbook (second)", f"""INSERT INTO recall_playbook (corp_id, name, trigger, segment, action,
                attachments, priority, status, created_at, updated_at)
            VALUES ({corp}, 'bench lost', 'lost', '{{}}', 'mass_send', '[]', 90, 'active', {now}, {now})"""),
        ("recall (sent, settled)", f"""UPDATE recall SET sent_at = due_at, window_ends_at = due_at + 7 * {day},
                playbook_id = CASE WHEN id % 2 = 0 THEN playbook_id
                                   ELSE (SELECT max(id) FROM recall_playbook) END,
                outcome = CASE WHEN due_at + 7 * {day} > {now} THEN NULL WHEN id % 3 = 0 THEN 'won' ELSE 'lost' END,
                outcome_at = CASE WHEN due_at + 7 * {day} <= {now} THEN due_at + 3 * {day} END"""),
    ]
