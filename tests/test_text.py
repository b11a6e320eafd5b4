"""Helpers for user-supplied text."""

from __future__ import annotations

from forum import markdown
from forum.text import excerpt


def test_an_excerpt_keeps_blocks_apart_and_cuts_at_a_word() -> None:
    text = markdown.render(
        "## Where members have landed\n\n"
        "- Allow approved tools\n"
        "- Ban nothing outright.\n\n"
        "Most    councils *agree*."
    ).text
    assert excerpt(text, 500) == (
        "Where members have landed · Allow approved tools · Ban nothing outright. "
        "Most councils agree."
    )
    assert excerpt(text, 40) == "Where members have landed · Allow…"
    assert excerpt(text, 27) == "Where members have landed…"
    assert excerpt("a" * 50, 10) == "a" * 10 + "…"
    assert excerpt("", 10) == "" and excerpt("\n \n", 10) == ""
    assert excerpt("Short.", 10) == "Short."
