"""Bulk actions on customers (issue #14 part 4; docs/bulk-actions.md): add or remove corp tags,
start a customer SOP, reassign (在职转接) — for an audience (scrm/services/audience.py), each a
tracked job with progress and a list of what failed and why.

* authoring.py  validate and create the job (one row; the run job is enqueued after commit), cancel
* running.py    the run job: claims the job for a lease, writes its items once (INSERT … SELECT of
                the audience's relations), then processes them a batch at a time by kind,
                recording progress after each batch; gives the job back when its run budget is
                spent (or WeCom asks to wait), so another run goes on where it stopped; a worker
                that dies leaves an expired lease and the sweep resumes the job
* tags.py       add_tags / remove_tags: one ``mark_tag`` per relation through scrm/services/tagging
* sop_start.py  start_sop: scrm/services/sop enroll_relations, a batch at a time
* reassign.py   reassign: one approved 在职转接 batch per current owner (scrm/services/handover);
                the items follow the transfers
* sweep.py      the ``bulk-jobs`` sweep: jobs queued or whose lease expired
* queries.py    figures per job, its items
"""
from scrm.services.bulk.authoring import cancel, create
from scrm.services.bulk.queries import describe, items_query
from scrm.services.bulk.running import run
from scrm.services.bulk.sweep import sweep

__all__ = ["cancel", "create", "describe", "items_query", "run", "sweep"]
