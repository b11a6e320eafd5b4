"""A search's time budget, checked wherever Whoosh reads postings.

Whoosh does its work in Python, reading each term's postings block by block (about a hundred
documents a block). `patches.apply` makes every block read call `check()`, so a search that
has used up its budget stops within one block of any matcher, however the query is built:
phrases scanning documents that never match, ORs of common words, sorting by date. Our own
loops that do not read blocks call `check()` too. The budget is per thread (each search runs
in its own worker thread); outside `armed(...)` nothing is ever stopped.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator


class OutOfTime(Exception):
    """The search in this thread used up its budget; what it found so far stands."""


class Budget:
    """`seconds` of wall-clock time from when it is made. Once spent, every further read of
    postings raises again, so nothing after the first OutOfTime can run on: the partial
    answer is put together from what was found, without reading postings."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = clock()
        self.deadline = self.started + seconds if seconds > 0 else math.inf
        self.stopped = False  # the search was cut short (OutOfTime was raised)

    def elapsed(self) -> float:
        return clock() - self.started

    def expired(self) -> bool:
        return clock() > self.deadline


_local = threading.local()
clock = time.monotonic  # what the budget is measured by (a test may set another)


@contextlib.contextmanager
def armed(budget: Budget) -> Iterator[Budget]:
    """Make `budget` the one `check()` enforces in this thread, for the block."""
    previous = getattr(_local, "budget", None)
    _local.budget = budget
    try:
        yield budget
    finally:
        _local.budget = previous


def check() -> None:
    """Raise OutOfTime when this thread's budget is used up (and mark it stopped)."""
    budget: Budget | None = getattr(_local, "budget", None)
    if budget is not None and clock() > budget.deadline:
        budget.stopped = True
        raise OutOfTime


def stopped() -> bool:
    """Whether this thread's search has run out of time."""
    budget: Budget | None = getattr(_local, "budget", None)
    return budget is not None and budget.stopped
