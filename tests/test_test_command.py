"""`make test` as a newcomer meets it: the PostgreSQL half runs whenever a server answers where
`.ci/run` looks, and the last line names whatever was skipped and the command that runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from tests.conftest import PG_SKIP, PG_URL, skipped_summary

REPO = Path(__file__).parent.parent
WRAPPER = REPO / "tools" / "test_database.py"


def _env_without_test_database(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORUM_TEST_")}
    env.update(extra)
    return env


def test_skipped_summary_names_each_kind_and_the_one_command() -> None:
    reasons = [
        f"Skipped: {PG_SKIP}",
        f"Skipped: {PG_SKIP}",
        "Skipped: BROWSER TESTS SKIPPED: /usr/bin/chromium not found (apt-get install chromium)",
        "Skipped: something else",
    ]
    line = skipped_summary(reasons)
    assert line is not None
    assert "2 PostgreSQL and 1 browser tests" in line
    assert "`.ci/run`" in line
    assert skipped_summary(["Skipped: something else"]) is None


async def test_a_database_test_runs_on_each_backend(db: str) -> None:
    """The probe the next tests run in a child pytest."""
    assert db in ("sqlite", "postgres")


def test_a_run_without_postgres_ends_with_one_line_saying_what_was_skipped() -> None:
    why = "no PostgreSQL server answered at postgres@127.0.0.1:1 (refused)"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
            f"{Path(__file__).relative_to(REPO)}::test_a_database_test_runs_on_each_backend",
        ],
        cwd=REPO,
        env=_env_without_test_database(FORUM_TEST_POSTGRES_ABSENT=why),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    *_, summary, last = [line for line in run.stdout.splitlines() if line.strip()]
    assert "1 passed, 1 skipped" in last
    assert "SKIPPED 1 PostgreSQL tests" in summary  # the line just above the counts
    assert "`.ci/run`" in summary
    assert why in run.stdout  # the reason shown with -ra


def test_the_wrapper_says_why_when_no_server_answers() -> None:
    run = subprocess.run(
        [
            sys.executable,
            str(WRAPPER),
            sys.executable,
            "-c",
            "import os; print(os.environ['FORUM_TEST_POSTGRES_ABSENT'])",
        ],
        env=_env_without_test_database(PGHOST="127.0.0.1", PGPORT="1", PGUSER="postgres"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "no PostgreSQL server answered at postgres@127.0.0.1:1" in run.stdout


@pytest.mark.postgres
def test_the_wrapper_gives_a_throwaway_database_and_drops_it_afterwards() -> None:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    server = urlsplit(PG_URL)
    child = (
        "import asyncio, os, sys, asyncpg\n"
        "url = os.environ['FORUM_TEST_DATABASE_URL']\n"
        "async def main():\n"
        "    conn = await asyncpg.connect(url.replace('postgres://', 'postgresql://', 1))\n"
        "    await conn.execute('CREATE TABLE made_here (x int)')\n"
        "    await conn.close()\n"
        "    admin = await asyncpg.connect(url.rsplit('/', 1)[0].replace('postgres://', "
        "'postgresql://', 1) + '/postgres')\n"
        '    await admin.execute(f\'CREATE DATABASE "{url.rsplit("/", 1)[1]}_abc123"\')\n'
        "    await admin.close()\n"
        "asyncio.run(main())\n"
        "print('URL', url)\n"
        "sys.exit(3)\n"
    )
    run = subprocess.run(
        [sys.executable, str(WRAPPER), sys.executable, "-c", child],
        env=_env_without_test_database(
            PGHOST=server.hostname or "127.0.0.1",
            PGPORT=str(server.port or 5432),
            PGUSER=server.username or "postgres",
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 3, run.stdout + run.stderr  # the command's status, passed on
    url = next(line for line in run.stdout.splitlines() if line.startswith("URL ")).split()[1]
    name = url.rsplit("/", 1)[1]
    assert name.startswith("forum_test_")
    assert "Dropped 2 test database(s)" in run.stdout

    async def left() -> list[str]:
        admin_url = PG_URL.replace("postgres://", "postgresql://", 1).rsplit("/", 1)[0]
        conn = await asyncpg.connect(admin_url + "/postgres")
        try:
            rows = await conn.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE $1", name + "%"
            )
            return [r[0] for r in rows]
        finally:
            await conn.close()

    import asyncio

    assert asyncio.run(left()) == []


def test_ci_fails_rather_than_skip_when_postgres_is_required_and_absent() -> None:
    run = subprocess.run(
        [sys.executable, str(WRAPPER), sys.executable, "-c", "print('ran')"],
        env=_env_without_test_database(
            PGHOST="127.0.0.1", PGPORT="1", PGUSER="postgres", FORUM_TEST_POSTGRES="required"
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "ran" not in run.stdout
    assert "no PostgreSQL server answered at postgres@127.0.0.1:1" in run.stderr
