"""`forum backup`, and restoring what it wrote, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from forum import db
from forum.config import DatabaseSettings, load_settings
from forum.ops.backup import BackupError, backup
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


async def test_sqlite_backup_restores_to_the_same_content(tmp_path: Path) -> None:
    live = tmp_path / "live.sqlite3"
    settings = replace(
        load_settings(env={}), base_dir=tmp_path, database=DatabaseSettings(url=f"sqlite://{live}")
    )
    await _fill(settings)
    target = backup(settings, tmp_path / "backups" / "forum.sqlite3")
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
        target = backup(settings, tmp_path / "forum.dump")
        assert target.stat().st_size > 0
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
