"""SQL pieces the reports share: seconds between two timestamps in each database's own
arithmetic, the earlier of two nullable timestamps, and sums grouped two ways in one pass."""
from __future__ import annotations

from sqlalchemy import BigInteger, case, func, null, select, tuple_

from scrm.extensions import db
from scrm.sqlfunc import sql_function

# Whole seconds from the second timestamp to the first: seconds_between(later, earlier).
seconds_between = sql_function(
    "seconds_between", BigInteger(), postgresql="CAST(EXTRACT(EPOCH FROM ({0} - {1})) AS BIGINT)",
    sqlite="CAST(ROUND((julianday({0}) - julianday({1})) * 86400) AS INTEGER)")


def earliest(a, b):
    """The earlier of two nullable timestamps (NULL only when both are)."""
    return case((a.is_(None), b), (b.is_(None), a), (a < b, a), else_=b)


def sums_two_ways(where: list, first: tuple, second: tuple, columns: list) -> tuple[list, list]:
    """``columns`` (aggregates) grouped by the ``first`` keys and, separately, by the ``second``:
    one pass over the rows with GROUPING SETS on PostgreSQL, two GROUP BY elsewhere (SQLite).
    Returns (rows per first keys, rows per second keys); each row has every key (the other
    set's None) and the columns by label."""
    if db.session.get_bind().dialect.name == "postgresql":
        marker = func.grouping(first[0]).label("_second")  # 0 in the first set's rows, 1 in the second's
        rows = db.session.execute(select(*first, *second, *columns, marker).where(*where).group_by(
            func.grouping_sets(tuple_(*first), tuple_(*second)))).all()
        return [r for r in rows if not r._second], [r for r in rows if r._second]
    nulls = {key: null().label(key.key) for key in (*first, *second)}
    by_first = db.session.execute(select(*first, *(nulls[k] for k in second), *columns).where(*where)
                                  .group_by(*first)).all()
    by_second = db.session.execute(select(*(nulls[k] for k in first), *second, *columns).where(*where)
                                   .group_by(*second)).all()
    return by_first, by_second
