"""Atom feeds: valid against the Atom spec (read back with an XML parser and with feedparser),
nothing withdrawn in them, members-only feeds only for members or a live private key whose
owner may read the network now, and hostile text escaped. On both databases."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit
from xml.etree import ElementTree

import feedparser
import httpx
from starlette.applications import Starlette

from forum import markdown
from forum.accounts import administration
from forum.accounts.models import User
from forum.knowledge import services as knowledge
from forum.moderation import services as moderation
from forum.networks import membership
from forum.networks.models import Network, Role, Visibility
from forum.notifications import feeds as feed_keys
from forum.notifications.models import FeedToken, Weeknote, WeeknoteStatus
from forum.permissions import viewer_for
from forum.threads import curation
from forum.threads import services as threads
from forum.threads.models import Post, Thread
from forum.timeutil import parse_iso, utcnow
from tests.conftest import QueryCounter
from tests.factories import (
    csrf,
    login,
    make_member,
    make_network,
    make_reply,
    make_thread,
    make_user,
)

A = "{http://www.w3.org/2005/Atom}"
BASE = "http://127.0.0.1:8000"  # settings.site.base_url in tests
ATOM = "application/atom+xml; charset=utf-8"


@dataclass
class Parsed:
    root: ElementTree.Element
    entries: list[ElementTree.Element]

    def titles(self) -> list[str]:
        return [e.findtext(f"{A}title") or "" for e in self.entries]

    def link(self, element: ElementTree.Element, rel: str = "alternate") -> str:
        found = [el.get("href", "") for el in element.findall(f"{A}link") if el.get("rel") == rel]
        assert len(found) == 1, (rel, found)
        return found[0]


def _one_text(element: ElementTree.Element, tag: str) -> str:
    found = element.findall(f"{A}{tag}")
    assert len(found) == 1, (tag, len(found))
    text = found[0].text or ""
    assert text.strip(), tag
    return text


def _iri(value: str) -> None:
    assert urlsplit(value).scheme in ("http", "https", "tag"), value


def atom(response: httpx.Response, self_path: str | None = None) -> Parsed:
    """Check a response is an Atom feed with every element RFC 4287 requires, and parse it."""
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == ATOM
    # A real XML parser: the document must be well-formed.
    root = ElementTree.fromstring(response.content)  # noqa: S314 (our own feed)
    assert root.tag == f"{A}feed"
    _iri(_one_text(root, "id"))
    _one_text(root, "title")
    parse_iso(_one_text(root, "updated"))
    parsed = Parsed(root, root.findall(f"{A}entry"))
    self_url = parsed.link(root, "self")
    if self_path is not None:
        assert self_url == BASE + self_path
    _iri(parsed.link(root, "alternate"))
    # Every entry has an author, its own or the feed's.
    feed_author = root.find(f"{A}author/{A}name") is not None
    ids = []
    for entry in parsed.entries:
        ids.append(_one_text(entry, "id"))
        _iri(ids[-1])
        _one_text(entry, "title")
        parse_iso(_one_text(entry, "updated"))
        assert parsed.link(entry).startswith(BASE + "/")
        assert feed_author or entry.find(f"{A}author/{A}name") is not None
    assert len(ids) == len(set(ids)), "entry ids must be unique"
    # And a feed reader's parser, which is strict about encodings and well-formedness.
    strict = feedparser.parse(
        response.content, response_headers={"content-type": response.headers["content-type"]}
    )
    assert not strict.bozo, strict.get("bozo_exception")
    assert strict.version == "atom10"
    assert len(strict.entries) == len(parsed.entries)
    return parsed


async def make_weeknote(
    network: Network | None,
    title: str,
    *,
    published: bool = True,
    days_ago: int = 0,
    author: User | None = None,
) -> Weeknote:
    # The weeknote services are being written elsewhere: rows are made as they will store them.
    when = utcnow() - timedelta(days=days_ago)
    body = f"What happened: **{title}**."
    return await Weeknote.create(
        network=network,
        slug=re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-"),
        title=title,
        period_start=when - timedelta(days=7),
        period_end=when,
        body=body,
        body_html=markdown.render(body).html,
        status=WeeknoteStatus.PUBLISHED if published else WeeknoteStatus.DRAFT,
        created_by=author,
        created_at=when,
        published_at=when if published else None,
    )


async def _members_only() -> tuple[Network, User, User, Thread]:
    """A members-only network with a facilitator, a member and a thread with a reply."""
    secret = await make_network("secret", name="Secret Network", visibility=Visibility.MEMBERS)
    fac = await make_member(secret, await make_user("fac"), role=Role.FACILITATOR)
    member = await make_member(secret, await make_user("member"))
    thread = await make_thread(secret, fac, title="Secret plans", body="classified words")
    await make_reply(thread, member, "a classified reply")
    await knowledge.write_summary(viewer=await viewer_for(fac), thread=thread, body="Classified.")
    await make_weeknote(secret, "Secret week")
    return secret, fac, member, thread


def _feeds(network: str, thread: Thread) -> list[str]:
    return [
        f"/n/{network}/threads.atom",
        f"/n/{network}/t/{thread.id}/replies.atom",
        f"/n/{network}/kb.atom",
        f"/n/{network}/weeknotes.atom",
    ]


async def _new_key(app: Starlette, user: User) -> str:
    """Make a key through the account page, as its owner would, and read it off the page."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await login(client, user)
        token = await csrf(client, "/account/feeds")
        page = await client.post("/account/feeds/token", data={"csrf_token": token})
        assert page.status_code == 200
        match = re.search(r"threads\.atom\?token=([A-Za-z0-9_-]+)", page.text)
        assert match, page.text
        return match.group(1)


