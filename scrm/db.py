"""Race-safe writes on PostgreSQL and SQLite alike: INSERT ... ON CONFLICT DO NOTHING.

One module for every upsert of the service (the inbox, the welcome worker, the event handlers,
the sync, SOP enrollment): a row that two workers may add at once is inserted ignoring the
unique-key conflict, then read back, instead of select-then-add (which fails on the constraint
for the slower one). Both databases take the same syntax (SQLite 3.35+).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import TextClause

from scrm.extensions import db

M = TypeVar("M")

_DIALECT_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def dialect_insert(session=None):
    """The session's (default: db.session) dialect `insert()`, the one with
    `on_conflict_do_nothing()` and `on_conflict_do_update()`."""
    dialect = (session or db.session).get_bind().dialect.name
    try:
        return _DIALECT_INSERTS[dialect]
    except KeyError:  # pragma: no cover - we run on PostgreSQL and SQLite only
        raise NotImplementedError(dialect) from None


def insert_ignoring_conflict_sql(table: Table, columns: Sequence[str], conflict: str,
                                 returning: str = "id") -> TextClause:
    """``INSERT INTO table (columns) VALUES (:columns) ON CONFLICT (conflict) DO NOTHING
    RETURNING returning`` as a text statement with typed bind parameters, for the hot paths.

    Spelled as SQL because SQLAlchemy never caches the compiled form of the dialect
    insert().on_conflict_do_nothing() constructs (compiling one cost more CPU than the rest of a
    callback request); the typed bind parameters store values exactly as the ORM does."""
    return text(
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join(':' + c for c in columns)}) "
        f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {returning}"
    ).bindparams(*(bindparam(c, type_=table.c[c].type) for c in columns))


def insert_rows(table: Table, rows: list[dict[str, Any]], returning: Sequence[str] = ()) -> list[tuple]:
    """INSERT ... ON CONFLICT DO NOTHING of `rows` (all naming the same columns; an absent column
    takes its default, evaluated once for the statement), and the `returning` columns of the rows
    inserted (those whose unique key someone else holds are not). SQLite: one executemany.
    PostgreSQL: one statement over one array per column (INSERT ... SELECT FROM unnest(...)):
    psycopg would otherwise send an executemany row by row, and parse the long multi-VALUES SQL
    that SQLAlchemy writes for an executemany with RETURNING anew for every batch (together most
    of a first import's CPU)."""
    if not rows:
        return []
    dialect = db.session.get_bind().dialect
    if dialect.name != "postgresql":
        stmt = dialect_insert()(table).on_conflict_do_nothing()
        if not returning:
            db.session.execute(stmt, rows)
            return []
        return [tuple(row) for row in db.session.execute(stmt.returning(*(table.c[n] for n in returning)), rows)]
    named = tuple(rows[0])
    defaults = {column.name: column.default for column in table.c
                if column.name not in named and column.default is not None and not column.default.is_sequence}
    columns = named + tuple(defaults)
    stmt, converters = _unnest_insert(table, columns, tuple(returning), dialect)
    params = {}
    for index, (name, convert) in enumerate(zip(columns, converters, strict=True)):
        if name in defaults:
            default = defaults[name]
            values = [default.arg if default.is_scalar else default.arg(None)] * len(rows)
        else:
            values = [row[name] for row in rows]
        params[f"c{index}"] = [convert(value) for value in values] if convert else values
    # The driver's own SQL (SQLAlchemy still wraps its errors and runs it in the session's
    # transaction): %(cN)b sends each array in binary (psycopg's text format escapes every
    # element of a text array with a regular expression: slower than the rest of the insert).
    result = db.session.connection().exec_driver_sql(stmt, params)
    return [tuple(row) for row in result] if returning else []


@functools.lru_cache(maxsize=64)
def _unnest_insert(table: Table, columns: tuple[str, ...], returning: tuple[str, ...], dialect) -> tuple:
    """The statement of insert_rows on PostgreSQL and a converter per column (None: the value as is)."""
    quote = dialect.identifier_preparer.quote
    arrays, selected, converters = [], [], []
    for index, name in enumerate(columns):
        impl = table.c[name].type.dialect_impl(dialect)
        sql_type = impl.compile(dialect=dialect)
        process = impl.bind_processor(dialect)
        if sql_type.endswith("[]"):  # an array column: each row's array as a literal, cast per row
            arrays.append(f"CAST(%(c{index})b AS TEXT[])")
            selected.append(f"CAST(u.c{index} AS {sql_type})")
            converters.append(functools.partial(_array_literal, process))
        else:
            arrays.append(f"CAST(%(c{index})b AS {sql_type}[])")
            selected.append(f"u.c{index}")
            converters.append(process)
    sql = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({', '.join(map(quote, columns))}) "
           f"SELECT {', '.join(selected)} FROM unnest({', '.join(arrays)}) "
           f"AS u({', '.join(f'c{i}' for i in range(len(columns)))}) ON CONFLICT DO NOTHING")
    if returning:
        sql += f" RETURNING {', '.join(map(quote, returning))}"
    return sql, converters


