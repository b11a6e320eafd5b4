"""Run a command (the test suite) with a throwaway PostgreSQL database when a server answers.

`make test` runs pytest through this, so that on a machine with PostgreSQL on loopback the
PostgreSQL half of the suite runs as it does in CI, not only under `.ci/run`:

    python tools/test_database.py pytest -n 2 ...

- FORUM_TEST_DATABASE_URL already set (`.ci/run` sets it): the command runs as it is.
- Otherwise the server `.ci/run` would use is tried (PGHOST, PGPORT, PGUSER; by default
  postgres@127.0.0.1:5432, no password). If it answers within two seconds, a database
  `forum_test_<time>_<pid>` is created, the command runs with FORUM_TEST_DATABASE_URL naming
  it, and afterwards that database and every per-test database made from it
  (`<name>_<hex>`) are dropped, whatever the command's outcome.
- If no server answers, the command runs without it and FORUM_TEST_POSTGRES_ABSENT says why,
  so the suite's last line can name what was skipped and how to run it.

The exit status is the command's. FORUM_TEST_POSTGRES=no skips the attempt;
FORUM_TEST_POSTGRES=required (`.ci/run` sets it) makes a server that does not answer an error
rather than a skipped half. Stopped by SIGTERM or Ctrl-C, it still drops what it made.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

# Read by tests/conftest.py for the summary line.
ABSENT_ENV = "FORUM_TEST_POSTGRES_ABSENT"
URL_ENV = "FORUM_TEST_DATABASE_URL"
CONNECT_SECONDS = 2.0


def _server() -> tuple[str, str, str]:
    return (
        os.environ.get("PGHOST", "127.0.0.1"),
        os.environ.get("PGPORT", "5432"),
        os.environ.get("PGUSER", "postgres"),
    )


def _admin_dsn() -> str:
    host, port, user = _server()
    return f"postgresql://{user}@{host}:{port}/postgres"


async def _execute(statements: list[str], *args: str) -> list[str]:
    """Run statements on the server's `postgres` database (each with `args`); the rows' first
    column of the last one."""
    import asyncpg

    conn = await asyncpg.connect(_admin_dsn(), timeout=CONNECT_SECONDS)
    try:
        rows: list[str] = []
        for statement in statements:
            rows = [str(r[0]) for r in await conn.fetch(statement, *args)]
        return rows
    finally:
        await conn.close()


def create_database() -> str:
    """Create a fresh database on the server; its name. Raises OSError (or asyncpg's
    errors) when the server does not answer or refuses."""
    name = f"forum_test_{int(time.time())}_{os.getpid()}"
    asyncio.run(_execute([f'CREATE DATABASE "{name}"']))
    return name


def drop_databases(name: str) -> list[str]:
    """Drop `name` and every database whose name starts with it and an underscore."""

    async def drop() -> list[str]:
        found = await _execute(
            ["SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $1 || '\\_%'"],
            name,
        )
        await _execute([f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)' for db in found] or [])
        return found

    return asyncio.run(drop())


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: test_database.py COMMAND [ARG...]", file=sys.stderr)
        return 2
    env = dict(os.environ)
    if env.get(URL_ENV) or env.get("FORUM_TEST_POSTGRES") == "no":
        return subprocess.call(argv, env=env)  # noqa: S603  # the caller's own command
    host, port, user = _server()
    try:
        name = create_database()
    except Exception as exc:
        why = f"no PostgreSQL server answered at {user}@{host}:{port} ({exc})"
        if env.get("FORUM_TEST_POSTGRES") == "required":
            print(f"test_database.py: {why}", file=sys.stderr)
            return 2
        env[ABSENT_ENV] = why
        return subprocess.call(argv, env=env)  # noqa: S603  # the caller's own command
    env[URL_ENV] = f"postgres://{user}@{host}:{port}/{name}"
    print(f"PostgreSQL half: throwaway database {name} on {host}:{port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` runs
    try:
        return subprocess.call(argv, env=env)  # noqa: S603  # the caller's own command
    finally:
        dropped = drop_databases(name)
        print(f"Dropped {len(dropped)} test database(s) named {name}*", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
