"""Staff departure (离职继承) and on-the-job reassignment (在职转接) that keep context.

The package: explain.py (WeCom's limits and errcodes in words), successors.py (the rules that
propose successors), proposals.py (batches before they run: open, propose, edit, approve,
cancel), execution.py (the transfer calls), results.py (polling, callbacks, finishing),
records.py (what moves with the customer), views.py (what the API shows). Imports go one way:
explain, successors, records <- results <- execution; proposals. See docs/handover.md.
"""
from scrm.services.handover.execution import run_batch
from scrm.services.handover.proposals import (
    approve,
    cancel,
    create_onjob,
    edit_item,
    open_approved_onjob,
    open_resigned,
    open_resigned_later,
    propose,
    resend_approved,
)
from scrm.services.handover.results import poll_batch, transfer_completed, transfer_failed
from scrm.services.handover.results import sweep as poll_sweep
from scrm.services.handover.views import batch_view, item_view


def sweep(now=None) -> int:
    """The ``handover`` sweep: approved batches whose job was lost, and waiting transfers due a poll."""
    return resend_approved(now) + poll_sweep(now)


__all__ = ["approve", "batch_view", "cancel", "create_onjob", "edit_item", "item_view", "open_approved_onjob",
           "open_resigned",
           "open_resigned_later", "poll_batch", "propose", "run_batch", "sweep", "transfer_completed",
           "transfer_failed"]
