"""From what a person typed to results they may see.

The query language: plain words (all must match), "exact phrases", -excluded, OR, and the
operators network:, author:, org:, tag:, kind:summary|post, before:YYYY-MM-DD,
after:YYYY-MM-DD and in:title. Nothing typed can make this fail: unknown or malformed
operators are read as words, the text is capped, and wildcards expand to a bounded number of
terms. The viewer's readable networks are part of the Whoosh query itself (its filter), so
counts, pages, snippets and suggestions only ever see documents the viewer may read.
"""

from __future__ import annotations

import contextlib
import re
import threading
import unicodedata
import weakref
from array import array
from bisect import bisect_right
from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from itertools import chain
from typing import Any

from markupsafe import Markup
from whoosh import query as wq
from whoosh import searching, sorting
from whoosh.highlight import ContextFragmenter, HtmlFormatter
from whoosh.idsets import BitSet, DocIdSet
from whoosh.matching.binary import IntersectionMatcher
from whoosh.matching.wrappers import WrappingMatcher
from whoosh.searching import Results, Searcher

from forum.search import budget
from forum.search.budget import Budget, OutOfTime
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
# A query that matches more documents the viewer may read than this (by Whoosh's estimate)
# is run on the newest this-many documents of the index only: the cost of a search stays
# that of a forum of this size however large the forum grows, and a query that broad finds
# more than anyone reads anyway. The page says so, and from what date. When the newest part
# does not fill the page asked for, the whole index is searched.
BROAD = 20_000
# Segments this small (the newest writes) are always searched whole.
SMALL_SEGMENT = 5_000
TEXT_FIELDS = ("title", "body", "author_name")
OPERATORS = {"network", "author", "org", "tag", "kind", "before", "after", "in"}
_TOKEN = re.compile(r'(-?)(?:(\w+):)?("([^"]*)"?|\S+)')


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


@dataclass(slots=True)
class Parsed:
    words: list[str] = field(default_factory=list)  # free words, for "did you mean"
    clauses: list[wq.Query] = field(default_factory=list)  # words and phrases (and OR groups)
    required: list[wq.Query] = field(default_factory=list)  # operators: always must match
    negatives: list[wq.Query] = field(default_factory=list)  # -excluded (what they exclude)
    notes: list[str] = field(default_factory=list)  # operators not understood, caps reached


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


def clean_text(text: str) -> str:
    text = "".join(
        " " if unicodedata.category(ch)[0] == "C" else ch for ch in text[:MAX_QUERY_CHARS]
    )
    return text.encode("utf-8", "replace").decode("utf-8")


def _analyse(word: str) -> list[str]:
    return [t.text for t in TEXT_ANALYZER(word)]


def is_searchable(word: str) -> bool:
    """Whether a plain word is searched for at all (not a stop word, not an operator)."""
    return ":" not in word and bool(_analyse(word))


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _date_range(after: date | None, before: date | None) -> wq.Query:
    start = datetime(after.year, after.month, after.day, tzinfo=UTC) if after else None
    end = (
        datetime(before.year, before.month, before.day, tzinfo=UTC) - timedelta(microseconds=1)
        if before
        else None
    )
    return wq.DateRange("created", start, end)


class _Caps:
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


