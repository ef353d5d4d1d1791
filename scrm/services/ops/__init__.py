"""The operations page's use cases (issue #14 part 5) that `scrm.services.status` does not
already answer: failed jobs one page at a time (retry, delete), WeCom call errors per minute.

The deployment's status, the callback inbox, sync runs and the audit log are the areas' own
(scrm.services.status, /api/v1/events, scrm.services.sync, /api/v1/audit-log).
"""
from __future__ import annotations

from scrm.services.ops.failed_jobs import FailedJobPage, FailedJobView, delete_failed, failed_page, retry_one
from scrm.services.ops.wecom_errors import ErrorSeries, wecom_errors

__all__ = ["ErrorSeries", "FailedJobPage", "FailedJobView", "delete_failed", "failed_page", "retry_one",
           "wecom_errors"]
