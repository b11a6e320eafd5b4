"""Following a long conversation: collapsing reply branches, jumping to the summary, and the
keyboard shortcuts (off until turned on, and never taking keys typed into a form)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import Browse, Demo


def test_a_reply_branch_hides_and_shows_again(browse: Browse, demo: Demo) -> None:
    page = browse.open()
    page.goto(demo.thread)
    visible = page.locator("ol.posts > li.post:visible")
    before = visible.count()
    toggle = page.locator("button.branch-toggle").first
    expect(toggle).to_have_attribute("aria-expanded", "true")
    count = re.search(r"Hide (\d+)", toggle.inner_text())
    assert count, toggle.inner_text()
    replies = int(count.group(1))
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_contain_text(f"Show {replies}")
    expect(visible).to_have_count(before - replies)
    toggle.click()
    expect(visible).to_have_count(before)


def test_without_javascript_every_reply_is_shown_and_nothing_to_collapse(
    browse: Browse, demo: Demo
) -> None:
    page = browse.open(js=False)
    page.goto(demo.thread)
    expect(page.locator("button.branch-toggle")).to_have_count(0)
    expect(page.locator("ol.posts > li.post:visible")).to_have_count(
        page.locator("ol.posts > li.post").count()
    )


def test_jump_to_the_summary(browse: Browse, demo: Demo) -> None:
    page = browse.open(phone=True)
    page.goto(demo.thread)
    page.get_by_role("navigation", name="In this thread").get_by_role(
        "link", name="Jump to the summary"
    ).click()
    expect(page).to_have_url(re.compile("#summary$"))
    expect(page.get_by_role("heading", name="Summary", exact=True)).to_be_in_viewport()


def test_keyboard_shortcuts_are_off_until_turned_on_and_leave_typing_alone(
    browse: Browse, demo: Demo
) -> None:
    page = browse.open("kwame.mensah")
    page.goto(demo.thread)
    first_post = page.locator("ol.posts > li.post").first
    page.keyboard.press("j")
    expect(first_post).not_to_be_focused()

    page.get_by_role("link", name="Keyboard shortcuts").click()
    page.get_by_role("button", name="Turn shortcuts on").click()
    expect(page.get_by_role("status")).to_have_text("Keyboard shortcuts are on in this browser.")

    page.goto(demo.thread)
    page.keyboard.press("j")
    expect(first_post).to_be_focused()
    page.keyboard.press("j")
    second = page.locator("ol.posts > li.post").nth(1)
    expect(second).to_be_focused()
    page.keyboard.press("k")
    expect(first_post).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("r")
    expect(page.get_by_role("heading", name=re.compile("^Replying to"))).to_be_visible()

    # In a form field every key is text.
    page.get_by_label("Your reply").click()
    page.keyboard.type("j k r / ?")
    expect(page.get_by_label("Your reply")).to_have_value("j k r / ?")
    expect(page.get_by_role("heading", name=re.compile("^Replying to"))).to_be_visible()
    page.get_by_label("Your reply").fill("")  # or leaving the page would ask first

    page.goto("/")
    page.keyboard.press("/")
    expect(page.get_by_role("searchbox", name="Search past discussions")).to_be_focused()
    page.keyboard.press("Escape")
    page.locator("h1").click()
    page.keyboard.press("?")
    expect(page.get_by_role("heading", level=1)).to_have_text("Keyboard shortcuts")
    page.get_by_role("button", name="Turn shortcuts off").click()
    expect(page.get_by_role("status")).to_have_text("Keyboard shortcuts are off in this browser.")


def test_live_preview_shows_the_post_as_it_will_be_stored(browse: Browse, demo: Demo) -> None:
    page = browse.open("kwame.mensah")
    page.goto("/n/data-leaders/new")
    live = page.get_by_role("region", name="Live preview")
    expect(live).to_be_hidden()
    page.get_by_label("Your post").fill("A **bold** claim <script>alert(1)</script>")
    expect(live).to_be_visible()
    expect(live.locator("strong")).to_have_text("bold")
    expect(live).to_contain_text("<script>alert(1)</script>")  # shown as text, never run


def test_without_javascript_there_is_no_live_preview_and_the_button_previews(
    browse: Browse, demo: Demo
) -> None:
    page = browse.open("kwame.mensah", js=False)
    page.goto("/n/data-leaders/new")
    expect(page.get_by_role("region", name="Live preview")).to_have_count(0)
    page.get_by_label("Title").fill("Previewing without script")
    page.get_by_label("Your post").fill("A **bold** claim")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("section.preview strong")).to_have_text("bold")


def test_inline_reply_opens_under_the_post_and_answers_it(browse: Browse, demo: Demo) -> None:
    page = browse.open("kwame.mensah")
    page.goto(demo.thread)
    post = page.locator(f"#p{demo.reply_id}")
    post.locator("a[data-inline-reply]").first.click()
    form = post.locator("form").filter(has=page.get_by_label("Your reply"))
    expect(form).to_be_visible()
    expect(form.get_by_label("Your reply")).to_be_focused()
    expect(form).to_contain_text("Replying to")
    form.get_by_label("Your reply").fill("Answering this one inline.")
    form.get_by_role("button", name="Post reply").click()
    expect(page.get_by_text("Answering this one inline.")).to_be_visible()
    posts = page.request.get(f"/api/v1/n/data-leaders/t/{demo.thread_id}").json()["posts"]
    mine = next(p for p in posts if "Answering this one inline." in (p.get("html") or ""))
    assert mine["parent"] == demo.reply_id