class _Builder:
    def __init__(
        self, searcher: Searcher, fields: tuple[str, ...], permitted: _Permitted | None
    ) -> None:
        self.searcher = searcher
        self.fields = fields
        self.permitted = permitted
        self.caps = _Caps()

    def word(self, word: str) -> wq.Query | None:
        if "*" in word or "?" in word:
            return self.wildcard(word)
        terms = _analyse(word)
        if not terms or not self.caps.allow("terms", MAX_TERMS, word, len(terms)):
            return None
        per_term = [wq.Or([wq.Term(f, t) for f in self.fields]) for t in terms]
        return per_term[0] if len(per_term) == 1 else wq.And(per_term)

    def phrase(self, text: str) -> wq.Query | None:
        terms = _analyse(text)
        if not terms:
            return None
        if len(terms) == 1:
            if not self.caps.allow("terms", MAX_TERMS, f'"{text}"'):
                return None
            return wq.Or([wq.Term(f, terms[0]) for f in self.fields])
        if not self.caps.allow("phrases", MAX_PHRASES, f'"{text}"'):
            return None
        if len(terms) > MAX_PHRASE_WORDS:
            self.caps.leave_out("phrase_words", f'"{text}"')
            terms = terms[:MAX_PHRASE_WORDS]
        if not self.caps.allow("terms", MAX_TERMS, f'"{text}"', len(terms)):
            return None
        return wq.Or([wq.Phrase(f, terms) for f in self.fields if f != "author_name"])

    def wildcard(self, word: str) -> wq.Query | None:
        """Only a trailing * expands (to at most MAX_EXPANSIONS terms a field, of those the
        viewer may read: what a prefix expands to never depends on members-only words);
        other wildcards are dropped, so a query full of them cannot make the index
        enumerate everything."""
        stem = word.replace("?", "").replace("*", "")
        if not stem:
            return None
        if not word.endswith("*") or "*" in word[:-1]:
            return self.word(stem)
        if len(stem) < MIN_PREFIX:
            self.caps.leave_out("short", word)
            return None
        if not self.caps.allow("wildcards", MAX_WILDCARDS, word):
            return None
        if not self.caps.allow("terms", MAX_TERMS, word):
            return None
        prefix = stem.lower()
        terms: list[wq.Query] = []
        reader = self.searcher.reader()
        for f in self.fields:
            found = 0
            for i, term in enumerate(reader.expand_prefix(f, prefix)):
                # Terms only members-only documents hold are passed over, a bounded number.
                if found >= MAX_EXPANSIONS or i >= 4 * MAX_EXPANSIONS:
                    break
                budget.check()
                text = term.decode("utf-8") if isinstance(term, bytes) else term
                if self.readable(f, text):
                    terms.append(wq.Term(f, text))
                    found += 1
        return wq.Or(terms) if terms else wq.NullQuery

    def readable(self, fieldname: str, text: str) -> bool:
        """Whether a document the viewer may read holds the term."""
        if self.permitted is None:
            return True
        return self.permitted.first(wq.Term(fieldname, text), self.searcher, 1) == 1


def parse(text: str, searcher: Searcher, permitted: _Permitted | None = None) -> Parsed:
    """Turn the query box's text into clauses, within the caps above (what they leave out is
    said in `notes`). `permitted`: the documents the viewer may read, which alone decide
    what a wildcard expands to. Never raises, except OutOfTime when the search's budget
    runs out (forum.search.budget)."""
    text = clean_text(text)
    tokens = list(_TOKEN.finditer(text))
    in_title = any(m.group(2) == "in" and m.group(3).lower() == "title" for m in tokens)
    build = _Builder(searcher, ("title",) if in_title else TEXT_FIELDS, permitted)
    caps = build.caps
    parsed = Parsed()
    pending_or = False
    grouped = False  # the last clause is already an OR group (its first side counted)
    for m in tokens:
        negate, op, raw, quoted = (
            m.group(1) == "-",
            (m.group(2) or "").lower(),
            m.group(3),
            m.group(4),
        )
        value = quoted if quoted is not None else raw
        clause: wq.Query | None = None
        if op and op in OPERATORS:
            if op != "in" and not caps.allow("operators", MAX_OPERATORS, m.group(0)):
                pending_or = False
                continue
            clause = _operator(op, value, parsed)
            if clause is not None:
                (parsed.negatives if negate else parsed.required).append(clause)
            pending_or = False
            continue
        elif raw == "OR" and not negate and not op:
            pending_or = bool(parsed.clauses)
            continue
        joins = pending_or and not negate and bool(parsed.clauses)
        pending_or = False
        if joins and not caps.allow("or", MAX_OR, m.group(0), 1 if grouped else 2):
            continue
        if negate and not caps.allow("excluded", MAX_EXCLUDED, m.group(0)):
            continue
        word = f"{m.group(2)}:{value}" if op else value
        if quoted is not None and not op:
            clause = build.phrase(value)
        else:
            clause = build.word(word if not op else word.replace(":", " "))
            if not negate and clause is not None:
                parsed.words.append(word)
        if clause is None or (clause is wq.NullQuery and negate):
            continue
        if negate:
            parsed.negatives.append(clause)
        elif joins:
            parsed.clauses[-1] = wq.Or([parsed.clauses[-1], clause])
            grouped = True
        else:
            parsed.clauses.append(clause)
            grouped = False
    parsed.notes += caps.notes()
    return parsed


