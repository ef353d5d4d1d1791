"""SQL pieces the report aggregates share: seconds between two timestamps in each database's own
arithmetic, the earlier of two nullable timestamps, and a count column."""
from __future__ import annotations

from sqlalchemy import BigInteger, case

from scrm.sqlfunc import sql_function

# Whole seconds from the second timestamp to the first: seconds_between(later, earlier).
seconds_between = sql_function(
    "seconds_between", BigInteger(), postgresql="CAST(EXTRACT(EPOCH FROM ({0} - {1})) AS BIGINT)",
    sqlite="CAST(ROUND((julianday({0}) - julianday({1})) * 86400) AS INTEGER)")


def earliest(a, b):
    """The earlier of two nullable timestamps (NULL only when both are)."""
    return case((a.is_(None), b), (b.is_(None), a), (a < b, a), else_=b)
