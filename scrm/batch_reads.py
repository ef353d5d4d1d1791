"""Several small reads in one statement, for hot paths where a statement's fixed cost
(SQLAlchemy's execution and result setup, the driver, the round trip) is more than the read
itself: the sidebar's profile made ~16 of them (bench/sidebar.py).

Each read keeps its own SELECT (columns, joins, WHERE, ORDER BY, LIMIT, bound parameters). They
are joined with UNION ALL: a read's columns go into typed slots that the reads of other shapes
leave NULL (``CAST(NULL AS type)``, so PostgreSQL matches the branches' types), and two leading
columns, the read's number and its rows' sequence (``ROW_NUMBER()`` over the read's own ORDER
BY), put every read's rows back in order. ``BatchRead.execute`` splits the rows again: one list
per read, each row a named tuple of that read's columns (as ``Row``: by position or by name).
PostgreSQL and SQLite alike (window functions: SQLite 3.25+).

Bound parameters are shared by name across the reads (``corp_id`` means the same in all of
them): reads that need different values must name them differently. Build a BatchRead once
(like the statements it joins) and execute it per call.
"""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    JSON,
    LABEL_STYLE_NONE,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    String,
    cast,
    func,
    literal_column,
    null,
)
from sqlalchemy import select as sql_select
from sqlalchemy.sql import Select
from sqlalchemy.types import TypeEngine

from scrm.extensions import core_execute

# Column types that may share a slot (PostgreSQL unifies varchar and text, integer and bigint);
# any other type gets slots of its own.
_FAMILIES = (String, Integer, DateTime, Date, Boolean, JSON, Float, Numeric)


def _family(type_: TypeEngine) -> Any:
    return next((family for family in _FAMILIES if isinstance(type_, family)), type(type_))


class BatchRead:
    """``reads``: name → SELECT, in the order their rows come back."""

    def __init__(self, reads: Mapping[str, Select]):
        self.names = tuple(reads)
        layout: list[TypeEngine] = []  # the slots' types (a family's first type)
        slots_of: dict[Any, list[int]] = {}
        placements = []
        for query in reads.values():
            used: dict[Any, int] = {}
            positions = []
            for column in query.selected_columns:
                family = _family(column.type)
                slots, n = slots_of.setdefault(family, []), used.get(family, 0)
                used[family] = n + 1
                if n == len(slots):
                    slots.append(len(layout))
                    layout.append(column.type)
                positions.append(slots[n] + 2)  # after the read's number and the sequence
            placements.append(positions)
        names = ["batch_read", "batch_seq", *(f"batch_{n}" for n in range(len(layout)))]
        branches = []
        for number, (query, positions) in enumerate(zip(reads.values(), placements, strict=True)):
            # The first branch names the columns and types the slots (CAST(NULL AS type): PostgreSQL
            # unifies the branches' types left to right); the others leave theirs a bare NULL.
            cells: list[Any] = [cast(null(), type_) if number == 0 else literal_column("NULL") for type_ in layout]
            order = query._order_by_clauses
            sequence: Any = func.row_number().over(order_by=order) if order else literal_column("0", Integer)
            limited = query._limit_clause is not None or query._offset_clause is not None
            if limited:  # ORDER BY … LIMIT stays in a subquery (SQLite allows neither in a UNION's member)
                inner = query.add_columns(sequence.label("batch_seq")).subquery()
                columns = list(inner.c)
                sequence = columns.pop()
            else:  # the read's own SELECT, its columns put in their slots
                columns = list(query.selected_columns)
            for column, position in zip(columns, positions, strict=True):
                cells[position - 2] = column
            values = [literal_column(str(number), Integer), sequence, *cells]
            if number == 0:
                values = [value.label(name) for value, name in zip(values, names, strict=True)]
            branch = (sql_select(*values).select_from(inner) if limited
                      else query.with_only_columns(*values).order_by(None))
            branches.append(branch if number == 0 else branch.set_label_style(LABEL_STYLE_NONE))
        union = branches[0].union_all(*branches[1:]) if len(branches) > 1 else branches[0]
        columns = union.selected_columns
        self.statement = union.order_by(columns.batch_read, columns.batch_seq)
        self._rows = []
        for name, query, positions in zip(self.names, reads.values(), placements, strict=True):
            row_type = namedtuple(f"{name.title().replace('_', '')}Row",
                                  [str(key) for key in query.selected_columns.keys()], rename=True)
            pick = itemgetter(*positions)
            if len(positions) == 1:
                self._rows.append(lambda row, pick=pick, make=row_type._make: make((pick(row),)))
            else:
                self._rows.append(lambda row, pick=pick, make=row_type._make: make(pick(row)))

    def execute(self, params: Mapping[str, Any]) -> dict[str, list[Any]]:
        """Every read's rows (a list per name, in its order), from one statement on the
        session's connection (scrm.extensions.core_execute: no autoflush)."""
        out: list[list[Any]] = [[] for _ in self.names]
        rows = self._rows
        for row in core_execute(self.statement, dict(params)):
            number = row[0]
            out[number].append(rows[number](row))
        return dict(zip(self.names, out, strict=True))