def _operator(op: str, value: str, parsed: Parsed) -> wq.Query | None:
    value = value.strip().lower()
    if op == "in":
        if value != "title":
            parsed.notes.append(f"in:{value} is not known (try in:title)")
        return None
    if not value:
        parsed.notes.append(f"{op}: needs a value")
        return None
    if op in ("before", "after"):
        day = _parse_date(value)
        if day is None:
            parsed.notes.append(f"{op}:{value} is not a date like 2026-01-31")
            return None
        return _date_range(day if op == "after" else None, day if op == "before" else None)
    if op == "kind":
        if value not in ("summary", "post"):
            parsed.notes.append(f"kind:{value} is not known (use kind:summary or kind:post)")
            return None
        return wq.Term("kind", value)
    name = {"network": "network", "author": "author", "org": "org", "tag": "tags"}[op]
    return wq.Term(name, value.lstrip("@"))


def filter_clauses(filters: Filters) -> list[wq.Query]:
    out: list[wq.Query] = []
    for name, value in (
        ("network", filters.network),
        ("org", filters.org),
        ("author", filters.author.lstrip("@")),
        ("tags", filters.tag),
    ):
        if value:
            out.append(wq.Term(name, value.strip().lower()))
    if filters.kind in ("summary", "post"):
        out.append(wq.Term("kind", filters.kind))
    if filters.after or filters.before:
        out.append(_date_range(filters.after, filters.before))
    return out


def permission_filter(network_ids: list[int]) -> wq.Query:
    """Only documents of networks the viewer may read (and never the cursor document)."""
    return wq.Or([wq.Term("network_id", str(i)) for i in network_ids])


def _combine(parsed: Parsed, extra: list[wq.Query], any_word: bool) -> wq.Query:
    """Words AND-ed (OR-ed when falling back), operators and filters always required. The
    exclusions are not part of it: they come off the documents searched (`_Permitted.
    without`)."""
    words = parsed.clauses
    core: list[wq.Query] = [wq.Or(words)] if any_word and len(words) > 1 else list(words)
    positive = core + parsed.required + extra
    if not positive:
        return wq.NullQuery  # nothing to look for (only exclusions, or nothing at all)
    return wq.And(positive) if len(positive) > 1 else positive[0]


