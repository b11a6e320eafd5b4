"""Rate limits kept in the database, so that every process of a deployment shares them.

A limit is a number of events per window for one key ("login:account:kwame",
"login:address:10.0.0.1"). Keys name what is counted and whose it is: the action, what the
count is per (account, address, email) and the value. Checking a request against several
limits at once — per account *and* per address — is one call:

    from forum import ratelimit

    # Registration: at most REGISTER_PER_ADDRESS new accounts from one address.
    await ratelimit.hit_all([(f"register:address:{address}", ratelimit.REGISTER_PER_ADDRESS)])

    # Password reset: per address, and per email asked for (so one inbox is not flooded).
    await ratelimit.hit_all([
        (f"reset:address:{address}", ratelimit.RESET_PER_ADDRESS),
        (f"reset:email:{email.strip().lower()}", ratelimit.RESET_PER_EMAIL),
    ])

`hit_all` raises RateLimited — recording nothing — when any of the keys is already at its
limit; otherwise it records one event for each. Its message ("Too many attempts. Try again in
N minutes.") is meant for the form, and `retry_after` (seconds) for a Retry-After header; the
web layer's `forum.web.limits.too_many` renders both with status 429. When only failures
should count (logins), `check_all` before the attempt and `record_all` after a failure;
`clear` forgets a key (the right current password clears its failures), and `forgive`
forgets a key's events with those recorded along with them (a successful login forgives its
address's failures on that account, and only those).

Events older than the longest window (MAX_WINDOW) are pruned on about one record in a
hundred, so the table stays small without a scheduled job. Check and record are separate
statements: two requests racing may both pass at the last free place, so a limit can be
overrun by the number of concurrent requests — fine for slowing down guessing and flooding,
which is all these limits are for.
"""

from __future__ import annotations

import math
import random
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise import fields
from tortoise.models import Model

from forum.text import clean
from forum.timeutil import utcnow

# Events are kept this long: no limit may have a longer window.
MAX_WINDOW = timedelta(days=1)
# Share of recorded events that also prune old ones (tests set it to 0 or 1).
PRUNE_CHANCE = 0.01
KEY_MAX = 200


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

    def __post_init__(self) -> None:
        if self.events < 1 or not timedelta(0) < self.window <= MAX_WINDOW:
            raise ValueError(f"a limit needs events >= 1 and a window up to {MAX_WINDOW}")


# Failed logins (forum.web.limits builds the keys; docs/security.md, "Rate limits"). Per
# account, counted per name typed (so an unknown name is limited exactly like a real one and
# the limit does not tell which exist), for browsers that have not logged in to it before;
# a browser that has (its device cookie names the account) is held by its own failures
# only, so a stranger's cannot lock the owner out of their own browsers.
LOGIN_PER_ACCOUNT = Limit(10, timedelta(minutes=15))
LOGIN_PER_DEVICE = Limit(10, timedelta(minutes=15))
# Per address, the accounts failed from it (not the failures): one guesser behind an
# office's one address does not lock the office out of the other accounts, but one
# password tried against many accounts is still bounded.
LOGIN_ACCOUNTS_PER_ADDRESS = Limit(30, timedelta(minutes=15))
# Wrong current passwords typed by someone signed in (changing the password or the address),
# per account: a borrowed or stolen session must not become an unlimited password oracle.
# Only the session's holder can spend it, so it is no lock-out button for strangers.
PASSWORD_CHECK_PER_ACCOUNT = Limit(10, timedelta(minutes=15))
# New threads and replies, per account: generous for people, a brake on a runaway script.
POSTS_PER_ACCOUNT = Limit(30, timedelta(minutes=10))
# Previews (the live preview and the forms' Preview button) and edits, per account: each one
# renders a body, which costs a worker process up to limits.render_time_budget_ms. The live
# preview asks at most every half second of pause in typing, so a writer stays well under.
PREVIEWS_PER_ACCOUNT = Limit(60, timedelta(minutes=5))
EDITS_PER_ACCOUNT = Limit(30, timedelta(minutes=10))
# For the lead's registration and password reset (see the module docstring).
REGISTER_PER_ADDRESS = Limit(5, timedelta(hours=1))
RESET_PER_ADDRESS = Limit(10, timedelta(hours=1))
RESET_PER_EMAIL = Limit(3, timedelta(hours=1))

Rule = tuple[str, Limit]


def _key(key: str) -> str:
    """A key as stored: keys hold what people typed (a login name), so NUL bytes and lone
    surrogates, which PostgreSQL refuses, are cleaned out, and the length is capped."""
    return clean(key)[:KEY_MAX]