def _array_literal(process: Callable | None, value: Any) -> str | None:
    if value is None:
        return None
    items = process(value) if process else value
    return "{" + ",".join(str(item) if isinstance(item, int) else
                          '"' + str(item).replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items) + "}"


def insert_ignoring_conflict(model: type, values: dict[str, Any]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING (any unique constraint). True when a row was added."""
    # RETURNING rather than rowcount: psycopg reports -1 for an ORM-enabled INSERT.
    primary_key = list(model.__table__.primary_key.columns)
    stmt = dialect_insert()(model).values(**values).on_conflict_do_nothing().returning(*primary_key)
    return db.session.execute(stmt).first() is not None


def ensure_row(model: type[M], *, lock: bool = False, **keys: Any) -> tuple[M, bool]:
    """The row with these unique keys, inserted first if it is missing. Returns (row, created).

    INSERT ... ON CONFLICT DO NOTHING rather than select-then-add: two workers handling events
    about the same customer or chat at once would both add the row and one would fail on the
    unique constraint. With `lock`, the row is also locked (PostgreSQL; SQLite runs one writer
    anyway), so handlers of the same customer/chat run one after the other and each one sees
    what the other committed.
    """
    created = insert_ignoring_conflict(model, keys)
    query = select(model).filter_by(**keys)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalars(query).one(), created


def ensure_rows(model: type[M], corp_id: str, columns: Sequence[str], keys: Iterable[tuple], *,
                lock: bool = False, values: Callable[[tuple], dict[str, Any]] | None = None,
                ) -> tuple[dict[tuple, M], set[tuple]]:
    """ensure_row for many rows at once (the sync's pages): the rows whose unique key is corp_id +
    `columns` = each of `keys`, the missing ones inserted by one INSERT ... ON CONFLICT DO NOTHING,
    all read (and, with `lock`, locked) by one SELECT. Returns ({key: row}, the keys inserted).
    `values(key)`: further columns for a row that gets inserted (the same names for every key),
    so a new row is written once instead of inserted bare and then updated.

    The INSERT comes first on purpose: on SQLite it takes the write lock, so no callback can
    commit between our read and our write; on PostgreSQL the SELECT ... FOR UPDATE does that.
    """
    keys = list(dict.fromkeys(keys))
    if not keys:
        return {}, set()
    # RETURNING lists only the rows inserted.
    created = set(insert_rows(model.__table__, [
        {"corp_id": corp_id, **(values(key) if values else {}), **dict(zip(columns, key, strict=True))}
        for key in keys], columns))
    return read_rows(model, corp_id, columns, keys, lock=lock), created


def read_rows(model: type[M], corp_id: str, columns: Sequence[str], keys: Sequence[tuple], *,
              lock: bool = False) -> dict[tuple, M]:
    """The rows whose unique key is corp_id + `columns` = one of `keys`, by key, read (and, with
    `lock`, locked: SELECT ... FOR UPDATE on PostgreSQL) by one SELECT; missing keys are absent."""
    if not keys:
        return {}
    query = select(model).where(model.corp_id == corp_id, *matching([getattr(model, name) for name in columns], keys))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    wanted = set(keys)
    return {key: row for row in db.session.scalars(query)
            if (key := tuple(getattr(row, name) for name in columns)) in wanted}


def matching(columns: Sequence[Any], keys: Sequence[tuple]) -> list[Any]:
    """WHERE terms selecting (a superset of) the rows whose `columns` equal one of `keys`: an IN
    list per column, which both databases answer from a composite index; a row-value IN is
    answered by SQLite with a scan of the corp's rows. Callers keep the exact keys."""
    return [column.in_({key[i] for key in keys}) for i, column in enumerate(columns)]


def add_new_row(pending: dict | None, model: type, values: dict[str, Any]) -> None:
    """A row known to be new: collected in `pending` (the sync's page buffer: model -> rows,
    see EventContext.pending) or added to the session now."""
    if pending is not None:
        pending.setdefault(model, []).append(values)
    else:
        db.session.add(model(**values))


def insert_pending(pending: dict) -> int:
    """Insert the collected rows, one executemany per table and set of columns (every row of an
    executemany must name the same ones: an absent column takes its default), and empty `pending`.
    ON CONFLICT DO NOTHING: a row a concurrent writer added first is theirs (and the same fact)."""
    count = 0
    for model, rows in pending.items():
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            shapes.setdefault(tuple(row), []).append(row)
        for same in shapes.values():
            insert_rows(model.__table__, same)
        count += len(rows)
    pending.clear()
    return count