class _Formatter(HtmlFormatter):
    """<mark> around the words found, " … " between fragments, and "…" where the first
    starts or the last ends inside the text, so a snippet never seems to be the whole."""

    def format(self, fragments: list[Any], replace: bool = False) -> str:
        if not fragments:
            return ""
        first, last = fragments[0], fragments[-1]
        before = first.text[: first.startchar]
        after = last.text[last.endchar :] if last.endchar >= 0 else ""
        lead = "…" if _has_words(before) else ""
        # Only punctuation after the last word (a full stop): shown, not cut.
        tail = "…" if _has_words(after) else str(Markup.escape(after.rstrip()))
        return lead + str(super().format(fragments, replace=replace)) + tail


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _snippet(hit: Any) -> Markup:
    formatter = _Formatter(tagname="mark", between=" … ")
    formatter.template = "<%(tag)s>%(t)s</%(tag)s>"  # plain <mark>: no classes to style
    hit.results.formatter = formatter
    hit.results.fragmenter = ContextFragmenter(maxchars=240, surround=60)
    for name in ("body", "title"):
        text = hit.get(name) or ""
        if not text:
            continue
        fragment = hit.highlights(name, text=text, top=2)
        if fragment:
            # Whoosh's HtmlFormatter escapes the text around the <mark> tags it adds.
            return Markup(fragment)  # noqa: S704
    body = str(hit.get("body") or "")
    return Markup.escape(body[:240] + ("…" if len(body) > 240 else ""))


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
    permitted = _columns(searcher).permitted(searcher, network_ids)
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
            suggestion = _suggest(searcher, text, parsed, extra, network_ids, outcome.total)
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
    q = _combine(parsed, extra, any_word)
    if q is wq.NullQuery:
        return Outcome(0, [], any_word, None, [])
    cache = _columns(searcher)
    try:
        permitted = cache.permitted(searcher, network_ids).without(parsed.negatives, searcher)
    except OutOfTime:
        return Outcome(0, [], any_word, None, [])
    threads, ranks = cache.threads, cache.ranks
    wanted = page * per_page
    whole = q
    q, since = _newest_part(searcher, q, permitted.share)
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
        _hit(searching.Hit(source[docnum], docnum), per_thread)
        for docnum in chosen[(page - 1) * per_page : wanted]
    ]
    return Outcome(len(per_thread), hits, any_word, None, [], since)


