"""Keyboard only: start a thread and reply to it with Tab, Enter and typing, never a click.

At every stop the focused element must be visibly marked (WCAG 2.4.7).
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from .conftest import Browse, unique

FOCUS_STYLE = """() => {
  const s = getComputedStyle(document.activeElement);
  return {outline: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2,
          shadow: s.boxShadow !== "none"};
}"""


def tab_to(page: Any, target: Any, presses: int = 150) -> None:
    """Press Tab until `target` has the focus, checking that each stop shows it."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        style = page.evaluate(FOCUS_STYLE)
        tag = page.evaluate("document.activeElement.outerHTML.slice(0, 120)")
        assert style["outline"] or style["shadow"], f"no visible focus on {tag}"
        if target.evaluate("e => e === document.activeElement"):
            return
    raise AssertionError(f"{target} never had the focus")


def test_start_a_thread_and_reply_with_the_keyboard_alone(browse: Browse) -> None:
    page = browse.open("kwame.mensah")
    page.goto("/n/data-leaders")

    # The first stop is the skip link; it takes the focus past the header.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    tab_to(page, page.get_by_role("link", name="Start a thread"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Start a thread")

    title = unique("Keyboard only: how do you run retrospectives?")
    tab_to(page, page.get_by_label("Title"))
    page.keyboard.type(title)
    tab_to(page, page.get_by_label("Your post"))
    page.keyboard.type("We run them monthly.\n\nWhat works for you?")
    tab_to(page, page.get_by_role("button", name="Start thread"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)

    tab_to(page, page.get_by_label("Your reply"))
    page.keyboard.type("Answering myself: fortnightly is better.")
    tab_to(page, page.get_by_role("button", name="Post reply"))
    page.keyboard.press("Enter")
    expect(page.locator(".post-body", has_text="fortnightly is better")).to_be_visible()

    # A reply to that reply, through its own Reply link.
    reply_link = page.locator("li.post", has_text="fortnightly").get_by_role(
        "link", name=re.compile("^Reply to Kwame Mensah")
    )
    tab_to(page, reply_link)
    page.keyboard.press("Enter")
    expect(
        page.get_by_role("heading", name=re.compile("^Replying to Kwame Mensah"))
    ).to_be_visible()
    # The reply form opens under the post with the focus in it (with script), or on its own
    # page (without): either way the keyboard reaches the text box.
    box = page.get_by_label("Your reply")
    if not box.evaluate("e => e === document.activeElement"):
        tab_to(page, box)
    page.keyboard.type("And quarterly for the big ones.")
    tab_to(page, page.get_by_role("button", name="Post reply"))
    page.keyboard.press("Enter")
    expect(page.locator(".post-body", has_text="quarterly for the big ones")).to_be_visible()
