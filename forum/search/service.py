"""What the web layer calls: search off the event loop, one reader per process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from forum.search import query
from forum.search.index import IndexUnavailable, Reader
from forum.search.query import Filters, Hit
from forum.turns import Turns

log = logging.getLogger("forum.search")

PER_PAGE = 20

# Whoosh searches in Python, holding the interpreter's lock: several searches in threads at
# once only take turns on it, each finishing as late as the last. One at a time per process
# finishes the first soonest; the others wait in order, and one whose asker has gone by its
# turn is not run (`still_wanted`).
SEARCHES_AT_ONCE = 1
_turn = Turns(SEARCHES_AT_ONCE)


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


class SearchService:
    def __init__(self, index_dir: Path) -> None:
        self.reader = Reader(index_dir)

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
    ) -> SearchPage:
        """Search what the viewer may read (`network_ids`). Never raises for bad input; an
        unusable index gives an empty page marked unavailable. When its turn comes, a search
        that is no longer `still_wanted` (its asker has gone) gives an empty page at once."""
        page = max(1, min(page, 500))
        filters = filters or Filters()

        def blocking() -> query.Outcome:
            with self.reader.use() as searcher:
                return query.run(
                    searcher,
                    text,
                    network_ids=network_ids,
                    filters=filters,
                    sort=sort,
                    page=page,
                    per_page=per_page,
                    answers_first=answers_first,
                )

        try:
            async with _turn():
                if still_wanted is not None and not await still_wanted():
                    return SearchPage(text, 0, 1, 1, [], False, None, [])
                outcome = await asyncio.to_thread(blocking)
        except IndexUnavailable as exc:
            log.warning("search unavailable: %s", exc)
            return SearchPage(text, 0, 1, 1, [], False, None, [], unavailable=True)
        pages = max(1, -(-outcome.total // per_page))
        return SearchPage(
            text=text,
            total=outcome.total,
            page=min(page, pages),
            pages=pages,
            hits=outcome.hits,
            any_word=outcome.any_word,
            suggestion=outcome.suggestion,
            notes=outcome.notes,
            since=outcome.since,
        )

    async def similar_threads(
        self, title: str, *, network_ids: list[int], limit: int = 5
    ) -> list[Hit]:
        """Threads whose title or summary looks like `title` (any word may match)."""
        words = " OR ".join(w for w in query.clean_text(title).split()[:12] if ":" not in w)
        if not words.strip():
            return []
        result = await self.search(
            words, network_ids=network_ids, page=1, per_page=limit, answers_first=False
        )
        return result.hits[:limit]

    def close(self) -> None:
        self.reader.close()
