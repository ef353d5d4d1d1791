"""Mass messages to a segment (群发, issue #14 part 4; docs/mass-messages.md).

An operator sends one message to a set of customers (a saved segment, the list's filters, or
named customers). WeCom can only do that through each customer's staff member: a 1:1 mass-send
task (`add_msg_template`, chat_type single, ≤ 10,000 customers) that the member confirms in WeCom.

* authoring.py  validate and create the message (one row; the build job is enqueued after commit)
* building.py   the build job: the recipients in one set-based INSERT … SELECT (one staff member
                per customer, the monthly receive cap applied and reported), then the tasks
* delivery.py   one job per task: create it in WeCom (at most once), and read back what became of
                it (`get_groupmsg_task`, `get_groupmsg_send_result`, paged)
* sweep.py      the ``mass-messages`` sweep: builds, tasks and result checks due, settles messages
* queries.py    figures per message, its tasks and recipients
"""
from scrm.services.mass_messages.authoring import cancel, create
from scrm.services.mass_messages.building import build
from scrm.services.mass_messages.delivery import check_task, run_task
from scrm.services.mass_messages.queries import describe, recipients_query, tasks_of
from scrm.services.mass_messages.sweep import sweep

__all__ = ["build", "cancel", "check_task", "create", "describe", "recipients_query", "run_task", "sweep",
           "tasks_of"]
