"""Work that takes turns: at most N at once in each event loop, the rest wait (not holding
a pool thread) in the order they came."""

from __future__ import annotations

import asyncio
import weakref


class Turns:
    """`async with turns():` — at most `at_once` inside at a time, per event loop (a test's
    loops and a server's each get their own)."""

    def __init__(self, at_once: int) -> None:
        self.at_once = at_once
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._by_loop = weakref.WeakKeyDictionary()

    def __call__(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        turn = self._by_loop.get(loop)
        if turn is None:
            turn = self._by_loop[loop] = asyncio.Semaphore(self.at_once)
        return turn
