"""Customer SOPs (客户SOP): follow-up sequences for new customers.

The package: authoring.py (the operators' edits), scheduling.py (due times, enrollment, the
sweep), delivery.py (running a due task), results.py (mass-send results, progress). Imports go
one way: scheduling <- authoring, delivery <- results. The names callers use are re-exported here.

* **Enrollment** happens when a customer is added (the callbacks-queue add handler calls
  ``enroll_on_add``): every active SOP whose conditions hold for the new relation (channel,
  tags on the relation, staff) gets an enrollment and one ``SopTask`` row per step with its
  ``due_at``. An SOP created or widened later applies to later adds only (old customers' "+2 h"
  is long past); an SOP runs at most once per staff–customer relation.
* **Starting an SOP for existing customers** (a bulk action): ``enroll_relations`` (enrolment.py),
  a batch at a time, anchored at the start; relations already enrolled or not matching are skipped.
* **Timing**: relative to the add (``delay_minutes``, or ``day_offset`` + local ``at_time``) or
  to a customer date (``CustomerDate``: birthday, contract end...; ``yearly`` for anniversaries).
  A date set later through the API schedules the steps anchored to it.
* **The sweep** (``sop-steps``, every minute, and ``flask scrm tick``) enqueues due tasks of
  active SOPs on the ``messages`` queue and result checks that are due; a job claims its task
  with ``UPDATE ... WHERE status='pending'``, so a step runs at most once. A task found more than
  STALE_AFTER past due (scheduler down, SOP paused meanwhile) is skipped, not sent late.
* **Stopping**: a task whose relation is no longer active, or whose customer no longer matches
  the conditions, is skipped and stops the enrollment (its other pending tasks are skipped);
  the sweep also stops enrollments of lost relations eagerly.
* **Edits** apply to steps not yet run: changed steps recompute their pending tasks' due_at,
  removed steps cancel them, new steps get tasks where still in the future. Pause keeps tasks
  pending; delete cancels them.
* **Delivery**: ``mass_send`` creates a WeCom 1:1 mass-send task for the staff member
  (`add_msg_template`, chat_type single) and tracks it (`get_groupmsg_task`, then
  `get_groupmsg_send_result`; 41063 = still being dispatched, checked again later); due tasks
  of one step and staff member whose content is the same for everyone (no ``{nickname}``) are
  claimed together and sent as one task, so the staff member confirms one mass send;
  ``reminder`` sends the staff member a `message/send` text card linking to the sidebar
  (``/sidebar/?sop_step=<task id>``), within message/send's per-staff budget.
"""
from scrm.services.sop.authoring import create, get, set_status, update_sop
from scrm.services.sop.delivery import reminder_allowed, run_task, task_names
from scrm.services.sop.enrolment import enroll_relations
from scrm.services.sop.results import check_task, progress, summaries, summaries_from_rows, summary_query
from scrm.services.sop.scheduling import due_at, enroll_on_add, matches, set_customer_date, steps_of, sweep

__all__ = ["check_task", "create", "due_at", "enroll_on_add", "enroll_relations", "get", "matches", "progress",
           "reminder_allowed", "run_task", "set_customer_date", "set_status", "steps_of", "summaries",
           "summaries_from_rows", "summary_query", "sweep", "task_names", "update_sop"]
