"""Scheduled jobs that must run exactly once across every process and host.

A job (digests, weeknote drafts, pruning) is a row; a process runs it only after taking its
lease with one conditional UPDATE, which the database lets exactly one process win. A process
that dies holding a lease loses it when the lease expires.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.models import Model

from forum.timeutil import utcnow

HOLDER = f"{socket.gethostname()}:{os.getpid()}"


class Job(Model):
    name = fields.CharField(max_length=64, primary_key=True)
    last_run_at = fields.DatetimeField(null=True)
    leased_until = fields.DatetimeField(null=True)
    holder = fields.CharField(max_length=200, default="")

    class Meta:
        table = "jobs"


async def _lease(name: str, every: timedelta, lease: timedelta) -> datetime | None:
    """Take the job's lease if it is due and free; returns the time taken, else None."""
    now = utcnow()
    # Another process may make the row at the same moment: either way, it exists after.
    with contextlib.suppress(IntegrityError):
        await Job.get_or_create(name=name)
    job = await Job.get(name=name)
    if job.last_run_at is not None and job.last_run_at + every > now:
        return None
    if job.leased_until is not None and job.leased_until > now:
        return None
    won = await Job.filter(
        name=name, leased_until=job.leased_until, last_run_at=job.last_run_at
    ).update(leased_until=now + lease, holder=HOLDER)
    return now if won else None


async def run_once(
    name: str,
    every: timedelta,
    work: Callable[[], Awaitable[object]],
    *,
    lease: timedelta = timedelta(minutes=10),
) -> bool:
    """Run `work` if the job is due (not run within `every`) and no other process holds it.
    Returns whether this process ran it."""
    started = await _lease(name, every, lease)
    if started is None:
        return False
    try:
        await work()
    except BaseException:
        await Job.filter(name=name, holder=HOLDER).update(leased_until=None)
        raise
    await Job.filter(name=name, holder=HOLDER).update(last_run_at=started, leased_until=None)
    return True
