"""Tortoise configuration and start-up, shared by the app, the CLI and the tests."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from tortoise import Model, Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.sqlite.client import SqliteTransactionWrapper
from tortoise.exceptions import TransactionManagementError
from tortoise.migrations.api import migrate

from forum.config import Settings

MODEL_MODULES = [
    "forum.accounts.models",
    "forum.networks.models",
    "forum.threads.models",
    "forum.audit.models",
    "forum.moderation.models",
    "forum.mail.models",
    "forum.notifications.models",
    "forum.ratelimit",
    "forum.jobs",
    "forum.changes",
]
MIGRATIONS_MODULE = "forum.migrations"


class PooledConnection(asyncpg.Connection):
    """An asyncpg connection that sends nothing to the server when it goes back to the pool.

    Tortoise takes a connection from the pool for each statement outside a transaction, and
    asyncpg's pool, on each release, runs `SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL;`: a second round trip, and four statements parsed afresh, for
    every query a page makes, which cost PostgreSQL more than the queries themselves. The
    forum leaves none of that state on a connection: no session-level advisory locks (job
    leases are rows; `forum db upgrade` locks on a connection of its own), no cursors
    outside transactions, no LISTEN and no SET. An open transaction is still rolled back on
    release (asyncpg does that whatever this returns).
    """

    def get_reset_query(self) -> str:
        return ""


def tortoise_config(db_url: str) -> dict[str, Any]:
    """The one Tortoise config: a single app, "models", with its migrations package."""
    if db_url.startswith("postgresql://"):
        db_url = "postgres://" + db_url.removeprefix("postgresql://")
    connection: str | dict[str, Any] = db_url
    if db_url.startswith("postgres://"):
        connection = expand_db_url(db_url)
        connection["credentials"]["connection_class"] = PooledConnection
    return {
        "connections": {"default": connection},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def _begin_immediate(self: SqliteTransactionWrapper) -> None:
    """SQLite transactions take the write lock when they begin (BEGIN IMMEDIATE), waiting
    up to the busy timeout for another process's writer to finish.

    Tortoise begins them DEFERRED: a transaction that reads and then writes is refused at
    once ("database is locked", no waiting) when another process wrote in between, because
    its snapshot is stale; with several workers on one file the mailer, the indexer and
    posting all did that. Each process has one SQLite connection, whose transactions run one
    at a time anyway, so taking the lock early costs nothing but waiting for other processes.
    """
    try:
        await self._connection.commit()
        await self._connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise TransactionManagementError(exc) from exc


SqliteTransactionWrapper.begin = _begin_immediate  # type: ignore[method-assign]


def _prepare(settings: Settings) -> None:
    """SQLite creates its file but not the folder it goes in."""
    if settings.is_sqlite:
        path = settings.database_url.removeprefix("sqlite://").partition("?")[0]
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


async def init(settings: Settings) -> None:
    """Open the connections for a long-running process (the server or a CLI command).

    The global fallback lets requests served in other tasks than the lifespan's see the ORM.
    """
    _prepare(settings)
    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)


async def close() -> None:
    """Close the connections and release the global context, so a later init can run."""
    await Tortoise.close_connections()


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[None]:
    await init(settings)
    try:
        yield
    finally:
        await close()


async def upgrade(settings: Settings) -> None:
    """Apply every migration not yet applied (`forum db upgrade`).

    Several hosts may start at once, each upgrading first (the systemd unit does): with
    PostgreSQL they take turns under an advisory lock, so the first applies what is new and
    the others find nothing left to do. (SQLite's hosts are one.)"""
    _prepare(settings)
    try:
        async with _one_upgrade_at_a_time(settings):
            await migrate(config=tortoise_config(settings.database_url))
    finally:
        # An open aiosqlite thread would keep the process alive after an error.
        await close()


# pg_advisory_lock's key for `forum db upgrade` (any constant: no other lock uses one).
UPGRADE_LOCK = 0x666F72756D


@asynccontextmanager
async def _one_upgrade_at_a_time(settings: Settings) -> AsyncIterator[None]:
    if settings.is_sqlite:
        yield
        return
    connection = tortoise_config(settings.database_url)["connections"]["default"]
    c = connection["credentials"]
    # A connection of its own, outside Tortoise's pool: the lock is the session's, and is
    # released when it closes, whatever happens.
    holder = await asyncpg.connect(
        host=c["host"],
        port=c["port"],
        user=c["user"],
        password=c["password"],
        database=c["database"],
    )
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", UPGRADE_LOCK)
        yield
    finally:
        await holder.close()


def connection() -> BaseDBAsyncClient:
    return connections.get("default")


# For Tortoise's own CLI when writing a migration after a model change:
#   .venv/bin/tortoise -c forum.db.TORTOISE_ORM makemigrations
TORTOISE_ORM = tortoise_config("sqlite://:memory:")


# Hand-written reads for the hottest pages (the thread page, every network page). Tortoise
# spends more building a query with pypika than SQLite spends running it; these helpers
# skip the building, not the models: rows become model instances the way Tortoise's own
# executor makes them (`Model._init_from_db`: the same conversions, the same objects).
M = TypeVar("M", bound=Model)


async def analyze() -> None:
    """After a bulk load (an import): PostgreSQL's planner statistics, read afresh. Until
    autovacuum gets round to it (or never, where it is off), a freshly filled table has none
    and its queries get plans for an empty one. SQLite plans well enough without them."""
    if dialect() == "postgres":
        await connection().execute_script("ANALYZE")


def dialect() -> str:
    """ "sqlite" or "postgres": for the few statements that differ."""
    return str(connection().capabilities.dialect)


def _numbered(conn: BaseDBAsyncClient, sql: str) -> str:
    if conn.capabilities.dialect != "postgres":
        return sql
    parts = sql.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))


