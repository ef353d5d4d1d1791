"""Extension objects, created once here and bound to an app in create_app()."""
from __future__ import annotations

import sqlite3

import redis
from flask import Flask, current_app
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine, MetaData, Result, event
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql import Executable

from scrm.config import settings


class Base(DeclarativeBase):
    # Named constraints, so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
    metadata = MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


db = SQLAlchemy(model_class=Base)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite (the default database): WAL, so readers never block the writer and a commit is one
    fsync of the log; synchronous=FULL, so a commit is durable when it returns; a writer waits
    up to 5 s for the lock (pysqlite's default, made explicit) instead of failing at once."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=5000"):
            dbapi_connection.execute(f"PRAGMA {pragma}")


def core_execute(statement: Executable, params: dict | None = None) -> Result:
    """Run a statement of columns (or a Core insert) on the session's connection, in its
    transaction, without the ORM layer (no autoflush, identity map or ORM result): about half
    the CPU of ``db.session.execute`` for the sidebar profile's many small reads
    (bench/sidebar.py). Never for ORM entities; the caller flushes pending objects it needs."""
    return db.session.connection().execute(statement, params)


migrate = Migrate()
api = Api()


class RedisHolder:
    """One Redis connection pool per app, created in the factory (never at import time)."""

    def init_app(self, app: Flask) -> None:
        # Short timeouts: the callback view must answer WeCom even when Redis is down.
        app.extensions["redis"] = redis.Redis.from_url(
            settings(app).redis_url, socket_connect_timeout=1, socket_timeout=2,
        )

    @property
    def client(self) -> redis.Redis:
        return current_app.extensions["redis"]


redis_store = RedisHolder()
