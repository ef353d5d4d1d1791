"""The sidebar's customer and group views, and the changes a salesperson makes there.

Reads take ids and return plain dicts (the JSON of sidebar/CONTRACT.md, times still datetimes);
writes own their transaction: WeCom first where WeCom holds the fact (tags, remark), then the
local rows, a timeline entry and an audit row, committed together.

The package: common.py (access outcomes, the customer check), views.py (the customer view and
its parts), timeline.py (the timeline, with what each edit changed), edits.py (tags, stage,
fields, remark), follow_ups.py (follow-ups and their reminders), groups.py (the group view),
risk.py and recall.py (where the churn scoring and the recall playbooks plug in; nothing yet),
corp_options.py (the corp-wide parts: tag library, stages, field definitions, cached per corp
and version), reads.py (the customer view's reads in one statement). Imports go one way:
common <- follow_ups <- views <- edits, corp_options <- views, common <- groups,
timeline <- views, common/follow_ups/timeline <- reads <- views.
The names callers use are re-exported here.
"""
from scrm.services.profile import corp_options
from scrm.services.profile.common import (
    Forbidden,
    NotSynced,
    check_customer,
    check_reader,
    my_relation,
    staff_names,
)
from scrm.services.profile.corp_options import stages
from scrm.services.profile.edits import set_fields, set_remark, set_stage, set_tags
from scrm.services.profile.follow_ups import add_follow_up, follow_up_view, follow_ups, remind_due_follow_ups
from scrm.services.profile.groups import group_view
from scrm.services.profile.risk import relation_risk
from scrm.services.profile.timeline import timeline_page
from scrm.services.profile.views import (
    custom_fields,
    customer_view,
    fetch_now,
    fields_view,
    relation_view,
    stage_view,
    tags_view,
)

__all__ = ["Forbidden", "NotSynced", "add_follow_up", "check_customer", "check_reader", "corp_options", "custom_fields",
           "customer_view", "fetch_now", "fields_view", "follow_up_view", "follow_ups", "group_view", "my_relation",
           "relation_risk", "relation_view", "remind_due_follow_ups", "set_fields", "set_remark", "set_stage",
           "set_tags", "stage_view", "stages", "staff_names", "tags_view", "timeline_page"]
