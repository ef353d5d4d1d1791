"""Recall playbooks (issue #13 part 4; docs/recall.md): what happens when a relation enters a
risk level, the recalls made, their delivery and their outcome.

The package: playbooks.py (the operators' edits), trigger.py (recalls from the nightly level
changes, set-based, with the cool-down and priorities), delivery.py (running a due recall and
reading back mass-send results, through scrm/services/outreach.py as customer SOPs do),
outcomes.py (won / lost, set-based), sweep.py (the ``recall`` sweep), queries.py (the Open API's
reads), sidebar.py (the sidebar's recall card and task). Imports go one way:
playbooks; trigger, outcomes <- sweep; delivery <- sidebar; outcomes <- queries.
"""
from scrm.services.recall.delivery import check_recall, run_recall
from scrm.services.recall.outcomes import settle
from scrm.services.recall.playbooks import create, get, set_status, update_playbook
from scrm.services.recall.queries import recalls_query, stats
from scrm.services.recall.sweep import sweep
from scrm.services.recall.trigger import create_recalls, scan

__all__ = ["check_recall", "create", "create_recalls", "get", "recalls_query", "run_recall", "scan", "set_status",
           "settle", "stats", "sweep", "update_playbook"]
