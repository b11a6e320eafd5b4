"""The committed migrations build the schema the models describe, on both databases."""

from __future__ import annotations

import os
import uuid
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
    import asyncpg

    name = f"forum_mig_{uuid.uuid4().hex[:10]}"
    base = PG_URL.replace("postgresql://", "postgres://", 1)
    server = base.rsplit("/", 1)[0]
    conn = await asyncpg.connect(server.replace("postgres://", "postgresql://", 1) + "/postgres")
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        await _upgrade_twice_and_use(f"{server}/{name}", tmp_path)
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


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
