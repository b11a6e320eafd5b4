"""Running a search: from the query's text to one page of results, one per thread.

A search is passes over the documents the viewer may read (forum.search.segments): counts
first, without scoring (how many threads match, how many documents in each, which have a
matching summary), then the page's best documents, threads with a matching summary first;
all words first, any word when nothing matches them all; then, for few results, a better
spelling (forum.search.spelling). A broad query is searched on the newest part of the index,
and everything runs within the search's time budget (forum.search.budget), giving what it had
found when time runs out.
"""

from __future__ import annotations

import contextlib
from array import array
from collections import Counter
from dataclasses import replace
from typing import Any

from whoosh import query as wq
from whoosh import searching, sorting
from whoosh.searching import Results, Searcher

from forum.search import budget
from forum.search.budget import Budget, OutOfTime
from forum.search.compile import Parsed, combine, filter_clauses, parse
from forum.search.landing import hit_of
from forum.search.results import Outcome
from forum.search.segments import Permitted, columns, newest_part
from forum.search.spelling import suggest
from forum.search.syntax import Filters


def run(
    searcher: Searcher,
    text: str,
    *,
    network_ids: list[int],
    filters: Filters,
    sort: str,
    page: int,
    per_page: int,
    answers_first: bool = True,
    budget_seconds: float = 0,
) -> Outcome:
    """Search, one result per thread. Blocking: call from a worker thread.

    By relevance, threads whose summary matches come first unless `answers_first` is False
    (looking for similar threads, where the closest title matters more). With a
    `budget_seconds` (0: none), the search stops when that time is up and gives what it
    had found, with `stopped_after` set."""
    if not network_ids or searcher.doc_count_all() == 0:
        # Nothing readable, or a brand-new index with no segments yet.
        return Outcome(0, [], False, None, [])
    spent = Budget(budget_seconds)
    with budget.armed(spent):
        try:
            outcome = _run(
                searcher, text, network_ids, filters, sort, page, per_page, answers_first, spent
            )
        except OutOfTime:  # before anything was found (the viewer's documents, a wildcard)
            outcome = Outcome(0, [], False, None, [])
    if spent.stopped:
        return replace(outcome, stopped_after=round(spent.elapsed(), 1))
    return outcome


def _run(
    searcher: Searcher,
    text: str,
    network_ids: list[int],
    filters: Filters,
    sort: str,
    page: int,
    per_page: int,
    answers_first: bool,
    spent: Budget,
) -> Outcome:
    permitted = columns(searcher).permitted(searcher, network_ids)
    parsed = parse(text, searcher, permitted)
    extra = filter_clauses(filters)
    answers = answers_first and sort != "newest"
    outcome = _execute(
        searcher, parsed, extra, network_ids, sort, page, per_page, any_word=False, answers=answers
    )
    if outcome.total == 0 and len(parsed.clauses) > 1 and not spent.stopped:
        outcome = _execute(
            searcher,
            parsed,
            extra,
            network_ids,
            sort,
            page,
            per_page,
            any_word=True,
            answers=answers,
        )
    suggestion = None
    if outcome.total < 3 and parsed.words and not spent.stopped:
        try:
            suggestion = suggest(searcher, text, parsed, extra, network_ids, outcome.total)
        except OutOfTime:
            suggestion = None
    return replace(outcome, suggestion=suggestion, notes=parsed.notes)


def _ranked(results: Results) -> list[int]:
    """Document numbers best first. (Whoosh's `Results.docs()` is a set: docnum order.)"""
    return [docnum for _, docnum in results.top_n]


def _search(searcher: Searcher, q: wq.Query, **kwargs: Any) -> Results:
    """`searcher.search`, or, when the budget runs out, what it had found by then (Whoosh's
    collector is finished either way, so its results stand)."""
    collector = searcher.collector(**kwargs)
    with contextlib.suppress(OutOfTime):
        searcher.search_with_collector(q, collector)
    return collector.results()


