"""The change log: what search (and later, notifications) must learn about.

Services append a row in the same transaction as the write it describes, so a change that
was committed is never missed; the search indexer follows this log. Domain code never calls
the search engine directly.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model
from tortoise.transactions import in_transaction

from forum import db
from forum.timeutil import utcnow


class Change(Model):
    id = fields.BigIntField(primary_key=True)
    # "thread", "post", "summary", "network", "user"
    kind = fields.CharField(max_length=16)
    object_id = fields.IntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "changes"


# PostgreSQL hands out an entry's id when it is inserted, not when its transaction commits:
# entry 100 may commit after entry 101. A process that read the position 101 while 100 was
# in flight, and kept what it computed then, would go on keeping it after 100 committed. So
# a transaction that appends to the log first takes this advisory lock, shared (writers never
# wait for each other), until it ends; a reader that cannot take it exclusively at once
# (without waiting) knows an entry may be in flight, and keeps nothing computed then: the
# position is *unsettled*. SQLite's writers take turns: its positions are always settled.
APPENDING = 0x666F72756E  # any constant no other advisory lock uses (db.UPGRADE_LOCK: ...6D)
SETTLED = {
    "postgres": f"(CASE WHEN pg_try_advisory_lock({APPENDING})"
    f" THEN pg_advisory_unlock({APPENDING}) ELSE FALSE END)",
    "sqlite": "1",
}
SETTLE_POLL = 0.05  # seconds between readings while waiting for a settled position


@asynccontextmanager
async def _appending(using: BaseDBAsyncClient | None) -> AsyncIterator[BaseDBAsyncClient]:
    """The transaction to append in (`using`'s, or one of its own), holding APPENDING."""
    if using is None:
        async with in_transaction() as conn, _appending(conn) as held:
            yield held
        return
    if using.capabilities.dialect == "postgres":
        await using.execute_query(f"SELECT pg_advisory_xact_lock_shared({APPENDING})")
    yield using


async def record(kind: str, object_id: int, *, using: BaseDBAsyncClient | None = None) -> None:
    """Note that object `kind`/`object_id` changed (created, edited, deleted or moved)."""
    _forget_position()
    async with _appending(using) as conn:
        await Change.create(kind=kind, object_id=object_id, created_at=utcnow(), using_db=conn)


async def record_many(
    kind: str, object_ids: list[int], *, using: BaseDBAsyncClient | None = None
) -> None:
    """`record` for a batch of objects of one kind, in one `bulk_create` (imports): one
    prepared INSERT the driver runs for every row, so any number of rows fits."""
    _forget_position()
    now = utcnow()
    rows = [Change(kind=kind, object_id=i, created_at=now) for i in object_ids]
    async with _appending(using) as conn:
        await Change.bulk_create(rows, using_db=conn)


Position = tuple[int, str]
# A position as read, and whether it was settled (see APPENDING).
Reading = tuple[Position | None, bool]

# Within one request (`per_request`), the position as first read: a page that keeps several
# things until the log moves asks the database once. Emptied by a write to the log.
_request_position: ContextVar[list[Reading] | None] = ContextVar("request_position", default=None)

# The position as this process last read it, and when (time.monotonic()). A request from
# someone not signed in may take it instead of asking (`accept_recent`) while it is younger
# than RECENT: a reader who cannot write sees other people's writes up to RECENT late, and
# a process under heavy anonymous traffic asks a few times a second instead of every page.
# Signed-in requests always read the log (a member sees their own reply at once, whichever
# process answers; `accounts.services.visit`).
RECENT = 0.1
_last_read: tuple[float, Reading] | None = None


@contextmanager
def per_request() -> Iterator[None]:
    """Read the position at most once in this block (one request), unless it writes."""
    token = _request_position.set([])
    try:
        yield
    finally:
        _request_position.reset(token)


def _forget_position() -> None:
    global _last_read
    _last_read = None
    memo = _request_position.get()
    if memo:
        memo.clear()


def _remember(reading: Reading) -> None:
    """A reading just made, for this request and for RECENT in this process."""
    global _last_read
    _last_read = (time.monotonic(), reading)
    memo = _request_position.get()
    if memo is not None:
        memo[:] = [reading]


def seen(latest_id: Any, created_at: Any, settled: Any) -> None:
    """The position as a query read it beside something else (the session's, say, with
    `SETTLED[dialect]`): for this request, as if `position` had asked. Both None: the log
    is empty."""
    at = None if latest_id is None else as_position(latest_id, created_at)
    _remember((at, bool(settled)))


def accept_recent() -> None:
    """Let this request take the position this process read less than RECENT ago (the
    session middleware calls this for requests from someone not signed in)."""
    memo = _request_position.get()
    last = _last_read
    if memo is not None and not memo and last is not None and time.monotonic() - last[0] < RECENT:
        memo.append(last[1])


def as_position(latest_id: Any, created_at: Any) -> Position:
    """A position from the newest entry's id and time as the driver gives them (SQLite:
    ISO text; PostgreSQL: a datetime), the same whichever query read them."""
    when = datetime.fromisoformat(created_at) if isinstance(created_at, str) else created_at
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(latest_id), when.astimezone(UTC).isoformat()


# The newest entry, for `position`, and for a query that reads it beside something else.
LATEST_ID = "(SELECT c.id FROM changes c ORDER BY c.id DESC LIMIT 1)"
LATEST_AT = "(SELECT c.created_at FROM changes c ORDER BY c.id DESC LIMIT 1)"


async def _read() -> Reading:
    latest = await db.fetch_rows(
        f'SELECT "id", "created_at", {SETTLED[db.dialect()]}'  # noqa: S608 (constants)
        ' FROM "changes" ORDER BY "id" DESC LIMIT 1'
    )
    reading: Reading = (as_position(*latest[0][:2]), bool(latest[0][2])) if latest else (None, True)
    _remember(reading)
    return reading


async def _reading() -> Reading:
    memo = _request_position.get()
    return memo[0] if memo else await _read()


async def read_settled(wait: float) -> Reading:
    """The position read afresh (never this request's), and again every SETTLE_POLL seconds
    until it is settled or `wait` seconds have passed: the last reading. For work that must
    not start below an entry still in flight (`search.indexer.rebuild`)."""
    deadline = time.monotonic() + wait
    while True:
        reading = await _read()
        if reading[1] or time.monotonic() >= deadline:
            return reading
        await asyncio.sleep(SETTLE_POLL)


async def position() -> Position | None:
    """Where the log has got to: its latest entry's id and time (the time too: a new
    database, a restore or a test, starts its ids again). None when it is empty."""
    return (await _reading())[0]


async def settled_position() -> Position | None:
    """`position`, or None when an entry below it may still be in flight (APPENDING): what
    is computed then is not to be kept."""
    at, settled = await _reading()
    return at if settled else None


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_EVERY_KEPT: list[UntilChanged[Any, Any]] = []


def forget_everything_kept() -> None:
    """Empty every `UntilChanged` of this process: the next reads compute afresh, as after a
    write (`bench/page_profile.py --cold` measures pages so)."""
    for kept in _EVERY_KEPT:
        kept.forget()


class UntilChanged(Generic[K, V]):
    """Aggregates computed from the database (counts over the whole forum, say), kept in
    this process until the change log moves: every write a page's aggregates depend on
    appends to it, in every process and on every host. The most recent `size` keys; with
    `weigh`, the most recent whose weights add up to at most `size` (the newest is kept
    whatever its weight)."""

    def __init__(self, size: int = 64, *, weigh: Callable[[V], int] | None = None) -> None:
        self.size = size
        self._weigh = weigh
        self._weight = 0
        self._kept: OrderedDict[K, tuple[Position, V, int]] = OrderedDict()
        _EVERY_KEPT.append(self)

    def forget(self) -> None:
        self._kept.clear()
        self._weight = 0

    def discard(self, key: K) -> None:
        """Forget what is kept for `key`: the next `get` computes it afresh."""
        kept = self._kept.pop(key, None)
        if kept is not None:
            self._weight -= kept[2]

    async def get(
        self,
        key: K,
        compute: Callable[[], Awaitable[V]],
        *,
        keep: Callable[[V], bool] | None = None,
    ) -> V:
        """What is kept for `key`, or `compute()`'s value, kept unless `keep` says not."""
        at = await settled_position()
        kept = self._kept.get(key)
        if kept is not None and at is not None and kept[0] == at:
            self._kept.move_to_end(key)
            return kept[1]
        value = await compute()
        if at is not None and (keep is None or keep(value)):
            replaced = self._kept.pop(key, None)  # (another request may have kept it since)
            if replaced is not None:
                self._weight -= replaced[2]
            weight = self._weigh(value) if self._weigh else 1
            self._kept[key] = (at, value, weight)
            self._weight += weight
            while self._weight > self.size and len(self._kept) > 1:
                self._weight -= self._kept.popitem(last=False)[1][2]
        return value


class SearchCursor(Model):
    """How far each search index (one per host folder) has followed the log, for pruning."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=255, unique=True)
    cursor = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "search_cursors"
