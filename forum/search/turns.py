"""Fair turns for searches: one client's searches never keep another's waiting behind them.

Whoosh searches in Python, holding the interpreter's lock, so searches in threads at once
share one core: a few at a time is all a process should run. Taking turns in arrival order
(as this forum did) let one client with many slow searches put everyone else behind all of
them. Here each client (an address) has its own line: at most one of its searches runs at a
time, a few more may wait, and a place that comes free goes to the next client in turn
(round robin), not to the next search. Another client's search therefore waits for at most
the searches *already running*, each bounded by the search budget, and usually not at all:
with `at_once` of 2 or more it runs beside the slow one, sharing the core with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


class Busy(Exception):
    """The client already has a search running and as many waiting as it may."""


@dataclass(slots=True)
class _Loop:
    running: set[str] = field(default_factory=set)  # clients with a search running
    lines: OrderedDict[str, deque[asyncio.Future[None]]] = field(default_factory=OrderedDict)


class FairTurns:
    """`async with turns(client):` runs the block when it is this client's turn.

    At most `at_once` blocks run at a time (per event loop: a test's loops and a server's
    each have their own), at most one per client; up to `waiting` more of a client's wait
    in its line, and one more raises Busy at once (unless not `refuse`: it waits too)."""

    def __init__(self, at_once: int, waiting: int) -> None:
        self.at_once = max(1, at_once)
        self.waiting = max(0, waiting)
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Loop]
        self._loops = weakref.WeakKeyDictionary()

    def _state(self) -> _Loop:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _Loop()
        return state

    def waiting_for(self, client: str) -> int:
        """How many of the client's searches are waiting (not running)."""
        line = self._state().lines.get(client)
        return len(line) if line else 0

    @contextlib.asynccontextmanager
    async def __call__(self, client: str, *, refuse: bool = True) -> AsyncIterator[None]:
        state = self._state()
        line = state.lines.get(client)
        free = len(state.running) < self.at_once
        if free and client not in state.running and not line:
            state.running.add(client)
        else:
            waiting = len(line) if line else 0
            if refuse and waiting >= self.waiting:
                raise Busy
            if line is None:
                line = state.lines[client] = deque()  # joins the round at its end
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            line.append(turn)
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():
                    self._release(state, client)  # given the turn as it was cancelled
                else:
                    self._forget(state, client, turn)
                raise
        try:
            yield
        finally:
            self._release(state, client)

    def _forget(self, state: _Loop, client: str, turn: asyncio.Future[None]) -> None:
        line = state.lines.get(client)
        if line is not None:
            with contextlib.suppress(ValueError):
                line.remove(turn)
            if not line:
                del state.lines[client]

    def _release(self, state: _Loop, client: str) -> None:
        state.running.discard(client)
        # Give free places to the clients next in the round that have nothing running.
        while len(state.running) < self.at_once:
            chosen = next((c for c in state.lines if c not in state.running), None)
            if chosen is None:
                return
            line = state.lines.pop(chosen)
            turn = line.popleft()
            if line:
                state.lines[chosen] = line  # back of the round
            if turn.done():
                continue  # cancelled while it waited (its owner is leaving)
            state.running.add(chosen)
            turn.set_result(None)
