"""The work every server process does beside its requests, once a second.

- emails for new reply and mention notifications (each claimed by one process);
- the digests, the search change log and rate-limit pruning (each under a database lease,
  so once across every process and host: `forum.jobs`);
- delivering the outbox (each message claimed by one process: `forum.mail.sender`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from forum import jobs, ratelimit
from forum.config import Settings
from forum.mail import sender
from forum.notifications import emails

log = logging.getLogger("forum.background")

DIGEST_CHECK = timedelta(minutes=10)
PRUNE_EVERY = timedelta(hours=1)


async def one_round(settings: Settings) -> None:
    """Everything that is due now, once."""
    await emails.send_pending(quiet=timedelta(minutes=settings.email.quiet_minutes))
    await jobs.run_once(
        "digests", DIGEST_CHECK, lambda: emails.send_digests(site_name=settings.site.name)
    )
    await jobs.run_once("prune-rate-limits", PRUNE_EVERY, ratelimit.prune)
    await sender.deliver_due(settings)


async def run(settings: Settings, stop: asyncio.Event, *, interval: float = 1.0) -> None:
    """Run rounds until `stop` is set; a failed round is logged and the next one tried."""
    while not stop.is_set():
        try:
            await one_round(settings)
        except Exception:  # the database may be away for a moment: keep going
            log.exception("background round failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def finish(task: asyncio.Task[None], *, within: float = 10.0) -> None:
    """Wait for the loop to notice `stop`, or cancel it after `within` seconds: a round may
    be in the middle of a week's digests for thousands of people, paced to half a core, and
    a server told to stop must not wait minutes for it. Cancelled work was in a transaction
    (rolled back) or not yet begun; the next round does it."""
    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=within)
