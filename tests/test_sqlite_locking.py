"""Several processes on one SQLite file: a transaction that reads and then writes is not
refused because another process wrote in between (forum.db begins them IMMEDIATE)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from tortoise.context import tortoise_test_context
from tortoise.transactions import in_transaction

from forum.db import MODEL_MODULES
from forum.ratelimit import RateEvent
from forum.timeutil import utcnow


async def test_read_then_write_waits_for_another_writer_instead_of_failing(
    tmp_path: Path,
) -> None:
    async with tortoise_test_context(MODEL_MODULES, db_url=f"sqlite://{tmp_path}/forum.sqlite3"):
        await _read_then_write(tmp_path)


async def _read_then_write(tmp_path: Path) -> None:
    other_done = threading.Event()
    other_error: list[BaseException] = []

    def other_process_writes() -> None:
        # Another process's connection: it waits (up to its timeout) for our transaction.
        try:
            with sqlite3.connect(tmp_path / "forum.sqlite3", timeout=10) as other:
                other.execute(
                    "INSERT INTO rate_events (key, at) VALUES ('other', ?)", (utcnow().isoformat(),)
                )
        except BaseException as exc:
            other_error.append(exc)
        finally:
            other_done.set()

    async with in_transaction():
        assert await RateEvent.filter(key="ours").count() == 0  # the read
        thread = threading.Thread(target=other_process_writes)
        thread.start()
        await asyncio.sleep(0.3)  # the other writer would have committed by now
        assert not other_done.is_set(), "another process wrote inside our transaction"
        await RateEvent.create(key="ours", at=utcnow())  # the write after the read
    await asyncio.to_thread(thread.join, 15)
    assert other_error == []
    assert await RateEvent.filter(key__in=["ours", "other"]).count() == 2
