"""Summaries and the knowledge base, through the pages and the services, on both databases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import NamedTuple
from xml.etree import ElementTree

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from forum import changes
from forum.accounts.models import User
from forum.errors import NotFound, PermissionDenied, ValidationError
from forum.knowledge import queries as kb_queries
from forum.knowledge import services
from forum.knowledge.diff import change_counts, word_diff
from forum.networks.models import Network, Role, Visibility
from forum.permissions import viewer_for
from forum.search.indexer import catch_up
from forum.search.service import SearchService
from forum.search.syntax import Filters
from forum.threads import services as threads_services
from forum.threads.models import Post, Summary, SummaryRevision, Thread
from forum.timeutil import utcnow
from tests.conftest import QueryCounter
from tests.factories import (
    csrf,
    login,
    make_member,
    make_network,
    make_org,
    make_reply,
    make_thread,
    make_user,
)


class Setup(NamedTuple):
    network: Network
    fac: User
    alice: User
    bob: User
    thread: Thread
    reply: Post


async def _summarise(thread: Thread, facilitator: User, body: str) -> Summary:
    viewer = await viewer_for(facilitator)
    return await services.write_summary(viewer=viewer, thread=thread, body=body)


async def _setup(visibility: Visibility = Visibility.PUBLIC) -> Setup:
    network = await make_network("dl", visibility=visibility, name="Data Leaders")
    fac = await make_member(network, await make_user("fac"), role=Role.FACILITATOR)
    hackney = await make_org("Hackney")
    brent = await make_org("Brent")
    alice = await make_member(network, await make_user("alice", organisation=hackney))
    bob = await make_member(network, await make_user("bob", organisation=brent))
    thread = await make_thread(
        network, alice, title="How is your data team structured?", tags="teams"
    )
    reply = await make_reply(thread, bob, "We run **federated** with a joint board.")
    return Setup(network, fac, alice, bob, thread, reply)


async def test_facilitator_writes_a_summary_shown_above_the_first_post(
    db: str, client: httpx.AsyncClient
) -> None:
    _network, fac, _alice, _bob, thread, _ = await _setup()
    await login(client, fac)
    token = await csrf(client, f"/n/dl/t/{thread.id}/summary")
    response = await client.post(
        f"/n/dl/t/{thread.id}/summary",
        data={
            "csrf_token": token,
            "body": "Three models came up: *hub and spoke*.",
            "action": "post",
        },
    )
    assert response.status_code == 303
    page = HTMLParser((await client.get(f"/n/dl/t/{thread.id}-{thread.slug}")).text)
    summary = page.css_first("section.summary")
    assert summary is not None
    assert "<em>hub and spoke</em>" in summary.html
    assert "Contributors: Hackney, Brent" in summary.text(separator=" ").replace("  ", " ")
    assert "last reviewed" in summary.text()
    # Above the first post.
    html = page.html or ""
    assert html.index('class="summary"') < html.index('class="posts"')


async def test_summary_form_keeps_the_text_and_names_the_problem(
    db: str, client: httpx.AsyncClient
) -> None:
    _network, fac, _, _, thread, _ = await _setup()
    await login(client, fac)
    token = await csrf(client, f"/n/dl/t/{thread.id}/summary")
    response = await client.post(
        f"/n/dl/t/{thread.id}/summary", data={"csrf_token": token, "body": "   "}
    )
    assert response.status_code == 422
    assert "Write something" in response.text
    huge = "word " * 20_000
    response = await client.post(
        f"/n/dl/t/{thread.id}/summary", data={"csrf_token": token, "body": huge}
    )
    assert response.status_code == 422
    assert "the limit is" in response.text and "word word word" in response.text
    for bad in ("abc", "99999999", "-1"):
        response = await client.post(
            f"/n/dl/t/{thread.id}/summary",
            data={"csrf_token": token, "body": "Fine", "source": bad},
        )
        assert response.status_code == 422, bad
        assert "not a live post" in response.text
    assert not await Summary.exists(thread_id=thread.id)


async def test_every_edit_is_a_version_with_history_diff_and_restore(
    db: str, client: httpx.AsyncClient
) -> None:
    _network, fac, _alice, _bob, thread, _ = await _setup()
    await _summarise(thread, fac, "Hub and spoke is common.")
    await _summarise(thread, fac, "Hub and spoke is the most common model.")
    await _summarise(thread, fac, "Hub and spoke is the most common model.")  # unchanged: no-op
    summary = await Summary.get(thread_id=thread.id)
    versions = await kb_queries.summary_versions(summary)
    assert [v.number for v in versions] == [1, 2]
    assert versions[0].body == "Hub and spoke is common." and versions[1].current

    response = await client.get(f"/n/dl/t/{thread.id}/summary/history?from=1&to=2")
    assert response.status_code == 200
    diff = HTMLParser(response.text).css_first("div.diff")
    assert diff is not None
    assert [n.text() for n in diff.css("ins")] == ["added: the most common model."]
    assert [n.text() for n in diff.css("del")] == ["removed: common."]
    # Nonsense version numbers are clamped, never a 500.
    for query in ("?from=0&to=99", "?from=x&to=", "?from=2&to=1"):
        assert (await client.get(f"/n/dl/t/{thread.id}/summary/history{query}")).status_code == 200

    await login(client, fac)
    token = await csrf(client, f"/n/dl/t/{thread.id}/summary/history")
    response = await client.post(
        f"/n/dl/t/{thread.id}/summary/restore", data={"csrf_token": token, "version": "1"}
    )
    assert response.status_code == 303
    summary = await Summary.get(thread_id=thread.id)
    assert summary.body == "Hub and spoke is common."
    assert await SummaryRevision.filter(summary_id=summary.id).count() == 2  # now 3 versions
    response = await client.post(
        f"/n/dl/t/{thread.id}/summary/restore", data={"csrf_token": token, "version": "7"}
    )
    assert response.status_code == 422


def test_word_diff_escapes_and_counts() -> None:
    html = str(word_diff("a <b> c", "a <i> c d"))
    assert "<b>" not in html and "&lt;b&gt;" in html and "&lt;i&gt;" in html
    assert change_counts("a b c", "a x c d") == (2, 1)


async def test_promoting_a_reply_copies_and_credits_it(db: str, client: httpx.AsyncClient) -> None:
    network, fac, alice, _bob, thread, reply = await _setup()
    await login(client, fac)
    page = await client.get(f"/n/dl/t/{thread.id}-{thread.slug}")
    assert f"/n/dl/t/{thread.id}/summary?from={reply.id}" in page.text
    form = await client.get(f"/n/dl/t/{thread.id}/summary?from={reply.id}")
    assert "We run **federated** with a joint board." in form.text
    assert f'name="source" value="{reply.id}"' in form.text
    token = await csrf(client, f"/n/dl/t/{thread.id}/summary")
    response = await client.post(
        f"/n/dl/t/{thread.id}/summary",
        data={"csrf_token": token, "body": reply.body, "source": str(reply.id)},
    )
    assert response.status_code == 303
    summary = await Summary.get(thread_id=thread.id)
    assert summary.source_post_id == reply.id
    page = await client.get(f"/n/dl/t/{thread.id}-{thread.slug}")
    assert "From a reply by" in page.text and "User" in page.text
    # A post of another thread, or a deleted one, cannot be promoted.
    other = await make_thread(network, alice, title="Other")
    other_post = await Post.get(thread_id=other.id)
    assert (
        await client.get(f"/n/dl/t/{thread.id}/summary?from={other_post.id}")
    ).status_code == 422


async def test_replies_after_a_review_make_the_summary_stale_until_reviewed(
    db: str, client: httpx.AsyncClient
) -> None:
    _network, fac, alice, bob, thread, _ = await _setup()
    await _summarise(thread, fac, "Federated works.")
    # Back-date the discussion and the review, so that the next replies are clearly after it.
    await Post.filter(thread_id=thread.id).update(created_at=utcnow() - timedelta(hours=2))
    await Summary.filter(thread_id=thread.id).update(reviewed_at=utcnow() - timedelta(hours=1))
    found = await kb_queries.article(thread)
    assert found is not None and found.replies_since == 0
    await make_reply(thread, alice, "Late: we moved to centralised.")
    await make_reply(thread, bob, "Same here.")
    found = await kb_queries.article(thread)
    assert found is not None and found.replies_since == 2 and found.stale
    page = await client.get(f"/n/dl/t/{thread.id}-{thread.slug}")
    assert "2 replies since this summary was last reviewed" in page.text
    kb = await client.get("/n/dl/kb?status=stale")
    assert thread.title in kb.text and "2 replies since" in kb.text

    await login(client, fac)
    token = await csrf(client, f"/n/dl/t/{thread.id}-{thread.slug}")
    response = await client.post(
        f"/n/dl/t/{thread.id}/summary/reviewed", data={"csrf_token": token}
    )
    assert response.status_code == 303
    found = await kb_queries.article(thread)
    assert found is not None and not found.stale
    assert thread.title not in (await client.get("/n/dl/kb?status=stale")).text


async def test_the_thread_page_reads_the_summary_panel_from_its_posts_as_the_kb_does(
    db: str,
) -> None:
    """The thread page computes contributors, replies since review and tags from the posts
    it has loaded; the knowledge base asks the database. Both must agree, with deleted and
    hidden posts, people of no organisation and several organisations."""
    network, fac, alice, _bob, thread, _reply = await _setup()
    await _summarise(thread, fac, "Federated works.")
    await Post.filter(thread_id=thread.id).update(created_at=utcnow() - timedelta(hours=2))
    await Summary.filter(thread_id=thread.id).update(reviewed_at=utcnow() - timedelta(hours=1))
    camden = await make_member(
        network, await make_user("cam", organisation=await make_org("Camden"))
    )
    loner = await make_member(network, await make_user("loner"))
    await make_reply(thread, loner, "No organisation here.")
    gone = await make_reply(thread, camden, "Deleted later.")
    hidden = await make_reply(thread, camden, "Hidden later.")
    await make_reply(thread, alice, "And another from Hackney.")
    await Post.filter(id=gone.id).update(deleted=True)
    await Post.filter(id=hidden.id).update(hidden=True)
    from forum.threads import reading
    from forum.threads.queries import get_thread

    thread = await get_thread(network, thread.id)
    posts = [node.post for node in await reading.thread_posts(thread.id)]
    from_db = await kb_queries.article(thread)
    head = await reading.thread_head(thread.id)
    assert head is not None
    summary = reading.summary_of(head, posts)
    assert summary is not None
    from_posts = kb_queries.page_article(summary, head.tags, posts)
    assert from_db is not None and from_posts is not None
    assert from_posts.contributors == from_db.contributors == ["Brent", "Hackney"]  # a tie: by name
    assert from_posts.replies_since == from_db.replies_since == 2
    assert from_posts.tags == from_db.tags == ["teams"]
    # The page's summary row says what the model does.
    model = from_db.summary
    assert isinstance(model, Summary)
    assert summary.last_reviewed == model.last_reviewed
    assert summary.created_at == model.created_at and summary.created_at.tzinfo is not None
    assert (summary.body_html, summary.body_text) == (model.body_html, model.body_text)
    assert (summary.author.username, summary.author.display_name) == (
        model.author.username,
        model.author.display_name,
    )


async def test_only_facilitators_and_admins_write_summaries(db: str) -> None:
    _network, fac, alice, _bob, thread, _ = await _setup(Visibility.MEMBERS)
    other_net = await make_network("other")
    other_fac = await make_member(other_net, role=Role.FACILITATOR)
    admin = await make_user(is_admin=True)
    outsider = await make_user()
    for user, error in ((alice, PermissionDenied), (other_fac, NotFound), (outsider, NotFound)):
        with pytest.raises(error):
            await _summarise(thread, user, "Mine.")
    with pytest.raises(NotFound):
        await services.mark_reviewed(viewer=await viewer_for(None), thread=thread)
    await _summarise(thread, admin, "Admin's summary.")
    await _summarise(thread, fac, "Facilitator's summary.")
    with pytest.raises(ValidationError):
        await _summarise(thread, fac, "")


async def test_knowledge_base_groups_by_tag_and_hides_members_only_articles(
    db: str, client: httpx.AsyncClient
) -> None:
    network, fac, alice, _bob, thread, _ = await _setup()
    await _summarise(thread, fac, "Hub and spoke, centralised, federated.")
    secret_net = await make_network("secret", visibility=Visibility.MEMBERS, name="Secret")
    sfac = await make_member(secret_net, role=Role.FACILITATOR)
    secret = await make_thread(secret_net, sfac, title="Zanzibarcanary plans", tags="teams")
    await _summarise(secret, sfac, "The zanzibarcanary conclusion.")
    untagged = await make_thread(network, alice, title="No tags here")
    await _summarise(untagged, fac, "Untagged knowledge.")

    page = HTMLParser((await client.get("/n/dl/kb")).text)
    headings = [" ".join(h.text().split()) for h in page.css("section.shelf h2")]
    assert headings == ["teams (1)", "Not tagged (1)"]
    assert "Hackney, Brent" in page.text()
    everything = await client.get("/kb")
    assert "zanzibarcanary" not in everything.text.lower()
    assert "How is your data team structured?" in everything.text
    assert "zanzibarcanary" not in (await client.get("/kb?tag=teams")).text.lower()
    assert (await client.get("/n/secret/kb")).status_code == 404
    assert (await client.get("/n/secret/kb.atom")).status_code == 404
    assert (await client.get(f"/n/secret/kb/{secret.id}-{secret.slug}")).status_code == 404

    await login(client, sfac)
    assert "zanzibarcanary" in (await client.get("/kb")).text.lower()
    assert "zanzibarcanary" in (await client.get("/kb?network=secret")).text.lower()
    # Hostile filters are ignored, never a 500.
    for query in ("?tag=%00", "?tag=" + "x" * 5000, "?network=%00&status=%FF", "?tag=<script>"):
        assert (await client.get("/kb" + query)).status_code == 200


async def test_a_tags_articles_are_paged_and_the_front_page_reads_only_the_newest(
    db: str, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    network, fac, alice, _bob, _thread, _ = await _setup()
    old = await make_thread(network, alice, title="An old rare one", tags="rare")
    await _summarise(old, fac, "Old knowledge.")
    await Summary.filter(thread_id=old.id).update(created_at=utcnow() - timedelta(days=400))
    for i in range(kb_queries.PER_PAGE + 4):
        t = await make_thread(network, alice, title=f"Question {i}", tags="common")
        await _summarise(t, fac, f"Answer {i}.")
    page = HTMLParser((await client.get("/n/dl/kb?tag=common")).text)
    assert len(page.css(".article-list > li")) == kb_queries.PER_PAGE
    nxt = page.css_first("a[rel=next]")
    assert nxt is not None and nxt.attributes["href"] == "/n/dl/kb?tag=common&page=2"
    second = HTMLParser((await client.get("/n/dl/kb?tag=common&page=2")).text)
    assert len(second.css(".article-list > li")) == 4
    assert (await client.get("/n/dl/kb?tag=common&page=x")).status_code == 200
    # The front page chooses its shelves from the newest summaries only: an old tag's shelf
    # is left off, and the tag is still listed with its count.
    monkeypatch.setattr(kb_queries, "FRONT_CANDIDATES", 10)
    front = HTMLParser((await client.get("/n/dl/kb")).text)
    headings = [" ".join(h.text().split()) for h in front.css("section.shelf h2")]
    assert headings == [f"common ({kb_queries.PER_PAGE + 4})"]
    assert "rare (1)" in front.css_first(".tag-index").text()


async def test_a_tags_pages_run_newest_review_first_across_pages_in_a_fixed_number_of_queries(
    db: str, client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    """A tag's page is sorted and cut by the database: the same queries with 3 or 34
    articles, the newest review first on page 1 and the oldest last on page 2, an
    article of another tag or a members-only network on neither."""
    network, fac, alice, _bob, _thread, _ = await _setup()
    secret = await make_network("sec", visibility=Visibility.MEMBERS)
    await make_member(secret, fac, role=Role.FACILITATOR)
    hidden = await make_thread(secret, fac, title="Secret one", tags="common")
    await _summarise(hidden, fac, "Members only.")
    other = await make_thread(network, alice, title="Another tag", tags="rare")
    await _summarise(other, fac, "Not common.")
    base = utcnow() - timedelta(days=100)

    async def add(i: int) -> None:
        t = await make_thread(network, alice, title=f"Question {i:02}", tags="common")
        await _summarise(t, fac, f"Answer {i}.")
        # Reviewed i days after `base`: the higher i, the newer.
        await Summary.filter(thread_id=t.id).update(reviewed_at=base + timedelta(days=i))

    def titles(html: str) -> list[str]:
        return [a.text().strip() for a in HTMLParser(html).css(".article-card h3 a")]

    for i in range(3):
        await add(i)
    await changes.record("summary", 0)
    assert (await client.get("/n/dl/kb?tag=common")).status_code == 200  # counts kept
    count_queries.statements.clear()
    few_page = (await client.get("/n/dl/kb?tag=common")).text
    few = count_queries.count
    assert titles(few_page) == ["Question 02", "Question 01", "Question 00"]
    for i in range(3, kb_queries.PER_PAGE + 4):
        await add(i)
    await changes.record("summary", 0)
    assert (await client.get("/n/dl/kb?tag=common")).status_code == 200
    count_queries.statements.clear()
    first = titles((await client.get("/n/dl/kb?tag=common")).text)
    assert count_queries.count == few
    # The page's ids come cut to its thirty by the database, not as a row per article.
    [ids] = [q for q in count_queries.statements if "g.slug = " in q]
    assert "LIMIT" in ids and "OFFSET" in ids
    last = kb_queries.PER_PAGE + 3
    assert first == [f"Question {i:02}" for i in range(last, 3, -1)]
    second = titles((await client.get("/n/dl/kb?tag=common&page=2")).text)
    assert second == ["Question 03", "Question 02", "Question 01", "Question 00"]
    # Past the last page: the last page.
    assert titles((await client.get("/n/dl/kb?tag=common&page=9")).text) == second


async def test_the_stale_shelf_is_tested_and_sorted_by_the_database_in_a_fixed_number_of_queries(
    db: str, client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    """`?status=stale` lists the summaries with a live reply since their review, newest
    review first, PER_PAGE a page, with `tag=` too; deleted and hidden replies do not make a
    summary stale; a members-only network's never shows. The same queries with 2 or 33 stale
    articles, and no statement whose parameters grow with them (one per summary would
    overflow the drivers' limit, 32,767, on a large forum)."""
    network, fac, alice, bob, _thread, _ = await _setup()
    secret = await make_network("sec", visibility=Visibility.MEMBERS)
    await make_member(secret, fac, role=Role.FACILITATOR)
    await make_member(secret, alice)
    base = utcnow() - timedelta(days=100)

    async def add(i: int, where: Network = network, tags: str = "common") -> Thread:
        t = await make_thread(where, alice, title=f"Question {i:02}", tags=tags)
        await _summarise(t, fac, f"Answer {i}.")
        await Post.filter(thread_id=t.id).update(created_at=base)
        # Reviewed i days after `base`: the higher i, the newer.
        await Summary.filter(thread_id=t.id).update(reviewed_at=base + timedelta(days=i))
        return t

    def titles(html: str) -> list[str]:
        return [a.text().strip() for a in HTMLParser(html).css(".article-card h3 a")]

    secret_one = await add(90, secret)
    await make_reply(secret_one, alice, "Stale, but members only.")
    await add(91)  # never replied to since: not stale
    gone = await add(92)
    await threads_services.delete_post(
        viewer=await viewer_for(bob),
        post=await make_reply(gone, bob, "Withdrawn."),
        network=network,
    )
    hidden = await make_reply(await add(93), bob, "Hidden by a facilitator.")
    await Post.filter(id=hidden.id).update(hidden=True)
    for i in range(2):
        await make_reply(await add(i, tags="rare" if i else "common"), bob, "Since the review.")
    assert (await client.get("/n/dl/kb?status=stale")).status_code == 200  # counts kept
    count_queries.statements.clear()
    few_page = (await client.get("/n/dl/kb?status=stale")).text
    few_count = count_queries.count
    few = titles(few_page)
    heading = HTMLParser(few_page).css_first("section.shelf h2").text()
    assert " ".join(heading.split()) == "Replies since the last review (2)"
    assert few == ["Question 01", "Question 00"]
    assert titles((await client.get("/n/dl/kb?status=stale&tag=rare")).text) == ["Question 01"]
    assert titles((await client.get("/kb?status=stale")).text) == few  # not the secret one
    await login(client, alice)
    assert titles((await client.get("/kb?status=stale")).text) == ["Question 90", *few]
    await client.post("/logout", data={"csrf_token": await csrf(client, "/")})
    for i in range(2, kb_queries.PER_PAGE + 3):
        await make_reply(await add(i), bob, "Since the review.")
    await changes.record("summary", 0)
    assert (await client.get("/n/dl/kb?status=stale")).status_code == 200  # counts kept
    count_queries.statements.clear()
    first = titles((await client.get("/n/dl/kb?status=stale")).text)
    assert count_queries.count == few_count
    assert (
        max(q.count("?") + q.count("$") for q in count_queries.statements)
        <= kb_queries.PER_PAGE + 2
    )
    last = kb_queries.PER_PAGE + 2
    assert first == [f"Question {i:02}" for i in range(last, 2, -1)]
    second = titles((await client.get("/n/dl/kb?status=stale&page=2")).text)
    assert second == ["Question 02", "Question 01", "Question 00"]
    common = titles((await client.get("/n/dl/kb?status=stale&tag=common&page=2")).text)
    assert common == ["Question 02", "Question 00"]


async def test_the_knowledge_bases_counts_are_kept_until_a_write_changes_them(
    db: str, client: httpx.AsyncClient
) -> None:
    """The front page's counts and order over every summary are computed once per change
    of the change log: a new summary, a review and new tags show at once."""
    network, fac, alice, _bob, thread, _ = await _setup()
    await _summarise(thread, fac, "First answer.")
    other = await make_thread(network, alice, title="Second question", tags="teams")
    await _summarise(other, fac, "Second answer.")
    # The first summary reviewed long ago: the second comes first on their shelf.
    await Summary.filter(thread_id=thread.id).update(
        created_at=utcnow() - timedelta(days=30), reviewed_at=utcnow() - timedelta(days=30)
    )
    await changes.record("summary", thread.id)

    def titles(html: str) -> list[str]:
        return [a.text().strip() for a in HTMLParser(html).css(".article-card h3 a")]

    def tag_index(html: str) -> str:
        return " ".join(HTMLParser(html).css_first(".tag-index").text().split())

    front = (await client.get("/n/dl/kb")).text
    assert titles(front) == ["Second question", thread.title]
    assert (await client.get("/n/dl/kb")).text == front  # kept: nothing was written
    # A review moves the first back to the top, at once.
    await login(client, fac)
    token = await csrf(client, f"/n/dl/t/{thread.id}-{thread.slug}")
    reviewed = await client.post(
        f"/n/dl/t/{thread.id}/summary/reviewed", data={"csrf_token": token}
    )
    assert reviewed.status_code == 303
    assert titles((await client.get("/n/dl/kb")).text)[0] == thread.title
    # New tags and a new summary are counted at once.
    token = await csrf(client, f"/n/dl/t/{other.id}/tags")
    retagged = await client.post(
        f"/n/dl/t/{other.id}/tags", data={"csrf_token": token, "tags": "budgets, money"}
    )
    assert retagged.status_code == 303
    third = await make_thread(network, alice, title="Third question", tags="money")
    await _summarise(third, fac, "Third answer.")
    index = tag_index((await client.get("/n/dl/kb")).text)
    assert "money (2)" in index and "budgets (1)" in index and "teams (1)" in index


async def test_article_page_and_atom_feed(db: str, client: httpx.AsyncClient) -> None:
    network, fac, alice, _bob, thread, _ = await _setup()
    await _summarise(thread, fac, "Federated & <b>joint</b> board.")
    response = await client.get(f"/n/dl/kb/{thread.id}-{thread.slug}")
    assert response.status_code == 200
    assert "Contributors:" in response.text and "Read the discussion" in response.text
    assert (await client.get(f"/n/dl/kb/{thread.id}")).status_code == 301
    bare = await make_thread(network, alice, title="Unsummarised")
    assert (await client.get(f"/n/dl/kb/{bare.id}-{bare.slug}")).status_code == 404
    assert (await client.get("/n/dl/kb/abc")).status_code == 404

    feed = await client.get("/n/dl/kb.atom")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(feed.content)  # noqa: S314 (our own feed)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert [e.findtext("a:title", namespaces=ns) for e in entries] == [thread.title]
    content = entries[0].findtext("a:content", namespaces=ns) or ""
    assert "&lt;b&gt;" in content  # the stored, sanitised HTML, escaped once more for XML
    category = entries[0].find("a:category", ns)
    assert category is not None and category.get("term") == "teams"


async def test_network_listing_marks_and_filters_summarised_threads(
    db: str, client: httpx.AsyncClient
) -> None:
    network, fac, alice, _bob, thread, _ = await _setup()
    other = await make_thread(network, alice, title="Still open question")
    await _summarise(thread, fac, "Done.")
    page = await client.get("/n/dl")
    assert "Summarised</span>" in page.text
    summarised = await client.get("/n/dl?show=summarised")
    assert thread.title in summarised.text and other.title not in summarised.text
    awaiting = await client.get("/n/dl?show=awaiting")
    assert other.title in awaiting.text and thread.title not in awaiting.text
    assert (await client.get("/n/dl?show=%00&page=-3")).status_code == 200


async def test_facilitators_queue(db: str, client: httpx.AsyncClient) -> None:
    network, fac, alice, _bob, thread, _ = await _setup()
    done = await make_thread(network, alice, title="Answered already")
    await _summarise(done, fac, "Answer.")
    await login(client, fac)
    page = HTMLParser((await client.get("/queue")).text)
    awaiting = page.css_first("section[aria-labelledby=awaiting-title]")
    assert awaiting is not None and thread.title in awaiting.text()
    assert done.title not in awaiting.text()
    client.cookies.clear()
    assert (await client.get("/queue")).status_code == 404
    await login(client, alice)
    assert (await client.get("/queue")).status_code == 404


async def test_the_queue_lists_overtaken_summaries_of_active_threads_most_replies_first(
    db: str, client: httpx.AsyncClient
) -> None:
    """Counted, sorted and cut by the database: live replies since the review (not deleted
    or hidden ones), only threads active within ACTIVE_FOR, the most overtaken first."""
    network, fac, alice, bob, _thread, _ = await _setup()
    long_ago = utcnow() - timedelta(days=200)

    async def summarised(title: str, replies: int) -> Thread:
        t = await make_thread(network, alice, title=title)
        await _summarise(t, fac, "Answer.")
        await Post.filter(thread_id=t.id).update(created_at=long_ago)
        await Summary.filter(thread_id=t.id).update(reviewed_at=long_ago + timedelta(days=1))
        for i in range(replies):
            await make_reply(t, bob, f"Reply {i}.")
        return t

    await summarised("One reply since", 1)
    await summarised("Three replies since", 3)
    await summarised("Not overtaken", 0)
    withdrawn = await summarised("Only withdrawn replies since", 2)
    await Post.filter(thread_id=withdrawn.id, created_at__gt=long_ago).update(hidden=True)
    quiet = await summarised("Overtaken but quiet", 4)
    await Thread.filter(id=quiet.id).update(last_activity_at=long_ago + timedelta(days=2))
    await login(client, fac)
    page = HTMLParser((await client.get("/queue")).text)
    stale = page.css_first("section[aria-labelledby=stale-title]")
    assert [a.text().strip() for a in stale.css(".article-card h3 a")] == [
        "Three replies since",
        "One reply since",
    ]


async def test_search_finds_the_summary_first_and_marks_it_the_answer(
    db: str, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    network, fac, alice, _bob, thread, _ = await _setup()
    other = await make_thread(network, alice, title="Federated models elsewhere", body="federated")
    await _summarise(thread, fac, "Federated with a joint board works best.")
    search = SearchService(tmp_path / "index")
    try:
        await catch_up(tmp_path / "index")
        ids = [network.id]
        result = await search.search("federated", network_ids=ids, filters=Filters())
        assert result.hits[0].kind == "summary" and result.hits[0].thread_id == thread.id
        assert {h.thread_id for h in result.hits} == {thread.id, other.id}
        only = await search.search("federated kind:summary", network_ids=ids)
        assert [h.thread_id for h in only.hits] == [thread.id]
    finally:
        search.close()


async def test_kb_and_thread_pages_run_a_fixed_number_of_queries(
    db: str, client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    network, fac, alice, bob, thread, _ = await _setup()
    await _summarise(thread, fac, "One.")
    counts = []
    for n in range(2):
        if n:
            for i in range(6):
                t = await make_thread(network, alice, title=f"Thread {i}", tags=f"t{i},teams")
                await make_reply(t, bob, "reply")
                await _summarise(t, fac, f"Summary {i}")
        count_queries.statements.clear()
        assert (await client.get("/n/dl/kb")).status_code == 200
        assert (await client.get("/kb")).status_code == 200
        assert (await client.get("/n/dl/kb.atom")).status_code == 200
        assert (await client.get(f"/n/dl/t/{thread.id}-{thread.slug}")).status_code == 200
        counts.append(count_queries.count)
    assert counts[0] == counts[1], count_queries.statements


async def test_an_article_with_several_tags_is_shelved_once_and_every_tag_is_listed(
    db: str, client: httpx.AsyncClient
) -> None:
    network, fac, alice, _bob, thread, _ = await _setup()  # tagged "teams"
    both = await make_thread(network, alice, title="Teams and budgets", tags="budgets,teams")
    await _summarise(thread, fac, "One.")
    await _summarise(both, fac, "Two.")
    page = HTMLParser((await client.get("/n/dl/kb")).text)
    shelves = {
        " ".join(s.css_first("h2").text().split()): [a.text() for a in s.css("h3 a")]
        for s in page.css("section.shelf")
    }
    # Both on the "teams" shelf (the most used tag), neither repeated under "budgets".
    assert shelves == {"teams (2)": ["Teams and budgets", thread.title]}
    topics = [a.text() for a in page.css("nav.tag-index a")]
    assert topics == ["budgets (1)", "teams (2)"]
    budgets = await client.get("/n/dl/kb?tag=budgets")
    assert "Teams and budgets" in budgets.text and thread.title not in budgets.text
