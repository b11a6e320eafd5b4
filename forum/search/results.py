"""What a search gives back: the results the web layer shows.

Kept apart from the machinery that finds them (and free of Whoosh), so that `forum.web` and
`forum.search.service` can name a result without reaching into the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup


@dataclass(frozen=True, slots=True)
class Hit:
    doc_id: str
    kind: str
    thread_id: int
    post_id: int
    title: str
    network: str
    network_id: int
    author: str
    author_name: str
    org_name: str
    created: datetime
    snippet: Markup
    more: int  # other matching documents in the same thread


@dataclass(frozen=True, slots=True)
class Outcome:
    total: int
    hits: list[Hit]
    any_word: bool  # nothing matched every word; these match any of them
    suggestion: str | None
    notes: list[str]
    since: datetime | None = None  # a broad query: only documents from about then on
    stopped_after: float | None = None  # seconds: the budget ran out, this is what was found
