"""Rendering user text off the event loop, within a time and a size budget.

:func:`forum.markdown.render` is the one path from user text to HTML, and it is CPU-bound:
run on the event loop, one costly body would hold every other request of the process while
it renders. So every render that a request asks for (previews, new threads and replies,
edits, summaries, knowledge articles, network descriptions) goes through :func:`render`
here, which hands it to a small pool of worker *processes* (threads would still hold the
GIL) and waits for it asynchronously:

* **Time budget.** A render that takes longer than ``limits.render_time_budget_ms`` is
  abandoned: its worker process is killed (it does not go on burning a core) and replaced,
  and the caller gets a :class:`~forum.errors.ValidationError` for the ``body`` field
  saying the post is too complex to format, so the form shows again with the text kept.
* **Size budget.** HTML larger than ``limits.max_html_bytes`` is refused the same way,
  naming the size and the limit (see :class:`forum.markdown.TooLarge`).
* **Pool.** ``limits.render_workers`` processes, started lazily on the first render (from a
  fork server that has already imported the renderer, so starting one costs milliseconds)
  by :func:`start` in the app's lifespan and killed by :func:`stop`. Renders beyond that
  many at once wait their turn, asynchronously.

Without a started pool (the command line: imports, the demo, a test that calls a service
directly) :func:`render` renders inline, with the same size budget but no time budget:
nothing else is waiting on that process.

This module is domain code: it knows nothing of Starlette.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from forum import markdown
from forum.config import LimitSettings
from forum.errors import ValidationError
from forum.markdown import Rendered, TooLarge

__all__ = ["RenderPool", "render", "start", "stop", "too_complex_message"]

log = logging.getLogger(__name__)

_DEFAULT_LIMITS = LimitSettings()


def too_complex_message(budget_ms: int) -> str:
    return (
        "This post is too complex to format (it took more than "
        f"{budget_ms / 1000:g} seconds). Simplify it: less deeply nested formatting, fewer "
        "links and mentions, or split it into several posts."
    )


def too_large_message(exc: TooLarge) -> str:
    return (
        f"Formatted, this post would take {exc.size:,} bytes or more; the limit is "
        f"{exc.limit:,}. Mentions, links and formatting take room: use fewer of them, or "
        "split it into several posts."
    )


def _render_in_worker(source: str, max_html_bytes: int) -> Rendered:
    return markdown.render(source, max_html_bytes=max_html_bytes)


def _context() -> Any:
    """A fork server that has already imported the renderer: workers start in milliseconds
    and are not forks of a process running an event loop and database threads."""
    ctx = multiprocessing.get_context("forkserver")
    # "__main__" too: each worker would otherwise import the main script again (for
    # `forum serve`, the whole command line) before it could render anything.
    ctx.set_forkserver_preload(["__main__", "forum.markdown", "forum.rendering"])
    return ctx


#: Render workers run at a lower CPU priority than the server: when renders keep every core
#: busy, the event loop (pages, searches) still gets the CPU first.
WORKER_NICENESS = 10


def _lower_priority() -> None:
    with contextlib.suppress(OSError, AttributeError):
        os.nice(WORKER_NICENESS)


class _Slot:
    """One worker process (started on first use), replaced whole when it must be killed."""

    def __init__(self) -> None:
        self.executor = ProcessPoolExecutor(
            max_workers=1, mp_context=_context(), initializer=_lower_priority
        )

    def submit(self, fn: Callable[..., Rendered], *args: Any) -> Future[Rendered]:
        return self.executor.submit(fn, *args)

    def pids(self) -> list[int]:
        processes = getattr(self.executor, "_processes", None) or {}
        return [p.pid for p in processes.values() if p.pid is not None]

    def kill(self) -> None:
        processes = getattr(self.executor, "_processes", None) or {}
        for process in list(processes.values()):
            with contextlib.suppress(OSError, ValueError):  # already gone
                process.kill()
        self.executor.shutdown(wait=False, cancel_futures=True)
        for process in list(processes.values()):
            process.join(timeout=5)


class RenderPool:
    """``workers`` render processes; each render gets ``budget_ms`` of one of them."""

    def __init__(
        self,
        *,
        workers: int,
        budget_ms: int,
        target: Callable[[str, int], Rendered] = _render_in_worker,
    ) -> None:
        self.budget_ms = budget_ms
        self.target = target  # tests pass a deliberately slow one
        self._slots: asyncio.Queue[_Slot] = asyncio.Queue()
        self._all: list[_Slot] = []
        for _ in range(workers):
            slot = _Slot()
            self._all.append(slot)
            self._slots.put_nowait(slot)
        #: Worker processes killed for running over budget (for tests and metrics).
        self.killed = 0

    def pids(self) -> list[int]:
        return [pid for slot in self._all for pid in slot.pids()]

    def _replace(self, slot: _Slot) -> _Slot:
        slot.kill()
        self.killed += 1
        fresh = _Slot()
        self._all[self._all.index(slot)] = fresh
        return fresh

    async def render(self, source: str, max_html_bytes: int) -> Rendered:
        """Render in a worker; raise TimeoutError past the budget (the worker is killed)."""
        slot = await self._slots.get()
        try:
            future = slot.submit(self.target, source, max_html_bytes)
            try:
                return await asyncio.wait_for(
                    asyncio.wrap_future(future), timeout=self.budget_ms / 1000
                )
            except (TimeoutError, asyncio.CancelledError, BrokenProcessPool):
                # Over budget, the caller went away, or the worker died (out of memory):
                # either way it must not go on rendering for nobody.
                slot = self._replace(slot)
                raise
        finally:
            self._slots.put_nowait(slot)

    def close(self) -> None:
        for slot in self._all:
            slot.kill()
        self._all.clear()


_pool: RenderPool | None = None
_starts = 0


def start(limits: LimitSettings) -> None:
    """Called by the app's lifespan: renders from now on go to worker processes."""
    global _pool, _starts
    _starts += 1
    if _pool is None:
        _pool = RenderPool(workers=limits.render_workers, budget_ms=limits.render_time_budget_ms)


def stop() -> None:
    """Called when the app's lifespan ends: the last one out kills the workers."""
    global _pool, _starts
    _starts = max(0, _starts - 1)
    if _starts == 0 and _pool is not None:
        _pool.close()
        _pool = None


def pool() -> RenderPool | None:
    return _pool


async def render(source: str, limits: LimitSettings = _DEFAULT_LIMITS) -> Rendered:
    """Render user-written Markdown within the budgets.

    Raises ValidationError({"body": …}) when the post is too complex to format in time or
    its HTML would be too large; the message says which and what to do.
    """
    try:
        if _pool is None:
            return markdown.render(source, max_html_bytes=limits.max_html_bytes)
        try:
            return await _pool.render(source, limits.max_html_bytes)
        except (TimeoutError, BrokenProcessPool):
            log.warning("A render took longer than %d ms; its worker was killed", _pool.budget_ms)
            raise ValidationError({"body": too_complex_message(_pool.budget_ms)}) from None
    except TooLarge as exc:
        raise ValidationError({"body": too_large_message(exc)}) from None
