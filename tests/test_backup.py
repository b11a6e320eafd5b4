"""`forum backup`, and restoring what it wrote, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from forum import db
from forum.config import DatabaseSettings, load_settings
from forum.ops.backup import BackupError, _dsn, backup
from forum.threads.models import Post, Thread
from tests.conftest import PG_SKIP, PG_URL
from tests.factories import make_member, make_network, make_reply, make_thread


async def _fill(settings) -> None:  # type: ignore[no-untyped-def]
    await db.upgrade(settings)
    async with db.opened(settings):
        network = await make_network("dl")
        author = await make_member(network)
        thread = await make_thread(network, author, title="Kept in the backup")
        await make_reply(thread, author, "A reply that must survive")


async def _counts(settings) -> tuple[int, int, list[str]]:  # type: ignore[no-untyped-def]
    async with db.opened(settings):
        titles = [t.title for t in await Thread.all()]
        return await Thread.all().count(), await Post.all().count(), titles


@contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def test_pg_dump_is_given_the_servers_address_or_socket_and_no_pool_settings() -> None:
    assert _dsn("postgres://forum:pw@db.internal:5432/forum?maxsize=8") == (
        "postgresql://forum@db.internal:5432/forum"
    )
    assert _dsn("postgres://forum:pw@/forum?host=/var/run/postgresql&minsize=2") == (
        "postgresql://forum@/forum?host=%2Fvar%2Frun%2Fpostgresql"
    )


async def test_sqlite_backup_restores_to_the_same_content(tmp_path: Path) -> None:
    live = tmp_path / "live.sqlite3"
    settings = replace(
        load_settings(env={}), base_dir=tmp_path, database=DatabaseSettings(url=f"sqlite://{live}")
    )
    await _fill(settings)
    with _umask(0o022):
        target = backup(settings, tmp_path / "backups" / "forum.sqlite3")
    assert target.stat().st_mode & 0o777 == 0o600  # password hashes: the owner's only
    with pytest.raises(BackupError):
        backup(settings, target)  # never overwrites
    # Restore: the backup file is the database.
    restored = replace(settings, database=DatabaseSettings(url=f"sqlite://{target}"))
    assert await _counts(restored) == (1, 2, ["Kept in the backup"])
    await db.upgrade(restored)  # a restored database migrates like any other


@pytest.mark.postgres
async def test_postgres_backup_restores_with_pg_restore(tmp_path: Path) -> None:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    if shutil.which("pg_restore") is None:
        pytest.skip("pg_restore is not installed")
    from tests.test_migrations import _new_postgres_database

    async with _new_postgres_database() as url:
        settings = replace(
            load_settings(env={}), base_dir=tmp_path, database=DatabaseSettings(url=url)
        )
        await _fill(settings)
        with _umask(0o022):
            target = backup(settings, tmp_path / "forum.dump")
        assert target.stat().st_size > 0
        assert target.stat().st_mode & 0o777 == 0o600
        async with _new_postgres_database() as empty:
            dsn = empty.replace("postgres://", "postgresql://", 1)
            result = await asyncio.to_thread(
                subprocess.run,
                ["pg_restore", "--no-owner", "--dbname", dsn, str(target)],
                capture_output=True,
                text=True,
                check=False,
            )
            assert result.returncode == 0, result.stderr
            restored = replace(settings, database=DatabaseSettings(url=empty))
            assert await _counts(restored) == (1, 2, ["Kept in the backup"])


def test_backup_command_names_the_file(tmp_path: Path) -> None:
    import sys

    config = tmp_path / "config.toml"
    config.write_text('[database]\nurl = "sqlite://forum.sqlite3"\n[security]\ndata_dir = "data"\n')
    run = [sys.executable, "-m", "forum", "--config", str(config)]
    assert subprocess.run([*run, "db", "upgrade"], capture_output=True, check=False).returncode == 0
    done = subprocess.run(
        [*run, "backup", str(tmp_path / "b.sqlite3")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Backed up the database to" in done.stdout
    again = subprocess.run(
        [*run, "backup", str(tmp_path / "b.sqlite3")], capture_output=True, text=True, check=False
    )
    assert again.returncode == 1 and "already exists" in again.stderr
