"""Churn scoring (issue #13, parts 1 and 2): interaction signals per relation and day (signals),
WeCom's per-member behaviour figures (behavior), the nightly set-based RFE score and risk level
(score), mirroring levels to WeCom tags (mirror), the nightly run (nightly), and the reads behind
the Open API and the sidebar (queries: `risk_for`)."""
from scrm.services.churn.nightly import rebuild, run_nightly, score_corp
from scrm.services.churn.queries import risk_for, risk_from_row, risk_query

__all__ = ["rebuild", "risk_for", "risk_from_row", "risk_query", "run_nightly", "score_corp"]
