"""Did you mean: a better spelling of the query, made only of what the viewer may read.

Offered when a search finds few results or none. Whoosh's word list is the whole index's,
so every candidate is checked against titles the viewer may read: a word known only from
members-only documents is never suggested to an outsider.
"""

from __future__ import annotations

import re

from whoosh import query as wq
from whoosh.searching import Searcher

from forum.search import budget
from forum.search.compile import Parsed, combine, parse
from forum.search.segments import Permitted, columns, newest_part
from forum.search.syntax import MAX_TERMS, analyse


def suggest(
    searcher: Searcher,
    text: str,
    parsed: Parsed,
    extra: list[wq.Query],
    network_ids: list[int],
    total: int,
) -> str | None:
    """A better spelling made only of what *this viewer* may read: each word it puts in is
    spelt just so in the title of a document the viewer may read (Whoosh's word list is the
    whole index's, so every candidate is checked against readable titles), and it is offered
    only if it finds more of what the viewer may read. A word known only from members-only
    titles, bodies, tags or summaries can never be suggested to an outsider, whatever else
    the query holds (an OR, an exclusion)."""
    permitted = columns(searcher).permitted(searcher, network_ids)
    corrector = searcher.corrector("title")
    corrected = text
    changed = False
    for word in parsed.words[:MAX_TERMS]:
        if not word.isalpha() or len(word) < 3:
            continue
        lower = word.lower()
        if _readable_spelling(searcher, permitted, lower):
            continue  # a word the viewer can find as it is
        budget.check()
        for option in corrector.suggest(lower, limit=5, maxdist=2):
            if option != lower and _readable_spelling(searcher, permitted, option):
                corrected = re.sub(rf"\b{re.escape(word)}\b", option, corrected, count=1)
                changed = True
                break
    if not changed:
        return None
    again = parse(corrected, searcher, permitted)
    q = combine(again, extra, any_word=False)
    if q is wq.NullQuery:
        return None
    permitted = permitted.without(again.negatives, searcher)
    newest = newest_part(searcher, q, permitted.share)[0]
    return corrected if permitted.first(newest, searcher, total + 1) > total else None


SPELLING_LOOKS = 20  # readable titles looked at for one word's spelling


def _readable_spelling(searcher: Searcher, permitted: Permitted, word: str) -> bool:
    """Whether `word`, spelt just so (not only its stem: "restructuring" is not "restructure"),
    is a word of the title of a document in `permitted`. Looks at a few titles only: a word
    not found in them is not offered (a missed suggestion, never a leak)."""
    terms = analyse(word)
    if len(terms) != 1:
        return False
    title = searcher.schema["title"]
    for looked, docnum in enumerate(permitted.matching(wq.Term("title", terms[0]), searcher)):
        if looked >= SPELLING_LOOKS:
            return False
        stored = searcher.stored_fields(docnum).get("title") or ""
        if word in set(title.spellable_words(stored)):
            return True
    return False
