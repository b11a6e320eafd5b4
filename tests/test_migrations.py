"""The committed migrations build the schema the models describe, on both databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector

from forum import db
from forum.config import DatabaseSettings, load_settings
from tests.conftest import PG_SKIP, PG_URL


async def test_models_and_migrations_agree() -> None:
    """`makemigrations` would write nothing: every model change has its migration."""
    config = db.tortoise_config("sqlite://:memory:")
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        assert ctx.apps is not None
        detector = MigrationAutodetector(ctx.apps, config["apps"])
        writers = await detector.changes()
    assert writers == [], (
        "models changed without a migration: run `tortoise -c forum.db.TORTOISE_ORM makemigrations`"
    )


async def _upgrade_twice_and_use(url: str, tmp_path: Path) -> None:
    settings = replace(load_settings(env={}), base_dir=tmp_path, database=DatabaseSettings(url=url))
    await db.upgrade(settings)
    await db.upgrade(settings)  # idempotent: nothing left to apply
    async with db.opened(settings):
        from tests.factories import make_member, make_network, make_thread

        network = await make_network()
        await make_thread(network, await make_member(network))


async def test_migrations_apply_to_an_empty_sqlite_database(tmp_path: Path) -> None:
    await _upgrade_twice_and_use(f"sqlite://{tmp_path}/fresh.sqlite3", tmp_path)


@pytest.mark.postgres
async def test_migrations_apply_to_an_empty_postgres_database(tmp_path: Path) -> None:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    async with _new_postgres_database() as url:
        await _upgrade_twice_and_use(url, tmp_path)


@asynccontextmanager
async def _new_postgres_database() -> AsyncIterator[str]:
    """An empty database on the test server, dropped afterwards: its URL."""
    import asyncpg

    name = f"forum_mig_{uuid.uuid4().hex[:10]}"
    base = PG_URL.replace("postgresql://", "postgres://", 1)
    server = base.rsplit("/", 1)[0]
    conn = await asyncpg.connect(server.replace("postgres://", "postgresql://", 1) + "/postgres")
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


# Rows written by the schema of migration 0002 (plain SQL: today's models have more columns).
_OLD_ROWS = [
    "INSERT INTO users (id, username, email, display_name, password_hash, is_admin, is_active,"
    " created_at) VALUES (1, 'ada', 'ada@example.org', 'Ada', '', FALSE, TRUE,"
    " '2026-01-05 10:00:00+00:00')",
    "INSERT INTO networks (id, slug, name, description, description_html, visibility,"
    " created_at) VALUES (1, 'dl', 'Data Leaders', '', '', 'public', '2026-01-05 10:00:00+00:00')",
    "INSERT INTO threads (id, ref, network_id, title, slug, author_id, created_at,"
    " last_activity_at, reply_count, pinned, locked) VALUES (1, 't-1', 1, 'Old', 'old', 1,"
    " '2026-01-05 10:00:00+00:00', '2026-01-05 10:00:00+00:00', 0, FALSE, TRUE)",
    "INSERT INTO posts (id, ref, thread_id, author_id, body, body_html, body_text, created_at,"
    " deleted) VALUES (1, 'p-1', 1, 1, 'Hi', '<p>Hi</p>', 'Hi', '2026-01-05 10:00:00+00:00',"
    " FALSE)",
]


async def _upgrade_a_database_with_data(url: str, tmp_path: Path) -> None:
    """Each migration after 0002 applies to a database that already holds threads and posts
    (a new NOT NULL column needs a default in the database, not only in Python)."""
    from tortoise.migrations.api.migrate import migrate

    from forum.threads.models import Post, Thread

    settings = replace(load_settings(env={}), base_dir=tmp_path, database=DatabaseSettings(url=url))
    await migrate(config=db.tortoise_config(url), target="models.0002_search_cursors")
    await db.close()
    async with db.opened(settings):
        for statement in _OLD_ROWS:
            await db.connection().execute_script(statement)
    await db.upgrade(settings)
    async with db.opened(settings):
        thread = await Thread.get(id=1)
        post = await Post.get(id=1)
        assert thread.locked and thread.lock_reason == ""
        assert not post.hidden and post.hidden_note == "" and post.redacted_at is None
        # 0004: accounts from before email confirmation keep writing; networks stay open.
        from forum.accounts.models import User
        from forum.networks.models import JoinPolicy, Network

        user = await User.get(id=1)
        assert user.email_verified_at == user.created_at
        assert (await Network.get(id=1)).join_policy == JoinPolicy.OPEN


async def test_migrations_upgrade_a_sqlite_database_that_holds_data(tmp_path: Path) -> None:
    await _upgrade_a_database_with_data(f"sqlite://{tmp_path}/old.sqlite3", tmp_path)


@pytest.mark.postgres
async def test_migrations_upgrade_a_postgres_database_that_holds_data(tmp_path: Path) -> None:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    async with _new_postgres_database() as url:
        await _upgrade_a_database_with_data(url, tmp_path)


def test_sqlite_runs_with_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    settings = replace(load_settings(env={}), base_dir=tmp_path)
    assert "busy_timeout=10000" in settings.database_url
    assert os.path.isabs(settings.database_url.removeprefix("sqlite://").split("?")[0])


async def test_sqlite_pragmas_are_in_force(tmp_path: Path) -> None:
    settings = replace(
        load_settings(env={}),
        base_dir=tmp_path,
        database=DatabaseSettings(url=f"sqlite://{tmp_path}/p.sqlite3"),
    )
    await db.upgrade(settings)
    async with db.opened(settings):
        conn = db.connection()
        assert (await conn.execute_query_dict("PRAGMA journal_mode"))[0]["journal_mode"] == "wal"
        assert (await conn.execute_query_dict("PRAGMA foreign_keys"))[0]["foreign_keys"] == 1
        assert (await conn.execute_query_dict("PRAGMA busy_timeout"))[0]["timeout"] == 10000


@pytest.mark.postgres
async def test_hosts_upgrading_at_once_take_turns(tmp_path: Path) -> None:
    """Several hosts starting together each run `forum db upgrade` (the systemd unit does):
    all succeed, the schema is whole, and a post's HTML is kept in its row (migration 0006)."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    import asyncio
    import sys

    import asyncpg

    async with _new_postgres_database() as url:
        env = {**os.environ, "FORUM_DATABASE_URL": url}
        upgrades = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "forum",
                "db",
                "upgrade",
                env=env,
                cwd=tmp_path,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            for _ in range(3)
        ]
        outputs = [(await p.communicate())[0].decode() for p in upgrades]
        assert [p.returncode for p in upgrades] == [0, 0, 0], outputs
        conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        try:
            storage = await conn.fetchval(
                "SELECT attstorage FROM pg_attribute"
                " WHERE attrelid = 'posts'::regclass AND attname = 'body_html'"
            )
            applied = await conn.fetchval("SELECT count(*) FROM tortoise_migrations")
        finally:
            await conn.close()
        assert storage == b"m"
        assert applied == len(list((Path(db.__file__).parent / "migrations").glob("0*.py")))
