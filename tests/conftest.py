"""Shared fixtures: a fresh real database per test (SQLite and PostgreSQL), the app, a client.

Database-touching tests take the `db` fixture, which is parametrised over both backends. The
PostgreSQL half needs FORUM_TEST_DATABASE_URL (set by .ci/run); without it those tests are
skipped with the reason shown.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import tortoise_test_context

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


def _pg_url_per_test(base: str) -> tuple[str, str]:
    """Each test gets its own database on the server named by FORUM_TEST_DATABASE_URL:
    its URL and its name."""
    parts = urlsplit(base.replace("postgresql://", "postgres://", 1))
    name = f"{parts.path.lstrip('/') or 'forum_test'}_{secrets.token_hex(8)}"
    return urlunsplit(parts._replace(path=f"/{name}")), name


async def drop_postgres_database(name: str) -> None:
    """Drop a test's database (Tortoise's test context closes its connections but leaves
    the database: a run of the suite left one behind for every PostgreSQL test)."""
    import asyncpg

    parts = urlsplit(PG_URL.replace("postgres://", "postgresql://", 1))
    conn = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(
    params=[
        pytest.param("sqlite"),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database with the schema; yields the backend's name."""
    if request.param == "sqlite":
        async with tortoise_test_context(
            MODEL_MODULES, db_url=f"sqlite://{tmp_path}/forum.sqlite3"
        ):
            yield request.param
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    url, name = _pg_url_per_test(PG_URL)
    try:
        async with tortoise_test_context(MODEL_MODULES, db_url=url):
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
