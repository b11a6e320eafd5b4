"""The change log: what search (and later, notifications) must learn about.

Services append a row in the same transaction as the write it describes, so a change that
was committed is never missed; the search indexer follows this log. Domain code never calls
the search engine directly.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from forum.timeutil import utcnow


class Change(Model):
    id = fields.BigIntField(primary_key=True)
    # "thread", "post", "summary", "network"
    kind = fields.CharField(max_length=16)
    object_id = fields.IntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "changes"


async def record(kind: str, object_id: int, *, using: BaseDBAsyncClient | None = None) -> None:
    """Note that object `kind`/`object_id` changed (created, edited, deleted or moved)."""
    await Change.create(kind=kind, object_id=object_id, created_at=utcnow(), using_db=using)


async def record_many(
    kind: str, object_ids: list[int], *, using: BaseDBAsyncClient | None = None
) -> None:
    """`record` for a batch of objects of one kind, in one INSERT (imports)."""
    now = utcnow()
    rows = [Change(kind=kind, object_id=i, created_at=now) for i in object_ids]
    await Change.bulk_create(rows, using_db=using)


class SearchCursor(Model):
    """How far each search index (one per host folder) has followed the log, for pruning."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=255, unique=True)
    cursor = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "search_cursors"