# Valid Atom, with the right things in it.


async def test_every_feed_is_valid_atom(db: str, client: httpx.AsyncClient) -> None:
    network = await make_network("dl", name="Data Leaders")
    fac = await make_member(network, await make_user("fac"), role=Role.FACILITATOR)
    alice = await make_member(network, await make_user("alice", display_name="Alice Adeyemi"))
    thread = await make_thread(network, alice, tags="teams")
    await make_reply(thread, fac, "We use **hub and spoke**.")
    await knowledge.write_summary(viewer=await viewer_for(fac), thread=thread, body="Three models.")
    await make_weeknote(network, "Week one", author=fac)
    await make_weeknote(None, "Site week")
    await make_network("empty")

    paths = [*_feeds("dl", thread), "/weeknotes.atom", *_feeds("empty", thread)[:1]]
    paths += ["/n/empty/kb.atom", "/n/empty/weeknotes.atom"]
    for path in paths:
        parsed = atom(await client.get(path), self_path=path)
        assert len(parsed.entries) == (0 if "/empty/" in path else 1 + ("replies" in path))

    replies = atom(await client.get(f"/n/dl/t/{thread.id}/replies.atom"))
    assert replies.titles() == [f"Re: {thread.title}", thread.title]  # newest first
    content = replies.entries[0].findtext(f"{A}content") or ""
    assert "<strong>hub and spoke</strong>" in content  # the stored HTML, as type="html"
    assert [c.get("type") for c in replies.entries[0].findall(f"{A}content")] == ["html"]
    assert replies.link(replies.root) == f"{BASE}/n/dl/t/{thread.id}-{thread.slug}"


