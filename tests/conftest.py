"""Shared fixtures: a fresh real database per test (SQLite and PostgreSQL), the app, a client.

Database-touching tests take the `db` fixture, which is parametrised over both backends. The
PostgreSQL half needs FORUM_TEST_DATABASE_URL (set by .ci/run); without it those tests are
skipped with the reason shown.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette
from tortoise.backends.base.config_generator import generate_config
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import TortoiseContext, tortoise_test_context
from tortoise.warnings import TortoiseLoopSwitchWarning

from forum import changes
from forum.accounts import passwords
from forum.app import create_app
from forum.config import SecuritySettings, Settings, load_settings
from forum.db import MODEL_MODULES
from tests.mailbox import SmtpServer

PG_URL = os.environ.get("FORUM_TEST_DATABASE_URL", "")
# tools/test_database.py (which `make test` runs pytest through) says why it found no server.
PG_ABSENT = os.environ.get("FORUM_TEST_POSTGRES_ABSENT", "FORUM_TEST_DATABASE_URL is not set")
PG_SKIP = f"PostgreSQL half skipped: {PG_ABSENT}"
# What the last line of a run names for each kind of skipped test: the reason's start, the
# kind, and what is missing.
SKIPPED_KINDS = (
    ("PostgreSQL half skipped", "PostgreSQL", "PostgreSQL server"),
    ("BROWSER TESTS SKIPPED", "browser", "Chromium"),
)
# The one command that runs every skipped test: it starts PostgreSQL and installs Chromium.
RUN_ALL = ".ci/run"


def skipped_summary(reasons: list[str]) -> str | None:
    """The run's last line when tests of a known kind were skipped: how many of each and the
    command that would run them; None when none were."""
    counts = {kind: 0 for _, kind, _ in SKIPPED_KINDS}
    missing: list[str] = []
    for reason in reasons:
        for start, kind, needs in SKIPPED_KINDS:
            if start in reason:
                counts[kind] += 1
                if needs not in missing:
                    missing.append(needs)
    parts = [f"{n} {kind}" for kind, n in counts.items() if n]
    if not parts:
        return None
    return (
        f"SKIPPED {' and '.join(parts)} tests (no {' or '.join(missing)} here); "
        f"`{RUN_ALL}` starts PostgreSQL, installs Chromium and runs them all"
    )


# The outermost wrapper: its line comes after pytest's short summary, just above the counts.
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> Iterator[None]:
    yield
    reasons = []
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        if isinstance(longrepr, tuple | list) and len(longrepr) == 3:  # lists from xdist
            reasons.append(str(longrepr[2]))
    line = skipped_summary(reasons)
    if line:
        terminalreporter.write_sep("!", line, red=True, bold=True)


def _pg_base_name() -> str:
    """The database FORUM_TEST_DATABASE_URL names: every database the suite makes is named
    `<it>_<something>`, which tools/test_database.py drops afterwards whatever happened."""
    return urlsplit(PG_URL).path.lstrip("/") or "forum_test"


def _pg_url(name: str) -> str:
    parts = urlsplit(PG_URL.replace("postgresql://", "postgres://", 1))
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _pg_admin(statement: str) -> None:
    """Run one statement on the server's `postgres` database."""
    import asyncpg

    parts = urlsplit(PG_URL.replace("postgres://", "postgresql://", 1))
    conn = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def drop_postgres_database(name: str) -> None:
    """Drop a test's database (Tortoise's test context closes its connections but leaves
    the database: a run of the suite left one behind for every PostgreSQL test)."""
    await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class PostgresTemplate:
    """The schema, generated once per process (each xdist worker has its own) into a
    template database; each test's database is a copy of it (`CREATE DATABASE ... TEMPLATE`),
    not a database in which every table is created again, which was most of a PostgreSQL
    test's time. The template is made by `tortoise_test_context` itself, so it holds exactly
    what that would make for each test; nothing is written to it after, so every copy is
    empty and its sequences start at 1.

    (Making the next test's copy in a thread while a test runs was tried: twice as slow, the
    copy's WAL and the test's commits waiting on the same disk.)"""

    def __init__(self) -> None:
        self.name: str | None = None

    async def copy(self) -> str:
        """A new database with the schema, empty; its name."""
        if self.name is None:
            name = f"{_pg_base_name()}_template_{secrets.token_hex(8)}"
            try:
                async with tortoise_test_context(MODEL_MODULES, db_url=_pg_url(name)):
                    pass  # closes its connections: a template in use cannot be copied
            except BaseException:
                await drop_postgres_database(name)
                raise
            self.name = name
        copy = f"{_pg_base_name()}_{secrets.token_hex(8)}"
        await _pg_admin(f'CREATE DATABASE "{copy}" TEMPLATE "{self.name}"')
        return copy

    def close(self) -> None:
        """Drop the template (each test drops its own copy)."""
        if self.name is not None:
            asyncio.run(drop_postgres_database(self.name))
            self.name = None


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresTemplate]:
    template = PostgresTemplate()
    try:
        yield template
    finally:
        template.close()


@asynccontextmanager
async def tortoise_context_for(db_url: str) -> AsyncIterator[TortoiseContext]:
    """`tortoise_test_context` for a database that already has the schema: the same
    configuration and initialisation, without creating the database or its tables."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=TortoiseLoopSwitchWarning)
        ctx = TortoiseContext()
        async with ctx:
            config = generate_config(
                db_url, app_modules={"models": MODEL_MODULES}, connection_label=None, testing=True
            )
            await ctx.init(config=config, _create_db=False, use_tz=True, timezone="UTC")
            yield ctx


@pytest.fixture(
    params=[
        pytest.param("sqlite"),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
async def db(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_template: PostgresTemplate
) -> AsyncIterator[str]:
    """A fresh, empty database with the schema; yields the backend's name."""
    if request.param == "sqlite":
        async with tortoise_test_context(
            MODEL_MODULES, db_url=f"sqlite://{tmp_path}/forum.sqlite3"
        ):
            yield request.param
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    name = await postgres_template.copy()
    try:
        async with tortoise_context_for(_pg_url(name)):
            yield request.param
    finally:
        await drop_postgres_database(name)


@pytest.fixture(autouse=True)
def fresh_statement_cache() -> None:
    """Tortoise caches built INSERT statements per connection *name*, not per dialect; with
    SQLite and PostgreSQL tests in one process the cache must start empty for each test."""
    EXECUTOR_CACHE.clear()


@pytest.fixture(autouse=True)
def change_log_read_every_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """Anonymous requests read where the change log stands like any other: whether one
    came within `changes.RECENT` of the last read would hang on the clock. Tests of that
    lag set it themselves (tests/test_kept_until_changed.py)."""
    monkeypatch.setattr(changes, "RECENT", 0.0)
    monkeypatch.setattr(changes, "_last_read", None)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id, with the cost turned down: tests create many users."""
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on loopback, for the tests that send mail."""
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    base = load_settings(env={})
    return replace(
        base,
        base_dir=tmp_path,
        security=SecuritySettings(secret_key="test-secret-" + "x" * 40, data_dir="data"),
    )


@pytest.fixture
def app(settings: Settings, db: str) -> Starlette:
    return create_app(settings, manage_db=False)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


class QueryCounter(logging.Handler):
    """Counts SQL statements as Tortoise logs them (one debug record per statement)."""

    STATEMENT = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.I)

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if self.STATEMENT.match(msg):
            self.statements.append(msg)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries() -> Iterator[QueryCounter]:
    logger = logging.getLogger("tortoise.db_client")
    counter = QueryCounter()
    old = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(old)
