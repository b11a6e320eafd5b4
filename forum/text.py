"""Small helpers for user-supplied text: cleaning, slugs, tags and excerpts."""

from __future__ import annotations

import re
import unicodedata

_NON_SLUG = re.compile(r"[^a-z0-9]+")
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def clean(value: str) -> str:
    """Text as stored: lone surrogates replaced, NUL bytes dropped, line endings unified."""
    value = value.encode("utf-8", "replace").decode("utf-8")
    return value.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")


def clean_line(value: str) -> str:
    """A one-line field: cleaned, inner whitespace collapsed, control characters removed."""
    value = clean(value)
    value = "".join(ch for ch in value if unicodedata.category(ch)[0] != "C")
    return " ".join(value.split())


def slugify(value: str, max_length: int = 80, fallback: str = "thread") -> str:
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    slug = _NON_SLUG.sub("-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or fallback


def parse_tags(value: str) -> list[str]:
    """'Data teams, governance' -> ['data-teams', 'governance'] (unique, in order)."""
    out: list[str] = []
    for part in re.split(r"[,\n]", clean(value)):
        slug = slugify(part, 64, fallback="")
        if slug and slug not in out:
            out.append(slug)
    return out


# A block of text ending in one of these reads on into the next without a mark between.
_ENDS_A_SENTENCE = frozenset(".!?:;,…)]\"'\u201d\u2019»")


def excerpt(text: str, limit: int) -> str:
    """A post's or summary's plain text (one block a line, as Markdown rendering stores it)
    as one line of about `limit` characters. A block that does not end a sentence (a
    heading, a list item) is followed by " · ", so that it does not run into the next;
    a longer text is cut at a word and ends with "…"."""
    parts: list[str] = []
    for line in text.splitlines():
        words = " ".join(line.split())
        if not words:
            continue
        if parts and parts[-1][-1] not in _ENDS_A_SENTENCE:
            parts.append("·")
        parts.append(words)
    one = " ".join(parts)
    if len(one) <= limit:
        return one
    cut = one[:limit]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.·") + "…"