def _best(
    searcher: Searcher,
    q: wq.Query,
    permitted: _Permitted,
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


def _hit(hit: searching.Hit, per_thread: Counter[int]) -> Hit:
    fields = hit.fields()
    thread_id = int(fields["thread_id"])
    created = fields["created"]
    return Hit(
        doc_id=fields["doc_id"],
        kind=fields["kind"],
        thread_id=thread_id,
        post_id=int(fields.get("post_id") or 0),
        title=fields.get("thread_title") or "",
        network=fields.get("network") or "",
        network_id=int(fields.get("network_id") or 0),
        author=fields.get("author") or "",
        author_name=fields.get("author_name") or "",
        org_name=fields.get("org_name") or "",
        created=created.replace(tzinfo=UTC) if created.tzinfo is None else created,
        snippet=_snippet(hit),
        more=max(0, per_thread[thread_id] - 1),
    )


class _Until(WrappingMatcher):
    """The child matcher, over before document `end`: a window at the start of a segment
    costs the postings up to its end, not the whole segment's."""

    def __init__(self, child: Any, end: int, boost: float = 1.0) -> None:
        super().__init__(child, boost)
        self.end = end

    def copy(self) -> _Until:
        return _Until(self.child.copy(), self.end, self.boost)

    def _replacement(self, newchild: Any) -> _Until:
        return _Until(newchild, self.end, self.boost)

    def is_active(self) -> bool:
        return bool(self.child.is_active()) and self.child.id() < self.end

    def all_ids(self) -> Iterator[int]:
        return _ids_before(self.child, self.end)


def _ids_before(m: Any, end: int) -> Iterator[int]:
    """The ids a matcher has left before `end`. An intersection (words that must all
    match) is the two sides' ids as sets, as Whoosh's own `all_ids` does it, but each side
    only up to `end`; anything else is stepped through until `end`."""
    if isinstance(m, IntersectionMatcher):
        both = set(_ids_before(m.a, end)) & set(_ids_before(m.b, end))
        return iter(sorted(both))
    return _stepped(m, end)


def _stepped(m: Any, end: int) -> Iterator[int]:
    while m.is_active():
        docnum = m.id()
        if docnum >= end:
            return
        yield docnum
        m.next()


class _Window(wq.WrappingQuery):
    """The child query on a window of each segment only: documents `start` to `end` of the
    segment whose reader is `windows[id(reader)]`; segments not named are searched whole."""

    def __init__(self, child: wq.Query, windows: dict[int, tuple[int, int]]) -> None:
        super().__init__(child)
        self.windows = windows

    def _rewrap(self, child: wq.Query) -> _Window:
        return _Window(child, self.windows)

    def matcher(self, searcher: Searcher, context: Any = None) -> Any:
        m = self.child.matcher(searcher, context)
        window = self.windows.get(id(searcher.reader()))
        if window is None:
            return m
        start, end = window
        if start and m.is_active() and m.id() < start:
            m.skip_to(start)
        return _Until(m, end) if end < searcher.doc_count_all() else m


def _newest_part(
    searcher: Searcher, q: wq.Query, readable: float = 1.0
) -> tuple[wq.Query, datetime | None]:
    """`q`, or for a query broader than BROAD, `q` on the newest part of each segment (in
    all, about BROAD documents), with the date that part starts at. `readable` is the share
    of the index the viewer may read (Whoosh's estimate counts every document).

    Where a segment's newest part lies depends on how it was written: a rebuild writes the
    newest posts first (`indexer.rebuild`), so there it is the start of the segment, reached
    without reading the rest; each commit of the indexer appends, so in the segments of new
    writes (and their merges) it is the end."""
    reader = searcher.reader()
    if q.estimate_size(reader) * readable <= BROAD:
        return q, None
    # The newest BROAD documents, whatever share of them matches: the work is that of
    # searching a forum of that size.
    share = BROAD / max(1, reader.doc_count_all())
    leaves = searcher.subsearchers or [(searcher, 0)]
    windows: dict[int, tuple[int, int]] = {}
    since: datetime | None = None
    for leaf, _offset in leaves:
        size = leaf.doc_count_all()
        if size <= SMALL_SEGMENT:
            continue
        part = max(SMALL_SEGMENT, int(size * share), 1)
        if part >= size:
            continue
        leaf_reader = leaf.reader()
        if _segment(leaf_reader).newest_first:
            dated = _dated_near(leaf_reader, part - 1, size, backwards=True)
            if dated is None:
                continue
            window = (0, max(part, dated[0] + 1))
        else:
            dated = _dated_near(leaf_reader, size - part, size)
            if dated is None:  # nothing dated to say "since" with: search it whole
                continue
            window = (min(size - part, dated[0]), size)
        windows[id(leaf_reader)] = window
        since = dated[1] if since is None else min(since, dated[1])
    if not windows or since is None:
        return q, None
    return _Window(q, windows), since


def _dated_near(
    reader: Any, docnum: int, size: int, *, backwards: bool = False
) -> tuple[int, datetime] | None:
    """The first dated document from `docnum` on (`backwards`: from it back), or failing that
    the nearest the other way (the change-log cursor's document has no date), and its
    creation time; looking at a few only."""
    ahead = range(docnum, min(size, docnum + 20))
    behind = range(docnum - 1, max(-1, docnum - 21), -1)
    if backwards:
        ahead, behind = (
            range(docnum, max(-1, docnum - 20), -1),
            range(docnum + 1, min(size, docnum + 21)),
        )
    for candidate in chain(ahead, behind):
        if reader.is_deleted(candidate):
            continue
        created = reader.stored_fields(candidate).get("created")
        if isinstance(created, datetime):
            return candidate, created.replace(tzinfo=UTC) if created.tzinfo is None else created
    return None


def _newest_first(reader: Any, count: int) -> bool:
    """Whether a segment's documents run newest first, by the dates a quarter and three
    quarters of the way in."""
    early = _dated_near(reader, count // 4, count)
    late = _dated_near(reader, (3 * count) // 4, count)
    return early is not None and late is not None and early[1] > late[1]


@dataclass(slots=True)
class _Segment:
    """What one segment's documents need, read once: segments never change (deletions are
    kept apart), so a new commit reads only its own new segment, not the whole index."""

    threads: array[int]  # thread id of each document
    ranks: array[int]  # 0 for a summary, 1 for a post
    newest_first: bool  # written by a rebuild (newest posts first) rather than appended
    # per set of readable networks: the documents they may see, and how many
    permitted: dict[tuple[int, ...], tuple[BitSet, int]] = field(default_factory=dict)


_SEGMENTS: OrderedDict[str, _Segment] = OrderedDict()  # by segment id, least recent first
_SEGMENTS_KEPT = 64
_SEGMENTS_LOCK = threading.Lock()


def _segment(reader: Any) -> _Segment:
    def read() -> _Segment:
        count = reader.doc_count_all()
        return _Segment(
            array("q", _leaf_column(reader, "thread_id", count, 0)),
            array("q", _leaf_column(reader, "rank", count, 1)),
            _newest_first(reader, count),
        )

    segment = getattr(reader, "segment", lambda: None)()
    if segment is None:  # not a segment's reader (an empty index): nothing to keep
        return read()
    key = segment.segment_id()
    with _SEGMENTS_LOCK:
        found = _SEGMENTS.get(key)
        if found is not None:
            _SEGMENTS.move_to_end(key)
            return found
    found = read()
    with _SEGMENTS_LOCK:
        _SEGMENTS[key] = found
        while len(_SEGMENTS) > _SEGMENTS_KEPT:
            _SEGMENTS.popitem(last=False)
    return found


class _Permitted(DocIdSet):
    """The documents a set of networks may see, as Whoosh's filter: one bit set per segment."""

    def __init__(self, parts: list[tuple[Searcher, int, BitSet]], share: float) -> None:
        self._share = share
        self._leaves = [leaf for leaf, _, _ in parts]
        self._offsets = [offset for _, offset, _ in parts]
        self._sets = [bits for _, _, bits in parts]

    def matching(self, q: wq.Query, searcher: Searcher) -> Iterator[int]:
        """The documents matching `q` that are in this set: `searcher.docs_for_query(q)`
        filtered, segment by segment (no lookup of the segment for every document)."""
        for leaf, offset, bits in zip(self._leaves, self._offsets, self._sets, strict=True):
            # The budget is checked where postings are read (forum.search.budget); here
            # too, now and then, for matchers that read none (a term's single posting).
            for seen, d in enumerate(q.docs(leaf)):
                if not seen & 1023:
                    budget.check()
                if d in bits:
                    yield offset + d

    def first(self, q: wq.Query, searcher: Searcher, count: int) -> int:
        """How many of the first `count` documents matching `q` are in this set (up to
        `count`). Steps through the matchers, which skip ahead (an intersection of common
        words does not list each side's documents, as `matching` does): for a few only."""
        found = 0
        for leaf, _offset, bits in zip(self._leaves, self._offsets, self._sets, strict=True):
            m = q.matcher(leaf)
            while m.is_active() and found < count:
                if m.id() in bits:
                    found += 1
                m.next()
            if found >= count:
                break
        return found

    def without(self, excluded: list[wq.Query], searcher: Searcher) -> _Permitted:
        """This set less the documents matching any of `excluded` (the -words). Each is
        read once, as a list of documents: "a AND NOT b" done by Whoosh would step b's
        matcher to each of a's documents, or (And with Not) step through every document
        that is not b's, seconds either way for common words."""
        if not excluded:
            return self
        parts = []
        for leaf, offset, bits in zip(self._leaves, self._offsets, self._sets, strict=True):
            kept = bits.copy()
            for q in excluded:
                kept.difference_update(_docs_of(q, leaf))
            parts.append((leaf, offset, kept))
        return _Permitted(parts, self._share)

    def __bool__(self) -> bool:
        return any(self._sets)

    @property
    def share(self) -> float:
        """The share of all documents in the set."""
        return self._share

    def __len__(self) -> int:
        return sum(len(bits) for bits in self._sets)

    def __iter__(self) -> Iterator[int]:
        for offset, bits in zip(self._offsets, self._sets, strict=True):
            for docnum in bits:
                yield offset + docnum

    def __contains__(self, docnum: object) -> bool:
        if not isinstance(docnum, int):
            return False
        i = bisect_right(self._offsets, docnum) - 1
        return i >= 0 and (docnum - self._offsets[i]) in self._sets[i]


class _Columns:
    """Per-searcher lookups: the thread and rank of every document, and the documents each
    set of readable networks may see, put together from each segment's (see _Segment)."""

    def __init__(self, searcher: Searcher) -> None:
        self._leaves = searcher.subsearchers or [(searcher, 0)]
        self._segments = [_segment(leaf.reader()) for leaf, _offset in self._leaves]
        size = searcher.reader().doc_count_all()
        self.threads: array[int] = array("q")
        self.ranks: array[int] = array("q")
        for segment in self._segments:
            self.threads += segment.threads
            self.ranks += segment.ranks
        if len(self.threads) != size:  # a reader of another shape: pad, never misalign
            self.threads = (self.threads + array("q", [0] * size))[:size]
            self.ranks = (self.ranks + array("q", [1] * size))[:size]
        self._lock = threading.Lock()

    def permitted(self, searcher: Searcher, network_ids: list[int]) -> _Permitted:
        key = tuple(sorted(network_ids))
        parts = []
        readable = 0
        with self._lock:
            for (leaf, offset), segment in zip(self._leaves, self._segments, strict=True):
                found = segment.permitted.get(key)
                if found is None:
                    docs = list(permission_filter(network_ids).docs(leaf))
                    found = (BitSet(docs, size=leaf.doc_count_all()), len(docs))
                    if len(segment.permitted) > 256:  # many distinct viewers: start again
                        segment.permitted.clear()
                    segment.permitted[key] = found
                parts.append((leaf, offset, found[0]))
                readable += found[1]
        return _Permitted(parts, readable / max(1, len(self.threads)))


def _docs_of(q: wq.Query, leaf: Searcher) -> Iterator[int]:
    """The documents of one segment matching `q`; an OR's sides each read on its own (a
    term's documents come a block at a time; a union's, one by one)."""
    if isinstance(q, wq.Or):
        for child in q.subqueries:
            yield from _docs_of(child, leaf)
    else:
        yield from q.docs(leaf)


def _leaf_column(leaf: Any, name: str, count: int, default: int) -> list[int]:
    """One segment's values of a numeric column, one per document (default where none)."""
    if not leaf.has_column(name):
        return [default] * count
    values = [default if v is None else int(v) for v in leaf.column_reader(name)]
    return (values + [default] * count)[:count]


_CACHE: weakref.WeakKeyDictionary[Searcher, _Columns] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def _columns(searcher: Searcher) -> _Columns:
    with _CACHE_LOCK:
        cache = _CACHE.get(searcher)
        if cache is None:
            cache = _CACHE[searcher] = _Columns(searcher)
        return cache


def _suggest(
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
    permitted = _columns(searcher).permitted(searcher, network_ids)
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
    q = _combine(again, extra, any_word=False)
    if q is wq.NullQuery:
        return None
    permitted = permitted.without(again.negatives, searcher)
    newest = _newest_part(searcher, q, permitted.share)[0]
    return corrected if permitted.first(newest, searcher, total + 1) > total else None


SPELLING_LOOKS = 20  # readable titles looked at for one word's spelling


def _readable_spelling(searcher: Searcher, permitted: _Permitted, word: str) -> bool:
    """Whether `word`, spelt just so (not only its stem: "restructuring" is not "restructure"),
    is a word of the title of a document in `permitted`. Looks at a few titles only: a word
    not found in them is not offered (a missed suggestion, never a leak)."""
    terms = _analyse(word)
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
