"""Rate limits kept in the database, so that every process of a deployment shares them.

A limit is a number of events per window for one key ("login:user:kwame", "login:ip:10.0.0.1").
`hit` records an event and raises RateLimited, with the wait, when the key is over its limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise import fields
from tortoise.models import Model

from forum.timeutil import utcnow


class RateEvent(Model):
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=200)
    at = fields.DatetimeField()

    class Meta:
        table = "rate_events"
        indexes = (("key", "at"),)


@dataclass(frozen=True, slots=True)
class Limit:
    events: int
    window: timedelta


class RateLimited(Exception):
    """Too many attempts; `retry_after` is in seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        minutes = math.ceil(self.retry_after / 60)
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"Too many attempts. Try again in {minutes} {unit}.")


async def check(key: str, limit: Limit) -> None:
    """Raise RateLimited if `key` has used up `limit`, without recording anything."""
    now = utcnow()
    since = now - limit.window
    recent: list[Any] = list(
        await RateEvent.filter(key=key[:200], at__gt=since)
        .order_by("at")
        .limit(limit.events)
        .values_list("at", flat=True)
    )
    if len(recent) >= limit.events:
        oldest: datetime = recent[0]
        raise RateLimited(int((oldest + limit.window - now).total_seconds()) + 1)


async def hit(key: str, limit: Limit) -> None:
    """Record an event for `key`; raise RateLimited (recording nothing) when over the limit."""
    await check(key, limit)
    await RateEvent.create(key=key[:200], at=utcnow())


async def clear(key: str) -> None:
    """Forget a key's events (after a successful login, its failures no longer count)."""
    await RateEvent.filter(key=key[:200]).delete()


async def prune(older_than: timedelta = timedelta(days=1)) -> int:
    """Delete events older than any window in use."""
    return int(await RateEvent.filter(at__lt=utcnow() - older_than).delete())