class RateLimited(Exception):
    """Too many attempts; `retry_after` is in seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        minutes = math.ceil(self.retry_after / 60)
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"Too many attempts. Try again in {minutes} {unit}.")


async def _wait(key: str, limit: Limit, now: datetime) -> int:
    """Seconds until `key` is under `limit` again; 0 if it is under now."""
    recent: list[Any] = list(
        await RateEvent.filter(key=_key(key), at__gt=now - limit.window)
        .order_by("at")
        .limit(limit.events)
        .values_list("at", flat=True)
    )
    if len(recent) < limit.events:
        return 0
    oldest: datetime = recent[0]
    return int((oldest + limit.window - now).total_seconds()) + 1


async def check_all(rules: Iterable[Rule]) -> None:
    """Raise RateLimited if any key has used up its limit (with the longest wait among
    them), without recording anything."""
    now = utcnow()
    waits = [await _wait(key, limit, now) for key, limit in rules]
    longest = max(waits, default=0)
    if longest:
        raise RateLimited(longest)


async def record_all(keys: Iterable[str]) -> None:
    """Record one event for each key (and now and then prune old events)."""
    now = utcnow()
    await RateEvent.bulk_create([RateEvent(key=_key(key), at=now) for key in keys])
    if random.random() < PRUNE_CHANCE:
        await prune()


async def hit_all(rules: Iterable[Rule]) -> None:
    """Check every rule, then record an event for each key. Raises RateLimited (recording
    nothing) when any key is at its limit."""
    rules = list(rules)
    await check_all(rules)
    await record_all(key for key, _ in rules)


async def check(key: str, limit: Limit) -> None:
    """Raise RateLimited if `key` has used up `limit`, without recording anything."""
    await check_all([(key, limit)])


async def hit(key: str, limit: Limit) -> None:
    """Record an event for `key`; raise RateLimited (recording nothing) when over the limit."""
    await hit_all([(key, limit)])


async def clear(*keys: str) -> None:
    """Forget keys' events (after a successful login, its failures no longer count)."""
    await RateEvent.filter(key__in=[_key(key) for key in keys]).delete()


async def count(key: str, limit: Limit) -> int:
    """How many events `key` has within `limit`'s window."""
    return int(await RateEvent.filter(key=_key(key), at__gt=utcnow() - limit.window).count())


async def forgive(key: str, *along: str) -> None:
    """Forget `key`'s events and, under each key of `along`, the events recorded with them
    (by the same `record_all` call, which gives all its events one instant).

    For a failure counted under several keys at once — per account, and per account and
    address — when the address later proves itself (the right password): its failures
    leave the account's count, while other addresses' stay.
    """
    instants = list(await RateEvent.filter(key=_key(key)).values_list("at", flat=True))
    if instants and along:
        await RateEvent.filter(key__in=[_key(k) for k in along], at__in=instants).delete()
    await RateEvent.filter(key=_key(key)).delete()


async def prune(older_than: timedelta = MAX_WINDOW) -> int:
    """Delete events older than any window in use; returns how many."""
    return int(await RateEvent.filter(at__lt=utcnow() - older_than).delete())


class LocalLimiter:
    """A rate limit kept in this process's memory, for reads (searches).

    The limits above are rows in the database so that every process shares them; that
    suits logins and sign-ups, which write anyway. A search is a read: a database write per
    search would make a flood of searches a flood of writes (on SQLite, one writer at a
    time, holding up posting and logging in), to protect what is in any case per process,
    its interpreter. So this is a token bucket per key in memory: `per_minute` tokens,
    refilled evenly; with N worker processes a key gets N times the allowance, as the
    deployment has N times the capacity. The number of keys kept is bounded (the least
    recently used are forgotten first), so many addresses cannot grow it without end.
    Used from the event loop only (no lock).
    """

    def __init__(self, per_minute: int, keys_kept: int = 10_000) -> None:
        self.capacity = float(max(1, per_minute))
        self.rate = self.capacity / 60.0  # tokens a second
        self.keys_kept = keys_kept
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _level(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (self.capacity, now))
        return min(self.capacity, tokens + (now - at) * self.rate)

    def _store(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.keys_kept:
            self._buckets.popitem(last=False)

    def take(self, key: str, cost: float = 1.0) -> None:
        """Spend `cost` tokens of `key`. Raises RateLimited (spending nothing) when fewer
        than `cost` are left; `retry_after` is when they will be."""
        now = time.monotonic()
        tokens = self._level(key, now)
        if tokens < cost:
            raise RateLimited(math.ceil((cost - tokens) / self.rate))
        self._store(key, tokens - cost, now)

    def charge(self, key: str, cost: float) -> None:
        """Spend `cost` more tokens of `key` after the fact (what a search cost beyond its
        first token), going into debt down to one bucket's worth at most."""
        now = time.monotonic()
        self._store(key, max(-self.capacity, self._level(key, now) - cost), now)
