"""Hostile content in a real browser: nothing a member writes runs, opens a dialog or loads
anything from another origin.

Mallory (`hostile.py`) has a display name, an organisation, a thread title and a post full of
script, event handlers, javascript: and data: links, SVG, iframes and CSS. The `browse`
fixture fails the test on any dialog, script error, console error (a CSP refusal included)
or request off 127.0.0.1; here the pages are also searched for markup that must not exist.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from . import hostile
from .conftest import Browse, Demo

LIVE_MARKUP = """() => {
  const found = [];
  for (const e of document.querySelectorAll("body *")) {
    const tag = e.tagName.toLowerCase();
    if (["script", "iframe", "object", "embed", "style", "svg", "math", "base"].includes(tag)
        && !(tag === "script" && e.src.startsWith(location.origin + "/static/"))) {
      found.push(tag);
    }
    for (const a of e.attributes) {
      const value = a.value.trim().toLowerCase();
      if (a.name.startsWith("on") || a.name === "style" || a.name === "srcdoc"
          || (["href", "src", "action", "formaction"].includes(a.name)
              && /^(javascript|data|vbscript):/.test(value.replace(/\\s/g, "")))) {
        found.push(`${tag}[${a.name}=${a.value}]`);
      }
    }
  }
  return found;
}"""


def assert_inert(page: Any) -> None:
    """No live markup from the payloads, and hovering over what is there runs nothing."""
    assert page.evaluate(LIVE_MARKUP) == []
    for element in page.locator("main .post-body a, main .post-body b, main img").all()[:20]:
        if element.is_visible():
            element.hover()


PAGES = [
    # (who, path)
    (None, "{hostile_thread}"),
    (None, f"/n/{hostile.NETWORK}"),
    (None, "/"),
    (None, "/u/mallory"),
    (None, "/o/mallory-borough"),
    (None, "/search?q=mallorypayload"),
    ("fiona.campbell", "{hostile_thread}"),  # the network's facilitator
    ("fiona.campbell", f"/n/{hostile.NETWORK}/members"),
    ("fiona.campbell", "/notifications"),
    ("mallory", "/account"),
    ("mallory", "{hostile_thread}"),
    ("admin", "/admin/users?q=mallory"),
    ("admin", "/admin/organisations"),
    ("admin", f"/admin/organisations/{hostile.ORGANISATION_SLUG}/edit"),
]


@pytest.mark.parametrize(("who", "path"), PAGES, ids=[f"{w or 'anonymous'}:{p}" for w, p in PAGES])
def test_hostile_content_is_shown_as_text_and_runs_nothing(
    browse: Browse, demo: Demo, who: str | None, path: str
) -> None:
    page = browse.open(who)
    response = page.goto(path.format(**vars(demo)))
    assert response is not None and response.status == 200
    assert_inert(page)


def test_the_hostile_thread_reads_exactly_as_written(browse: Browse, demo: Demo) -> None:
    page = browse.open()
    page.goto(demo.hostile_thread)
    expect(page.get_by_role("heading", level=1)).to_have_text(hostile.THREAD_TITLE)
    assert page.title().startswith(hostile.THREAD_TITLE)
    opening = page.locator("li.post .post-body").first
    expect(opening).to_contain_text('<script>alert("body")</script>')
    expect(page.locator("li.post .post-byline").first).to_contain_text(hostile.DISPLAY_NAME)
    expect(page.locator("li.post .post-byline").first).to_contain_text(hostile.ORGANISATION_NAME)


@pytest.mark.parametrize("query", hostile.SEARCH_QUERIES)
def test_hostile_search_queries_are_shown_as_text(browse: Browse, query: str) -> None:
    page = browse.open()
    page.goto("/search?q=" + quote(query))
    expect(page.get_by_role("searchbox", name="Search for")).to_have_value(query)
    assert_inert(page)


def test_hostile_tags_title_and_body_through_the_new_thread_form(browse: Browse) -> None:
    page = browse.open("kwame.mensah")
    page.goto("/n/data-leaders/new")
    page.get_by_label("Title").fill(hostile.THREAD_TITLE + " (again)")
    page.get_by_label("Your post").fill(hostile.THREAD_BODY)
    page.get_by_label("Tags (optional)").fill(hostile.TAGS)
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("region", name="Preview")).to_contain_text("mallorypayload")
    expect(page.get_by_label("Tags (optional)")).to_have_value(hostile.TAGS)
    assert_inert(page)
    page.get_by_role("button", name="Start thread").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(hostile.THREAD_TITLE + " (again)")
    # Tags become slugs: letters, digits and hyphens only.
    tags = page.get_by_role("list", name="Tags").get_by_role("listitem").all_inner_texts()
    assert tags and all(re.fullmatch(r"[a-z0-9-]+", tag) for tag in tags), tags
    assert_inert(page)


def test_similar_thread_suggestions_show_hostile_titles_as_text(browse: Browse) -> None:
    page = browse.open("kwame.mensah")
    page.goto("/n/data-leaders/new")
    page.get_by_label("Title").press_sequentially("Mallory's script alert title", delay=5)
    link = page.locator("#similar").get_by_role("link", name=hostile.THREAD_TITLE, exact=True)
    expect(link).to_be_visible()
    assert_inert(page)


def test_the_watch_on_every_page_catches_dialogs_and_script_errors(browse: Browse) -> None:
    """The guard the tests above rely on: it does see a dialog and an uncaught error."""
    page = browse.open()
    page.goto("/")
    page.evaluate("() => { alert('caught'); setTimeout(() => { throw new Error('boom'); }); }")
    page.wait_for_timeout(200)
    caught, browse.problems[:] = list(browse.problems), []
    assert any("dialog opened" in p and "caught" in p for p in caught), caught
    assert any("boom" in p for p in caught), caught