def timestamp(value: datetime) -> Any:
    """`value` as `fetch`'s SQL compares it with a stored timestamp: SQLite keeps them as
    text (Tortoise writes `str(datetime)`, in UTC), PostgreSQL as timestamptz."""
    return value if dialect() == "postgres" else str(value.astimezone(UTC))


def placeholders(values: Sequence[Any]) -> str:
    """`?, ?, ?`: one placeholder for each of `values`, for an `IN (...)` in `fetch`'s SQL."""
    return ", ".join("?" * len(values))


async def fetch(sql: str, *values: Any) -> list[dict[str, Any]]:
    """Rows of `sql`, whose parameters are written `?` (numbered for PostgreSQL here: so no
    other question mark may appear in `sql`)."""
    conn = connection()
    return await conn.execute_query_dict(_numbered(conn, sql), list(values))


async def fetch_rows(sql: str, *values: Any) -> Sequence[Sequence[Any]]:
    """As `fetch`, the rows as the driver gives them (`sqlite3.Row`, asyncpg's `Record`):
    read by position, without a dict for each (a thread page reads hundreds)."""
    conn = connection()
    _, rows = await conn.execute_query(_numbered(conn, sql), list(values))
    return rows  # type: ignore[return-value]


def columns(model: type[Model], alias: str) -> str:
    """Every column of `model`'s table (as `alias`), named `<alias>_<column>`: for a SELECT
    that joins several tables and builds one model of each with `from_row`."""
    return ", ".join(
        f'{alias}."{c}" AS "{alias}_{c}"' for c in model._meta.fields_db_projection.values()
    )


def from_row(model: type[M], row: dict[str, Any], alias: str = "") -> M:
    """The `model` instance a row holds: the whole row, or its `columns(model, alias)`."""
    if alias:
        row = {c: row[f"{alias}_{c}"] for c in model._meta.fields_db_projection.values()}
    return model._init_from_db(**row)
