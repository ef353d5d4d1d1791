"""SQL functions spelled per database: one way to write an expression PostgreSQL and SQLite
phrase differently (date arithmetic, JSON objects, arrays). ``sql_function`` makes a SQLAlchemy
construct from two templates in which ``{0}``, ``{1}`` … stand for the compiled arguments and
``{args}`` for all of them separated by commas."""
from __future__ import annotations

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import Date, TypeEngine


def sql_function(name: str, type_: TypeEngine, *, postgresql: str, sqlite: str) -> type[FunctionElement]:
    """A FunctionElement class called ``name`` returning ``type_``, compiled from the template of
    the statement's dialect."""
    construct = type(name, (FunctionElement,), {"type": type_, "inherit_cache": True, "__doc__": postgresql})

    def render(template: str):
        def compile_(element, compiler, **kw):
            parts = [compiler.process(clause, **kw) for clause in element.clauses]
            return template.format(*parts, args=", ".join(parts))
        return compile_

    compiles(construct)(render(postgresql))
    compiles(construct, "sqlite")(render(sqlite))
    return construct


# The first day of a date's month.
month_start = sql_function("month_start", Date(), postgresql="CAST(date_trunc('month', {0}) AS DATE)",
                           sqlite="date({0}, 'start of month')")
