"""A readable difference between two versions of a text, word by word."""

from __future__ import annotations

import difflib
import re

from markupsafe import Markup, escape

# Words and runs of whitespace, each a token: line breaks stay where they were, and a word
# followed by a different space is still the same word.
_TOKEN = re.compile(r"\S+|\s+")
_DEL = Markup('<del><span class="visually-hidden">removed: </span>{}</del>')
_INS = Markup('<ins><span class="visually-hidden">added: </span>{}</ins>')


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def word_diff(old: str, new: str) -> Markup:
    """HTML: the new text with removed words in <del> and added words in <ins>, each marked
    for screen readers too ("removed:", "added:")."""
    a, b = _tokens(old), _tokens(new)
    out: list[Markup] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(escape("".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            out.append(_DEL.format("".join(a[i1:i2])))
        if op in ("insert", "replace"):
            out.append(_INS.format("".join(b[j1:j2])))
    return Markup("").join(out)


def change_counts(old: str, new: str) -> tuple[int, int]:
    """Words added and removed between two texts."""
    a, b = _tokens(old), _tokens(new)
    added = removed = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op in ("delete", "replace"):
            removed += sum(1 for t in a[i1:i2] if not t.isspace())
        if op in ("insert", "replace"):
            added += sum(1 for t in b[j1:j2] if not t.isspace())
    return added, removed