def _execute(
    searcher: Searcher,
    parsed: Parsed,
    extra: list[wq.Query],
    network_ids: list[int],
    sort: str,
    page: int,
    per_page: int,
    *,
    any_word: bool,
    answers: bool,
) -> Outcome:
    q = combine(parsed, extra, any_word)
    if q is wq.NullQuery:
        return Outcome(0, [], any_word, None, [])
    cache = columns(searcher)
    try:
        permitted = cache.permitted(searcher, network_ids).without(parsed.negatives, searcher)
    except OutOfTime:
        return Outcome(0, [], any_word, None, [])
    threads, ranks = cache.threads, cache.ranks
    wanted = page * per_page
    whole = q
    q, since = newest_part(searcher, q, permitted.share)
    stopped = False
    while True:
        # Counts first, without scoring: how many threads match, how many documents in each
        # (the "N more matches in this thread"), and which have a matching summary.
        per_thread: Counter[int] = Counter()
        first: dict[int, int] = {}  # the first document found of each thread
        summaries: dict[int, int] = {}
        try:
            for docnum in permitted.matching(q, searcher):
                thread_id = threads[docnum]
                per_thread[thread_id] += 1
                if per_thread[thread_id] == 1:
                    first[thread_id] = docnum
                if ranks[docnum] == 0:
                    summaries[thread_id] = docnum
        except OutOfTime:
            stopped = True
            break
        if since is None or len(per_thread) >= wanted:
            break
        q, since = whole, None  # the newest part does not fill the page: search it all
    if not per_thread:
        return Outcome(0, [], any_word, None, [], None if stopped else since)
    source: dict[int, Results] = {}  # docnum -> the results it came from (for snippets)
    chosen: list[int] = []
    if not stopped:
        chosen = _best(searcher, q, permitted, summaries, threads, sort, wanted, answers, source)
    if budget.stopped() and len(chosen) < wanted:
        # Out of time before the page was ranked: after what was ranked, the other threads
        # found so far, those with a matching summary first, then those with most matches,
        # each shown by its summary or its first match.
        placed = {threads[d] for d in chosen}
        order = sorted(
            (t for t in per_thread if t not in placed),
            key=lambda t: (t not in summaries, -per_thread[t]),
        )
        more = [summaries.get(t, first[t]) for t in order[: wanted - len(chosen)]]
        found = Results(searcher, q, [(0.0, docnum) for docnum in more])
        source.update(dict.fromkeys(more, found))
        chosen += more
    hits = [
        hit_of(searching.Hit(source[docnum], docnum), per_thread)
        for docnum in chosen[(page - 1) * per_page : wanted]
    ]
    return Outcome(len(per_thread), hits, any_word, None, [], since)


def _best(
    searcher: Searcher,
    q: wq.Query,
    permitted: Permitted,
    summaries: dict[int, int],
    threads: array[int],
    sort: str,
    wanted: int,
    answers: bool,
    source: dict[int, Results],
) -> list[int]:
    """The `wanted` best documents, one per thread, and (into `source`) the results each
    came from. When the budget runs out, the best of what was scored by then."""
    # By relevance, threads with a matching summary come first (the network's answer
    # outranks the discussion), ordered by their summaries' scores.
    chosen: list[int] = []
    if answers and summaries:
        best = _search(
            searcher,
            wq.And([q, wq.Term("kind", "summary")]),
            limit=wanted,
            filter=permitted,
            terms=True,
        )
        for docnum in _ranked(best):
            source[docnum] = best
            chosen.append(docnum)
    # The best documents of the other threads, one per thread (a matching summary stands for
    # its thread), fetching more only when threads repeat too much to fill the page.
    sortedby = sorting.FieldFacet("created", reverse=True) if sort == "newest" else None
    placed = {threads[d] for d in chosen}
    limit = wanted * 3
    while len(chosen) < wanted:
        results = _search(searcher, q, limit=limit, filter=permitted, sortedby=sortedby, terms=True)
        seen = set(placed)
        found: list[int] = []
        for docnum in _ranked(results):
            thread_id = threads[docnum]
            if thread_id not in seen:
                seen.add(thread_id)
                found.append(summaries.get(thread_id, docnum))
                if len(chosen) + len(found) >= wanted:
                    break
        if len(chosen) + len(found) >= wanted or results.scored_length() < limit:
            for docnum in found:
                source.setdefault(docnum, results)
            chosen += found
            break
        limit *= 4
    return chosen
