"""Where a result lands inside its thread: the document shown, its snippet, "N more".

A search finds documents; a result is one thread, shown by the document chosen for it (by
forum.search.execute) with a snippet of its text, the words found marked, and how many other
documents of the thread match. Turns Whoosh's hit into the `Hit` the web layer shows.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC
from typing import Any

from markupsafe import Markup
from whoosh import searching
from whoosh.highlight import ContextFragmenter, HtmlFormatter

from forum.search.results import Hit


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


def hit_of(hit: searching.Hit, per_thread: Counter[int]) -> Hit:
    """The result for a found document; `per_thread`: matching documents of each thread."""
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
