"""The change log: what search (and later, notifications) must learn about.

Services append a row in the same transaction as the write it describes, so a change that
was committed is never missed; the search indexer follows this log. Domain code never calls
the search engine directly.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from forum.timeutil import utcnow


class Change(Model):
    id = fields.BigIntField(primary_key=True)
    # "thread", "post", "summary", "network", "user"
    kind = fields.CharField(max_length=16)
    object_id = fields.IntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "changes"


async def record(kind: str, object_id: int, *, using: BaseDBAsyncClient | None = None) -> None:
    """Note that object `kind`/`object_id` changed (created, edited, deleted or moved)."""
    _forget_position()
    await Change.create(kind=kind, object_id=object_id, created_at=utcnow(), using_db=using)


async def record_many(
    kind: str, object_ids: list[int], *, using: BaseDBAsyncClient | None = None
) -> None:
    """`record` for a batch of objects of one kind, in one INSERT (imports)."""
    _forget_position()
    now = utcnow()
    rows = [Change(kind=kind, object_id=i, created_at=now) for i in object_ids]
    await Change.bulk_create(rows, using_db=using)


Position = tuple[int, str]

# Within one request (`per_request`), the position as first read: a page that keeps several
# things until the log moves asks the database once. Emptied by a write to the log.
_request_position: ContextVar[list[Position | None] | None] = ContextVar(
    "request_position", default=None
)


@contextmanager
def per_request() -> Iterator[None]:
    """Read the position at most once in this block (one request), unless it writes."""
    token = _request_position.set([])
    try:
        yield
    finally:
        _request_position.reset(token)


def _forget_position() -> None:
    memo = _request_position.get()
    if memo:
        memo.clear()


async def position() -> Position | None:
    """Where the log has got to: its latest entry's id and time (the time too: a new
    database, a restore or a test, starts its ids again). None when it is empty."""
    memo = _request_position.get()
    if memo:
        return memo[0]
    latest = await Change.all().order_by("-id").limit(1).values("id", "created_at")
    at = (int(latest[0]["id"]), str(latest[0]["created_at"])) if latest else None
    if memo is not None:
        memo.append(at)
    return at


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
    appends to it, in every process and on every host. The most recent `size` keys."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._kept: OrderedDict[K, tuple[Position, V]] = OrderedDict()
        _EVERY_KEPT.append(self)

    def forget(self) -> None:
        self._kept.clear()

    async def get(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        at = await position()
        kept = self._kept.get(key)
        if kept is not None and at is not None and kept[0] == at:
            self._kept.move_to_end(key)
            return kept[1]
        value = await compute()
        if at is not None:
            self._kept[key] = (at, value)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return value


class SearchCursor(Model):
    """How far each search index (one per host folder) has followed the log, for pruning."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=255, unique=True)
    cursor = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "search_cursors"
