"""SQL pieces the report aggregates share: seconds between two timestamps in each database's own
arithmetic, the earlier of two nullable timestamps, and a count column."""
from __future__ import annotations

from sqlalchemy import BigInteger, case
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class seconds_between(FunctionElement):  # noqa: N801 - an SQL function
    """Whole seconds from the second timestamp to the first (``later - earlier``)."""
    type = BigInteger()
    inherit_cache = True


@compiles(seconds_between)
def _seconds_pg(element, compiler, **kw):
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS BIGINT)"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(ROUND((julianday({later}) - julianday({earlier})) * 86400) AS INTEGER)"


def earliest(a, b):
    """The earlier of two nullable timestamps (NULL only when both are)."""
    return case((a.is_(None), b), (b.is_(None), a), (a < b, a), else_=b)
