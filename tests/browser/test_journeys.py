"""What people come to do, end to end in a real browser: with JavaScript on, and the core
journeys again with it off (every page must work without it).

Each journey starts its own threads, with titles of its own, on the shared demo server.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD, Browse, Server, login, unique

JS = pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])


def start_thread(page: Any, network: str, title: str, body: str, tags: str = "") -> None:
    page.goto(f"/n/{network}")
    page.get_by_role("link", name="Start a thread").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Your post").fill(body)
    if tags:
        page.get_by_label("Tags (optional)").fill(tags)
    page.get_by_role("button", name="Start thread").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


def post(page: Any, text: str) -> Any:
    """The list item of the post whose body has `text`."""
    return page.locator("li.post").filter(has=page.locator(".post-body", has_text=text))


def depth(item: Any) -> int:
    match = re.search(r"\bdepth-(\d+)", item.get_attribute("class") or "")
    assert match, item
    return int(match.group(1))


@JS
def test_a_newcomer_signs_up_confirms_joins_starts_a_thread_and_edits_it(
    browse: Browse, server: Server, js: bool
) -> None:
    page = browse.open(js=js)
    n = unique("n").split()[-1]
    username, email = f"newcomer{n}", f"newcomer{n}@northwick.example"

    page.goto("/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Work email address").fill(email)
    page.get_by_label("Your name").fill(f"Nia Newcomer {n}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("a long enough new password")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")

    page.goto(server.wait_for_mail(email, "/verify/"))
    page.get_by_role("button", name="Confirm my address").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your address is confirmed")
    login(page, username, "a long enough new password")

    # Joining a public network, then starting a thread in it, with a preview on the way.
    page.goto("/n/data-science")
    page.get_by_role("button", name="Join this network").click()
    expect(page.get_by_text("You are a member of this network.")).to_be_visible()
    title = unique("How do you version your analysis notebooks?")
    page.get_by_role("link", name="Start a thread").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Your post").fill("We use **git** and a review rota.")
    page.get_by_label("Tags (optional)").fill("notebooks, version-control")
    page.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("region", name="Preview")
    expect(preview.locator("strong")).to_have_text("git")
    expect(page.get_by_label("Title")).to_have_value(title)  # the form keeps what was typed
    page.get_by_role("button", name="Start thread").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_role("list", name="Tags")).to_contain_text("version-control")

    # Editing the opening post keeps the old version in its history.
    page.get_by_role("link", name=re.compile(r"^Edit the post by Nia Newcomer")).click()
    page.get_by_label("Your post").fill("We use **git**, a review rota and nbstripout.")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("region", name="Preview")).to_contain_text("nbstripout")
    page.get_by_role("button", name="Save changes").click()
    opening = post(page, "nbstripout")
    expect(opening).to_be_visible()
    opening.get_by_role("link", name="edited").click()
    expect(page.locator("main")).to_contain_text("a review rota.")


@JS
def test_members_reply_to_a_reply_and_the_author_is_notified(browse: Browse, js: bool) -> None:
    title = unique("Who owns your data catalogue?")
    sarah = browse.open("sarah.whitlock", js=js)
    start_thread(sarah, "data-leaders", title, "Is it IT, the data team, or nobody?")

    raj = browse.open("raj.patel", js=js)
    raj.goto(sarah.url)
    raj.get_by_label("Your reply").fill("The data team, with a named steward per domain.")
    raj.get_by_role("button", name="Post reply").click()
    expect(post(raj, "named steward")).to_be_visible()

    # Sarah answers Raj's reply (not the thread), quoting nothing: it nests under his.
    sarah.reload()
    post(sarah, "named steward").get_by_role("link", name="Reply to Raj Patel").click()
    expect(sarah.get_by_role("heading", name=re.compile("Replying to Raj Patel"))).to_be_visible()
    sarah.get_by_label("Your reply").fill("How many stewards did you need?")
    sarah.get_by_role("button", name="Post reply").click()
    answer = post(sarah, "How many stewards")
    expect(answer).to_be_visible()
    assert depth(answer) == depth(post(sarah, "named steward")) + 1

    # Raj hears about it, and the notification takes him to the reply.
    raj.get_by_role("link", name=re.compile(r"^Notifications")).click()
    item = raj.locator("li.notification", has_text=title).first
    expect(item).to_be_visible()
    item.get_by_role("button", name=re.compile("^Open")).click()
    expect(raj.get_by_role("heading", level=1)).to_have_text(title)
    expect(post(raj, "How many stewards")).to_be_visible()


@JS
def test_search_finds_a_discussion_and_opens_it(browse: Browse, js: bool) -> None:
    page = browse.open(js=js)
    page.goto("/")
    page.get_by_role("searchbox", name="Search past discussions").fill("data team structured")
    page.get_by_role("searchbox", name="Search past discussions").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Search past discussions")
    results = page.locator("li.result")
    expect(results.first).to_be_visible()
    first = results.first.get_by_role("heading").get_by_role("link")
    title = first.inner_text()
    first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


@JS
def test_a_facilitator_pins_a_thread_and_writes_its_summary(browse: Browse, js: bool) -> None:
    title = unique("Data maturity assessments: worth it?")
    kwame = browse.open("kwame.mensah", js=js)
    start_thread(kwame, "data-leaders", title, "Has anyone run one across the whole council?")

    priya = browse.open("priya.shah", js=js)
    priya.goto(kwame.url)
    priya.get_by_role("button", name="Pin thread").click()
    expect(priya.locator(".thread-header .badge--pinned")).to_have_text("Pinned")
    priya.get_by_role("link", name="write a summary").click()
    priya.get_by_label("Summary").fill("Two councils ran one; **both** would again.")
    priya.get_by_role("button", name="Preview").click()
    expect(priya.get_by_role("region", name="Preview").locator("strong")).to_have_text("both")
    priya.get_by_role("button", name="Save summary").click()
    summary = priya.get_by_role("region", name="Summary")
    expect(summary).to_contain_text("would again")

    # The network's page lists it as pinned, and its knowledge base has the article.
    kwame.goto("/n/data-leaders/kb")
    kwame.get_by_role("link", name=title).click()
    expect(kwame.locator("main")).to_contain_text("would again")


@JS
def test_a_member_flags_a_post_and_a_facilitator_hides_it(browse: Browse, js: bool) -> None:
    title = unique("Selling our dataset to a broker")
    raj = browse.open("raj.patel", js=js)
    start_thread(raj, "data-leaders", title, "Buy cheap followers at spam.example today")

    kwame = browse.open("kwame.mensah", js=js)
    kwame.goto(raj.url)
    kwame.get_by_role("link", name="Flag the post by Raj Patel").click()
    kwame.get_by_label("Spam").check()
    kwame.get_by_role("button", name="Flag post").click()
    expect(kwame.get_by_role("heading", level=1)).to_have_text("Thank you: the post is flagged")

    priya = browse.open("priya.shah", js=js)
    priya.goto("/")
    priya.get_by_role("link", name="Flagged posts").click()
    flagged = priya.locator("li.flagged", has_text=title)
    expect(flagged).to_contain_text("Spam")
    flagged.get_by_role("link", name=re.compile("^Hide the post")).click()
    priya.get_by_label("Note for the other facilitators").fill("Spam, not a discussion.")
    priya.get_by_role("button", name="Hide post").click()

    kwame.goto(raj.url)
    expect(kwame.locator("main")).to_contain_text("This post was hidden by the facilitators.")
    expect(kwame.locator("main")).not_to_contain_text("spam.example")


def test_logging_in_by_the_form_with_javascript_off(browse: Browse) -> None:
    page = browse.open(js=False)
    page.goto("/login")
    page.get_by_label("Username or email", exact=True).fill("helen.marsh")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name=re.compile("Helen Marsh"))).to_be_visible()
    # Her members-only network is hers to read.
    page.goto("/n/information-governance")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Information Governance")


def test_similar_threads_are_suggested_while_typing_a_title(browse: Browse) -> None:
    page = browse.open("kwame.mensah")
    page.goto("/n/data-leaders/new")
    page.get_by_label("Title").press_sequentially("How is your data team structured", delay=5)
    suggestions = page.locator("#similar")
    expect(suggestions).to_contain_text("These discussions look similar")
    expect(suggestions.get_by_role("link").first).to_be_visible()


@JS
def test_a_member_quotes_a_post_in_a_reply(browse: Browse, js: bool) -> None:
    title = unique("Retention periods for CCTV")
    sarah = browse.open("sarah.whitlock", js=js)
    start_thread(sarah, "data-leaders", title, "We keep footage for thirty-one days.")
    raj = browse.open("raj.patel", js=js)
    raj.goto(sarah.url)
    post(raj, "thirty-one days").get_by_role("link", name=re.compile("^Quote")).click()
    box = raj.get_by_label("Your reply")
    expect(box).to_have_value(re.compile("thirty-one days"))
    box.press("Control+End")
    box.type("\n\nWe settled on fourteen.")
    raj.get_by_role("button", name="Post reply").click()
    reply = post(raj, "settled on fourteen")
    expect(reply).to_be_visible()
    expect(reply.locator("blockquote")).to_contain_text("thirty-one days")


@JS
def test_a_reply_sent_after_logging_out_in_another_tab_is_kept_and_sent_after_logging_in(
    browse: Browse, js: bool
) -> None:
    title = unique("Do you publish your data strategy?")
    author = browse.open("priya.shah", js=js)
    start_thread(author, "data-leaders", title, "Ours is on the intranet only.")

    page = browse.open(js=js)  # a session of its own: logging out ends only this one
    login(page, "marcus.grant")
    page.goto(author.url)
    words = "Ours is public, with a plain-English version."
    page.get_by_label("Your reply").fill(words)
    if js:  # the live preview has asked the server already (it would be refused after)
        expect(page.get_by_role("region", name="Live preview")).to_contain_text("plain-English")
    # Logged out in another tab: the same browser's cookies, the form another page sends.
    token = page.locator("section.reply-box input[name=csrf_token]").input_value()
    response = page.context.request.post("/logout", form={"csrf_token": token})
    assert response.ok and "Log in" in response.text()

    page.get_by_role("button", name="Post reply").click()
    expect(page.get_by_text("You were logged out before this was sent")).to_be_visible()
    page.get_by_label("Username or email", exact=True).fill("marcus.grant")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Not sent yet")
    expect(page.get_by_label("Your text")).to_have_value(words)
    page.get_by_role("button", name="Post reply").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(post(page, "plain-English version")).to_be_visible()


def test_leaving_a_reply_unsent_asks_first_and_sending_it_does_not(browse: Browse) -> None:
    title = unique("Who signs off your data sharing agreements?")
    page = browse.open("priya.shah", dialogs=True)
    start_thread(page, "data-leaders", title, "The SIRO, after legal have read it.")
    thread_url = page.url
    asked: list[str] = []

    def stay(dialog: Any) -> None:
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.get_by_label("Your reply").fill("Ours go to the DPO first.")
    page.get_by_role("link", name="Knowledge base").first.click()
    page.wait_for_timeout(300)
    assert asked == ["beforeunload"]
    assert page.url == thread_url
    expect(page.get_by_label("Your reply")).to_have_value("Ours go to the DPO first.")
    page.get_by_role("button", name="Post reply").click()
    expect(post(page, "DPO first")).to_be_visible()
    assert asked == ["beforeunload"]  # sending it asked nothing
    page.get_by_role("link", name="Knowledge base").first.click()
    expect(page.get_by_role("heading", level=1)).not_to_have_text(title)
    assert asked == ["beforeunload"]
