"""The query language as text: what a person typed, before any index is involved.

The language: plain words (all must match), "exact phrases", -excluded, OR, and the
operators network:, author:, org:, tag:, kind:summary|post, before:YYYY-MM-DD,
after:YYYY-MM-DD and in:title. Nothing typed can make a search fail: unknown or malformed
operators are read as words, the text is cleaned and capped here, and the caps below bound
what one query may ask for, wildcards included (`Caps` keeps count and says what was left
out). The form's `Filters` mean the same as the operators. Turning the words into Whoosh
queries is forum.search.compile's.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date

from forum.search.schema import TEXT_ANALYZER

MAX_QUERY_CHARS = 500
# What one query may ask for. Each bounds a way the query language can multiply Whoosh's work
# (every term is a posting list read, every phrase reads positions, every wildcard becomes
# many terms, an OR of common words is a union of the longest lists); whatever is left out is
# named in a note on the page. With the time budget (forum.search.budget) they keep the cost
# of any query bounded: the caps keep ordinary queries well inside the budget, the budget
# stops whatever still costs too much.
MAX_TERMS = 12  # words searched for, counted after analysis ("a-b-c" is three), phrases' too
MAX_PHRASES = 3
MAX_PHRASE_WORDS = 6
MAX_WILDCARDS = 2
MIN_PREFIX = 3  # letters before a trailing *: "da*" would be most of the vocabulary
MAX_EXPANSIONS = 50  # terms a wildcard becomes, per field
MAX_OR = 6  # alternatives joined by OR, in the whole query
MAX_EXCLUDED = 4  # -words and -"phrases": each reads every document its words are in
MAX_OPERATORS = 8  # network:, tag:, after: …
MAX_PAGE = 50  # deeper pages cost as much as all the pages before them
TEXT_FIELDS = ("title", "body", "author_name")
OPERATORS = {"network", "author", "org", "tag", "kind", "before", "after", "in"}
TOKEN = re.compile(r'(-?)(?:(\w+):)?("([^"]*)"?|\S+)')


@dataclass(frozen=True, slots=True)
class Filters:
    """Filters chosen in the form (the same as the operators)."""

    network: str = ""
    org: str = ""
    author: str = ""
    tag: str = ""
    kind: str = ""
    after: date | None = None
    before: date | None = None


def clean_text(text: str) -> str:
    """The query's text capped, without control characters, and valid UTF-8."""
    text = "".join(
        " " if unicodedata.category(ch)[0] == "C" else ch for ch in text[:MAX_QUERY_CHARS]
    )
    return text.encode("utf-8", "replace").decode("utf-8")


def analyse(word: str) -> list[str]:
    """The terms the index holds for `word` (none for a stop word)."""
    return [t.text for t in TEXT_ANALYZER(word)]


def is_searchable(word: str) -> bool:
    """Whether a plain word is searched for at all (not a stop word, not an operator)."""
    return ":" not in word and bool(analyse(word))


def parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


class Caps:
    """What a query has used of the caps above, and what was left out because of them."""

    def __init__(self) -> None:
        self.used: Counter[str] = Counter()
        self.left_out: dict[str, list[str]] = {}

    def allow(self, kind: str, cap: int, typed: str, cost: int = 1) -> bool:
        """Whether `cost` more of `kind` fit under `cap`; if not, `typed` is left out."""
        if self.used[kind] + cost > cap:
            self.leave_out(kind, typed)
            return False
        self.used[kind] += cost
        return True

    def leave_out(self, kind: str, typed: str) -> None:
        self.left_out.setdefault(kind, []).append(typed if len(typed) <= 40 else typed[:39] + "…")

    def notes(self) -> list[str]:
        said = {
            "terms": f"Only the first {MAX_TERMS} words are searched for; left out:",
            "phrases": f'At most {MAX_PHRASES} "phrases" are searched for at once; left out:',
            "phrase_words": f"A phrase is searched for by its first {MAX_PHRASE_WORDS} words:",
            "wildcards": f"At most {MAX_WILDCARDS} wildcards are searched for at once; left out:",
            "short": f"A wildcard needs at least {MIN_PREFIX} letters before the *; left out:",
            "or": f"At most {MAX_OR} alternatives joined by OR are searched for; left out:",
            "excluded": f"At most {MAX_EXCLUDED} words can be excluded at once; left out:",
            "operators": f"At most {MAX_OPERATORS} filters such as tag: are used; left out:",
        }
        out = []
        for kind, items in self.left_out.items():
            shown = ", ".join(items[:5]) + (f" and {len(items) - 5} more" if len(items) > 5 else "")
            out.append(f"{said[kind]} {shown}.")
        return out
