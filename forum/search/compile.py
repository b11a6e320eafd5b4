"""From the query's text to Whoosh queries over the index's documents.

`parse` reads the text (forum.search.syntax) and builds, within the caps, the clauses a
search combines: the words and phrases, the operators that must always match, and the
exclusions. A wildcard expands here, to terms of documents the viewer may read only (what
a prefix expands to never depends on members-only words). `filter_clauses` does the same
for the form's filters, and `combine` puts one query together for a pass of the search
(all words, or any word when falling back).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from whoosh import query as wq
from whoosh.searching import Searcher

from forum.search import budget
from forum.search.segments import Permitted
from forum.search.syntax import (
    MAX_EXCLUDED,
    MAX_EXPANSIONS,
    MAX_OPERATORS,
    MAX_OR,
    MAX_PHRASE_WORDS,
    MAX_PHRASES,
    MAX_TERMS,
    MAX_WILDCARDS,
    MIN_PREFIX,
    OPERATORS,
    TEXT_FIELDS,
    TOKEN,
    Caps,
    Filters,
    analyse,
    clean_text,
    parse_date,
)


@dataclass(slots=True)
class Parsed:
    """A query's text as Whoosh clauses, with notes on what was not understood or left out."""

    words: list[str] = field(default_factory=list)  # free words, for "did you mean"
    clauses: list[wq.Query] = field(default_factory=list)  # words and phrases (and OR groups)
    required: list[wq.Query] = field(default_factory=list)  # operators: always must match
    negatives: list[wq.Query] = field(default_factory=list)  # -excluded (what they exclude)
    notes: list[str] = field(default_factory=list)  # operators not understood, caps reached


def _date_range(after: date | None, before: date | None) -> wq.Query:
    start = datetime(after.year, after.month, after.day, tzinfo=UTC) if after else None
    end = (
        datetime(before.year, before.month, before.day, tzinfo=UTC) - timedelta(microseconds=1)
        if before
        else None
    )
    return wq.DateRange("created", start, end)


class _Builder:
    def __init__(
        self, searcher: Searcher, fields: tuple[str, ...], permitted: Permitted | None
    ) -> None:
        self.searcher = searcher
        self.fields = fields
        self.permitted = permitted
        self.caps = Caps()

    def word(self, word: str) -> wq.Query | None:
        if "*" in word or "?" in word:
            return self.wildcard(word)
        terms = analyse(word)
        if not terms or not self.caps.allow("terms", MAX_TERMS, word, len(terms)):
            return None
        per_term = [wq.Or([wq.Term(f, t) for f in self.fields]) for t in terms]
        return per_term[0] if len(per_term) == 1 else wq.And(per_term)

    def phrase(self, text: str) -> wq.Query | None:
        terms = analyse(text)
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


def parse(text: str, searcher: Searcher, permitted: Permitted | None = None) -> Parsed:
    """Turn the query box's text into clauses, within the caps above (what they leave out is
    said in `notes`). `permitted`: the documents the viewer may read, which alone decide
    what a wildcard expands to. Never raises, except OutOfTime when the search's budget
    runs out (forum.search.budget)."""
    text = clean_text(text)
    tokens = list(TOKEN.finditer(text))
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
        day = parse_date(value)
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


def combine(parsed: Parsed, extra: list[wq.Query], any_word: bool) -> wq.Query:
    """Words AND-ed (OR-ed when falling back), operators and filters always required. The
    exclusions are not part of it: they come off the documents searched
    (`Permitted.without`)."""
    words = parsed.clauses
    core: list[wq.Query] = [wq.Or(words)] if any_word and len(words) > 1 else list(words)
    positive = core + parsed.required + extra
    if not positive:
        return wq.NullQuery  # nothing to look for (only exclusions, or nothing at all)
    return wq.And(positive) if len(positive) > 1 else positive[0]
