"""What the web layer calls: search off the event loop, bounded and fair.

Every search is bounded whatever it asks for: the query's caps (forum.search.syntax), a time
budget after which it gives what it found so far (forum.search.budget), a page limit, a
per-client rate (`LocalLimiter`) and fair turns per client (forum.search.turns), so that one
client's slow searches cannot hold other people's.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from forum.config import SearchSettings
from forum.ratelimit import LocalLimiter, RateLimited
from forum.search import execute
from forum.search.index import IndexUnavailable, Reader
from forum.search.results import Hit, Outcome
from forum.search.syntax import MAX_OR, MAX_PAGE, Filters, clean_text, is_searchable
from forum.search.turns import Busy, FairTurns

log = logging.getLogger("forum.search")

PER_PAGE = 20


class SearchRefused(Exception):
    """Not searched: this client is over its rate, or already has searches running and
    waiting. `retry_after` in seconds; the message is for the person."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


@dataclass(frozen=True, slots=True)
class SearchPage:
    text: str
    total: int
    page: int
    pages: int
    hits: list[Hit]
    any_word: bool
    suggestion: str | None
    notes: list[str]
    unavailable: bool = False
    since: datetime | None = None  # a broad query searched only documents from then on
    stopped_after: float | None = None  # seconds: the budget ran out; what was found so far


class SearchService:
    def __init__(self, index_dir: Path, settings: SearchSettings | None = None) -> None:
        settings = settings or SearchSettings()
        self.reader = Reader(index_dir)
        self.budget_seconds = settings.time_budget_ms / 1000
        # Whoosh searches in Python, holding the interpreter's lock: searches in threads at
        # once share one core. A few at once (one per client), the rest in fair turns.
        self.turns = FairTurns(settings.searches_at_once, settings.searches_waiting_per_client)
        self.limiter = LocalLimiter(settings.searches_per_minute)

    async def search(
        self,
        text: str,
        *,
        network_ids: list[int],
        filters: Filters | None = None,
        sort: str = "relevance",
        page: int = 1,
        per_page: int = PER_PAGE,
        answers_first: bool = True,
        still_wanted: Callable[[], Awaitable[bool]] | None = None,
        client: str | None = None,
    ) -> SearchPage:
        """Search what the viewer may read (`network_ids`). Never raises for bad input; an
        unusable index gives an empty page marked unavailable. When its turn comes, a search
        that is no longer `still_wanted` (its asker has gone) gives an empty page at once.

        `client` (an address) is whose search this is: it takes turns with other clients'
        searches fairly and is counted against the client's rate, and its time is charged
        to it. Raises SearchRefused when the client is over its rate or already has its
        searches running and waiting. Without a client (the CLI, internal callers) the
        search waits its turn and is never refused."""
        notes: list[str] = []
        if page > MAX_PAGE:
            notes.append(f"Only the first {MAX_PAGE} pages of results can be shown.")
        page = max(1, min(page, MAX_PAGE))
        filters = filters or Filters()
        key = f"search:{client}" if client is not None else ""
        if client is not None:
            try:
                self.limiter.take(key)
            except RateLimited as exc:
                raise SearchRefused(
                    "Too many searches from your address. "
                    f"Try again in {_seconds(exc.retry_after)}.",
                    exc.retry_after,
                ) from None

        def blocking() -> Outcome:
            with self.reader.use() as searcher:
                return execute.run(
                    searcher,
                    text,
                    network_ids=network_ids,
                    filters=filters,
                    sort=sort,
                    page=page,
                    per_page=per_page,
                    answers_first=answers_first,
                    budget_seconds=self.budget_seconds,
                )

        started = time.monotonic()
        try:
            async with self.turns(key, refuse=client is not None):
                if still_wanted is not None and not await still_wanted():
                    return SearchPage(text, 0, 1, 1, [], False, None, [])
                started = time.monotonic()
                try:
                    outcome = await asyncio.to_thread(blocking)
                finally:
                    if client is not None:
                        # A search costs a token, and a token more for each second it ran:
                        # slow searches use up the allowance sooner than quick ones.
                        self.limiter.charge(key, time.monotonic() - started)
        except Busy:
            wait = math.ceil(self.budget_seconds) or 1
            raise SearchRefused(
                "Your earlier searches are still running. Wait for them to finish, then try again.",
                wait,
            ) from None
        except IndexUnavailable as exc:
            log.warning("search unavailable: %s", exc)
            return SearchPage(text, 0, 1, 1, [], False, None, notes, unavailable=True)
        pages = max(1, min(MAX_PAGE, -(-outcome.total // per_page)))
        return SearchPage(
            text=text,
            total=outcome.total,
            page=min(page, pages),
            pages=pages,
            hits=outcome.hits,
            any_word=outcome.any_word,
            suggestion=outcome.suggestion,
            notes=notes + outcome.notes,
            since=outcome.since,
            stopped_after=outcome.stopped_after,
        )

    async def similar_threads(
        self, title: str, *, network_ids: list[int], limit: int = 5, client: str | None = None
    ) -> list[Hit]:
        """Threads whose title or summary looks like `title` (any word may match). Raises
        SearchRefused as `search` does."""
        meaningful = [w for w in clean_text(title).split() if is_searchable(w)]
        words = " OR ".join(meaningful[:MAX_OR])
        if not words.strip():
            return []
        result = await self.search(
            words,
            network_ids=network_ids,
            page=1,
            per_page=limit,
            answers_first=False,
            client=client,
        )
        return result.hits[:limit]

    def close(self) -> None:
        self.reader.close()


def _seconds(seconds: int) -> str:
    return "1 second" if seconds == 1 else f"{seconds} seconds"
