"""Group SOPs (群SOP): content delivered to customer groups on a schedule.

The package: schedule.py (when: pure functions), targets.py (which groups: one SQL condition),
planning.py (executions created ahead, the ``group-sop`` sweep; incremental.py: its batched
planning of the rows written since the last look), delivery.py (running due
executions), results.py (WeCom's results, the one-tap send, results and calendar),
authoring.py (the operators' edits), sidebar.py (the group view's calendar and one-tap send).
Imports go one way: schedule, targets <- incremental <- planning <-
delivery <- results; planning <- authoring. See docs/group-sops.md.
"""
from scrm.services.group_sop.authoring import create, get, set_status, update_plan
from scrm.services.group_sop.delivery import monthly_cap, run_batch, run_batches, sent_this_month
from scrm.services.group_sop.planning import live_steps, plan_all, sweep
from scrm.services.group_sop.results import (
    check_msg,
    describe_rows,
    executions_query,
    mark_sent_from_sidebar,
    plan_results,
)
from scrm.services.group_sop.schedule import describe, occurrences

__all__ = ["check_msg", "create", "describe", "describe_rows", "executions_query", "get", "live_steps",
           "mark_sent_from_sidebar", "monthly_cap", "occurrences", "plan_all", "plan_results", "run_batch",
           "run_batches", "sent_this_month", "set_status", "sweep", "update_plan"]