async def test_threads_feed_lists_the_newest_threads_with_their_opening_posts(
    db: str, client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    network = await make_network("dl", name="Data Leaders")
    alice = await make_member(network, await make_user("alice", display_name="Alice Adeyemi"))
    first = await make_thread(network, alice, title="Older question", body="Older words. " * 60)
    await make_thread(network, alice, title="Newer question", body="Newer words.")
    reply = await make_reply(first, alice, "Bumped.")

    feed = atom(await client.get("/n/dl/threads.atom"), "/n/dl/threads.atom")
    assert feed.titles() == ["Newer question", "Older question"]  # newest started first
    older = feed.entries[1]
    assert older.findtext(f"{A}author/{A}name") == "Alice Adeyemi"
    # Updated at its last activity (the reply), not when it started.
    assert parse_iso(older.findtext(f"{A}updated") or "") == reply.created_at.replace(microsecond=0)
    summary = older.findtext(f"{A}summary") or ""
    assert summary.startswith("Older words.") and summary.endswith("…") and len(summary) <= 301
    assert feed.link(older) == f"{BASE}/n/dl/t/{first.id}-{first.slug}"
    assert feed.root.findtext(f"{A}title") == "Data Leaders: new threads"

    # At most 30, in a fixed number of queries whatever the number.
    for n in range(30):
        await make_thread(network, alice, title=f"Question {n}")
    count_queries.statements.clear()
    many = atom(await client.get("/n/dl/threads.atom"))
    assert len(many.entries) == 30 and many.titles()[0] == "Question 29"
    assert count_queries.count <= 8, count_queries.statements


async def test_withdrawn_posts_are_never_in_a_feed(db: str, client: httpx.AsyncClient) -> None:
    network = await make_network("dl")
    fac = await make_member(network, await make_user("fac"), role=Role.FACILITATOR)
    alice = await make_member(network, await make_user("alice"))
    as_fac = await viewer_for(fac)
    thread = await make_thread(network, alice, title="Opening", body="zebra opening words")
    kept = await make_reply(thread, alice, "kept reply")
    for word, withdraw in (
        ("hidden", moderation.hide_post),
        ("redacted", moderation.redact_post),
        ("deleted", threads.delete_post),
    ):
        post = await make_reply(thread, alice, f"{word}canary reply")
        await withdraw(viewer=as_fac, post=post, network=network)
    feed = await client.get(f"/n/dl/t/{thread.id}/replies.atom")
    parsed = atom(feed)
    assert len(parsed.entries) == 2
    assert parsed.entries[0].findtext(f"{A}id") == f"{BASE}/n/dl/p/{kept.id}"
    assert "canary" not in feed.text

    # A withdrawn opening post: the thread is listed, its text is not.
    opening = await Post.filter(thread_id=thread.id).order_by("id").first()
    assert opening is not None
    await moderation.hide_post(viewer=as_fac, post=opening, network=network)
    listing = await client.get("/n/dl/threads.atom")
    assert atom(listing).titles() == ["Opening"]
    assert "zebra" not in listing.text
    assert "zebra" not in (await client.get(f"/n/dl/t/{thread.id}/replies.atom")).text


async def test_weeknotes_feeds_list_published_weeknotes_of_their_network_only(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl")
    other = await make_network("other")
    author = await make_user("writer", display_name="Wren Writer")
    for days in range(22):
        await make_weeknote(network, f"Week minus {days}", days_ago=days, author=author)
    await make_weeknote(network, "Draft week", published=False)
    await make_weeknote(other, "Other week")
    await make_weeknote(None, "Site week")
    await make_weeknote(None, "Site draft", published=False)

    feed = atom(await client.get("/n/dl/weeknotes.atom"), "/n/dl/weeknotes.atom")
    assert feed.titles() == [f"Week minus {d}" for d in range(20)]  # newest 20
    newest = await Weeknote.get(title="Week minus 0")
    assert feed.link(feed.entries[0]) == f"{BASE}/n/dl/weeknotes/{newest.id}-week-minus-0"
    assert feed.entries[0].findtext(f"{A}author/{A}name") == "Wren Writer"
    assert feed.link(feed.root) == f"{BASE}/n/dl/weeknotes"

    site = atom(await client.get("/weeknotes.atom"), "/weeknotes.atom")
    assert site.titles() == ["Site week"]
    site_note = await Weeknote.get(title="Site week")
    assert site.link(site.entries[0]) == f"{BASE}/weeknotes/{site_note.id}-site-week"
    # The link opens the weeknote's page.
    path = site.link(site.entries[0]).removeprefix(BASE)
    assert (await client.get(path)).status_code == 200


async def test_a_moved_threads_replies_feed_redirects_to_its_new_address(
    db: str, client: httpx.AsyncClient
) -> None:
    old = await make_network("old")
    new = await make_network("new")
    admin = await make_user("root", is_admin=True)
    thread = await make_thread(old, await make_member(old))
    await curation.move_thread(viewer=await viewer_for(admin), thread=thread, to=new)
    response = await client.get(f"/n/old/t/{thread.id}/replies.atom")
    assert response.status_code == 301
    assert response.headers["location"] == f"/n/new/t/{thread.id}/replies.atom"


# Hostile text.


async def test_hostile_text_is_escaped_and_the_feed_still_parses(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl", name="Data <b>& Leaders</b>")
    alice = await make_member(
        network, await make_user("alice", display_name="Alice <img src=x onerror=alert(1)>")
    )
    hostile = "<script>alert(1)</script> ]]> &amp; \x01\x0b\x1f\ufffe done"
    thread = await make_thread(network, alice, title="Plain", body="<script>x</script> ]]>")
    await make_reply(thread, alice, "<iframe src=//evil></iframe> ]]> <!-- -->")
    # Imported or older rows may hold what the forms refuse: control characters too.
    await Thread.filter(id=thread.id).update(title=hostile)
    await make_weeknote(network, "week")
    await Weeknote.filter(network_id=network.id).update(title=hostile)

    for path in (*_feeds("dl", thread), "/n/dl/threads.atom?token=<x>]]>"):
        response = await client.get(path)
        parsed = atom(response)
        assert b"<script" not in response.content and b"<iframe" not in response.content
        assert b"<img" not in response.content
        for entry in parsed.entries:
            title = entry.findtext(f"{A}title") or ""
            if "alert" in title:
                # Characters XML cannot carry are dropped; everything else comes back as is.
                assert title.endswith("<script>alert(1)</script> ]]> &amp;  done"), title
    names = atom(await client.get("/n/dl/threads.atom")).root.findtext(f"{A}title")
    assert names == "Data <b>& Leaders</b>: new threads"


# Who may read a members-only network's feeds.


async def test_members_only_feeds_are_not_found_for_outsiders(
    db: str, client: httpx.AsyncClient
) -> None:
    _secret, _fac, _member, thread = await _members_only()
    outsider = await make_user("outsider")
    await feed_keys.create_token(user=outsider)
    for signed_in in (False, True):
        if signed_in:
            await login(client, outsider)
        for path in _feeds("secret", thread):
            for query in ("", "?token=", "?token=nonsense", "?token=" + "x" * 5000, "?token=%00"):
                response = await client.get(path + query)
                assert response.status_code == 404, (path, query)
                assert "Secret" not in response.text and "classified" not in response.text


async def test_a_members_browser_reads_the_feeds_with_its_session(
    db: str, client: httpx.AsyncClient
) -> None:
    _secret, _fac, member, thread = await _members_only()
    await login(client, member)
    for path in _feeds("secret", thread):
        response = await client.get(path)
        atom(response, self_path=path)
        assert "no-store" in response.headers["cache-control"]
    assert "classified words" in (await client.get("/n/secret/threads.atom")).text


async def test_a_private_key_opens_members_only_feeds_until_it_is_revoked(
    db: str, app: Starlette, client: httpx.AsyncClient
) -> None:
    _secret, _fac, member, thread = await _members_only()
    key = await _new_key(app, member)
    assert not await FeedToken.exists(key_hash=key)  # only its hash is stored
    for path in _feeds("secret", thread):
        response = await client.get(f"{path}?token={key}")
        parsed = atom(response, self_path=f"{path}?token={key}")
        assert parsed.entries, path
        # Private: never kept by a shared cache.
        assert response.headers["cache-control"] == "private, no-store"

    # Revoked from the account page: every private URL is gone at once.
    await login(client, member)
    token = await csrf(client, "/account/feeds")
    revoked = await client.post("/account/feeds/token/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    assert revoked.headers["location"] == "/account/feeds?revoked=1"
    await client.post("/logout", data={"csrf_token": await csrf(client, "/")})
    for path in _feeds("secret", thread):
        assert (await client.get(f"{path}?token={key}")).status_code == 404

    # A new key works; the old one stays dead. Making another replaces the last.
    second = await _new_key(app, member)
    assert (await client.get(f"/n/secret/threads.atom?token={second}")).status_code == 200
    assert (await client.get(f"/n/secret/threads.atom?token={key}")).status_code == 404
    third = await _new_key(app, member)
    assert (await client.get(f"/n/secret/threads.atom?token={second}")).status_code == 404
    assert (await client.get(f"/n/secret/threads.atom?token={third}")).status_code == 200
    assert await FeedToken.filter(user_id=member.id, revoked_at__isnull=True).count() == 1


async def test_a_key_stops_working_when_its_owner_is_removed_from_the_network(
    db: str, app: Starlette, client: httpx.AsyncClient
) -> None:
    secret, fac, member, _thread = await _members_only()
    key = await _new_key(app, member)
    url = f"/n/secret/threads.atom?token={key}"
    assert (await client.get(url)).status_code == 200
    found = await membership.get_membership(secret, member.id)
    await membership.remove_member(viewer=await viewer_for(fac), membership=found)
    # Checked on every request: no waiting for the key to expire.
    assert (await client.get(url)).status_code == 404
    # The key is the owner's, not the network's: admitted again, it opens the feed again.
    await make_member(secret, member)
    assert (await client.get(url)).status_code == 200


async def test_a_key_stops_working_when_its_owner_is_deactivated(
    db: str, app: Starlette, client: httpx.AsyncClient
) -> None:
    _secret, _fac, member, _thread = await _members_only()
    admin = await make_user("root", is_admin=True)
    key = await _new_key(app, member)
    url = f"/n/secret/kb.atom?token={key}"
    assert (await client.get(url)).status_code == 200
    await administration.set_active(viewer=await viewer_for(admin), user=member, active=False)
    assert (await client.get(url)).status_code == 404
    assert await feed_keys.user_for_token(key) is None


async def test_a_public_networks_feeds_ignore_keys_and_need_none(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl")
    thread = await make_thread(network, await make_member(network))
    # The first answer sets the CSRF cookie, and an answer that sets a cookie is never
    # stored (tests/test_cache_headers.py): a feed reader's later requests are cacheable.
    await client.get("/")
    for path in _feeds("dl", thread):
        for query in ("", "?token=nonsense"):
            response = await client.get(path + query)
            atom(response, self_path=path)  # the self link carries no key
            assert response.headers["cache-control"] == "no-cache"


# The account page.


async def test_the_feeds_page_shows_a_new_key_once(
    db: str, app: Starlette, client: httpx.AsyncClient
) -> None:
    secret, _fac, member, _thread = await _members_only()
    public = await make_network("open", name="Open Network")
    await make_member(public, member)

    anonymous = await client.get("/account/feeds")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/account/feeds"

    await login(client, member)
    assert 'href="/account/feeds"' in (await client.get("/account")).text
    page = await client.get("/account/feeds")
    assert page.status_code == 200
    assert "You have no key." in page.text and secret.name in page.text
    assert "Open Network" not in page.text  # public networks need no key

    token = await csrf(client, "/account/feeds")
    made = await client.post("/account/feeds/token", data={"csrf_token": token})
    assert made.status_code == 200 and made.headers["cache-control"] == "private, no-store"
    keys = set(re.findall(r"\?token=([A-Za-z0-9_-]{20,})", made.text))
    assert len(keys) == 1
    (key,) = keys
    for name in ("threads", "kb", "weeknotes"):
        assert f"{BASE}/n/secret/{name}.atom?token={key}" in made.text
    assert "Copy these addresses now" in made.text

    # Shown once: afterwards the page says there is a key, and not what it is.
    later = await client.get("/account/feeds")
    assert key not in later.text and "You have a key" in later.text
    assert (await client.get(f"/n/secret/threads.atom?token={key}")).status_code == 200


async def test_network_and_thread_pages_point_to_their_feeds(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl")
    thread = await make_thread(network, await make_member(network))
    page = await client.get("/n/dl")
    assert '<link rel="alternate" type="application/atom+xml"' in page.text
    assert 'href="/n/dl/threads.atom"' in page.text
    thread_page = await client.get(f"/n/dl/t/{thread.id}-{thread.slug}")
    assert f'href="/n/dl/t/{thread.id}/replies.atom"' in thread_page.text
