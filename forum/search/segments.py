"""Whoosh's internals, read once per segment: what every search needs besides its words.

For each segment of the index (segments never change; deletions are kept apart), the thread
and rank of every document and the documents each set of readable networks may see, kept
between searches so that a new commit costs only its own new segment (`segment_of`,
`Columns`). `Permitted` is those readable documents as Whoosh's filter: the viewer's
networks are part of the query itself, so counts, pages, snippets and suggestions only ever
see documents the viewer may read. And `newest_part`: a query broader than `BROAD` is run
on the newest part of each segment only, so its cost stays that of a forum of that size.
"""

from __future__ import annotations

import threading
import weakref
from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from typing import Any

from whoosh import query as wq
from whoosh.idsets import BitSet, DocIdSet
from whoosh.matching.binary import IntersectionMatcher
from whoosh.matching.wrappers import WrappingMatcher
from whoosh.searching import Searcher

from forum.search import budget

# A query that matches more documents the viewer may read than this (by Whoosh's estimate)
# is run on the newest this-many documents of the index only: the cost of a search stays
# that of a forum of this size however large the forum grows, and a query that broad finds
# more than anyone reads anyway. The page says so, and from what date. When the newest part
# does not fill the page asked for, the whole index is searched.
BROAD = 20_000
# Segments this small (the newest writes) are always searched whole.
SMALL_SEGMENT = 5_000


def permission_filter(network_ids: list[int]) -> wq.Query:
    """Only documents of networks the viewer may read (and never the cursor document)."""
    return wq.Or([wq.Term("network_id", str(i)) for i in network_ids])


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


def segment_of(reader: Any) -> _Segment:
    """One segment's columns, read on first use and kept (the 64 most recent segments)."""

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


class Permitted(DocIdSet):
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

    def without(self, excluded: list[wq.Query], searcher: Searcher) -> Permitted:
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
        return Permitted(parts, self._share)

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


class Columns:
    """Per-searcher lookups: the thread and rank of every document, and the documents each
    set of readable networks may see, put together from each segment's (see _Segment)."""

    def __init__(self, searcher: Searcher) -> None:
        self._leaves = searcher.subsearchers or [(searcher, 0)]
        self._segments = [segment_of(leaf.reader()) for leaf, _offset in self._leaves]
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

    def permitted(self, searcher: Searcher, network_ids: list[int]) -> Permitted:
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
        return Permitted(parts, readable / max(1, len(self.threads)))


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


_CACHE: weakref.WeakKeyDictionary[Searcher, Columns] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def columns(searcher: Searcher) -> Columns:
    """The lookups of this searcher, put together once and kept while it lives."""
    with _CACHE_LOCK:
        cache = _CACHE.get(searcher)
        if cache is None:
            cache = _CACHE[searcher] = Columns(searcher)
        return cache


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


def newest_part(
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
        if segment_of(leaf_reader).newest_first:
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
