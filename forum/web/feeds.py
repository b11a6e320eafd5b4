"""Atom feeds (RFC 4287): a network's new threads, a thread's replies, a network's knowledge
base and weeknotes, and the site's weeknotes; and /account/feeds, where a person gets the
private key that opens the feeds of their members-only networks.

Every feed is drawn by one template, `feeds/feed.atom`, from a `Feed` built here. The
template is autoescaped like every page, so titles, names and the stored (already sanitised)
HTML of posts are escaped for XML; characters XML cannot carry at all are dropped from the
finished document, so a stray control character cannot make a feed unreadable.

Who may read a feed is who may read its network: anyone, for a public network. For a
members-only one: a signed-in reader (a member's browser), or the request's `?token=` key,
answered as its owner would be answered now (see `forum/notifications/feeds.py`). Anyone
else gets 404, as on every page of the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import permissions
from forum.accounts.models import User
from forum.errors import NotFound
from forum.knowledge import queries as kb_queries
from forum.networks import queries as network_queries
from forum.networks.models import Network
from forum.notifications import feeds as feed_keys
from forum.notifications.models import Weeknote
from forum.permissions import Viewer
from forum.text import excerpt
from forum.threads import queries as thread_queries
from forum.threads.models import Thread
from forum.web.forms import read_form
from forum.web.templating import render
from forum.web.urls import post_url, thread_url

ATOM = "application/atom+xml; charset=utf-8"
THREADS, POSTS, ARTICLES, WEEKNOTES = 30, 50, 30, 20
EXCERPT = 300  # characters of an opening post in the new-threads feed
# What XML 1.0 cannot carry even escaped: most C0 controls, lone surrogates, U+FFFE/U+FFFF.
_NOT_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class Entry:
    id: str  # permanent: an absolute URL that does not change when a title does
    title: str
    link: str  # the page it stands for
    updated: datetime
    published: datetime | None = None
    author: str = ""  # empty: the feed's author (the site) stands for it
    summary: str = ""  # plain text
    content_html: str = ""  # stored, sanitised HTML, sent as type="html" (escaped once more)
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Feed:
    id: str
    title: str
    self_url: str
    alternate: str  # the HTML page the feed follows
    updated: datetime
    entries: list[Entry]


@dataclass(frozen=True, slots=True)
class Access:
    """A feed's network, as opened for this request."""

    network: Network
    viewer: Viewer  # the signed-in reader, or the owner of the key
    key: str  # the key that opened it ("" when none was needed): kept in self links


def _base(request: Request) -> str:
    base: str = request.app.state.settings.site.base_url
    return base.rstrip("/")


def _with_key(url: str, key: str) -> str:
    return f"{url}?{urlencode({'token': key})}" if key else url


def _updated(entries: list[Entry], otherwise: datetime) -> datetime:
    return max((e.updated for e in entries), default=otherwise)


def _atom(request: Request, feed: Feed, *, private: bool) -> Response:
    template = request.app.state.templates.get_template("feeds/feed.atom")
    text = template.render(feed=feed, site=request.app.state.settings.site)
    response = Response(_NOT_XML.sub("", text), media_type=ATOM)
    # A members-only network's feed is never kept by a shared cache; public ones are
    # revalidated, like public pages.
    response.headers["Cache-Control"] = "private, no-store" if private else "no-cache"
    return response


async def _open(request: Request) -> Access:
    """The network of a `/n/{network}/…` feed, if this request may read it: as the
    signed-in viewer, or else as the owner of the `?token=` key. Raises NotFound."""
    slug = request.path_params["network"]
    viewer: Viewer = request.state.viewer
    try:
        return Access(await network_queries.get_network(slug, viewer), viewer, "")
    except NotFound:
        key = request.query_params.get("token", "")
        owner = await feed_keys.user_for_token(key) if key else None
        if owner is None:
            raise
        # The owner's memberships as they are now: a removed member is an outsider.
        viewer = await permissions.viewer_for(owner)
        return Access(await network_queries.get_network(slug, viewer), viewer, key)


async def threads(request: Request) -> Response:
    """A network's newest threads: each entry is a thread, updated at its last activity,
    summarised by its opening post (unless that post was withdrawn)."""
    access = await _open(request)
    network, base = access.network, _base(request)
    entries = []
    for found in await thread_queries.newest_threads(network, THREADS):
        t = found.thread
        entries.append(
            Entry(
                id=f"{base}/n/{network.slug}/t/{t.id}",
                title=t.title,
                link=base + thread_url(t, network),
                updated=t.last_activity_at,
                published=t.created_at,
                author=t.author.display_name,
                summary=excerpt(found.opening.body_text, EXCERPT) if found.opening else "",
            )
        )
    path = f"/n/{network.slug}/threads.atom"
    feed = Feed(
        id=base + path,
        title=f"{network.name}: new threads",
        self_url=_with_key(base + path, access.key),
        alternate=f"{base}/n/{network.slug}",
        updated=_updated(entries, network.created_at),
        entries=entries,
    )
    return _atom(request, feed, private=not network.is_public)


async def replies(request: Request) -> Response:
    """A thread's newest posts that readers may see (deleted, hidden and redacted posts are
    never in a feed). A thread that moved or was merged redirects to its new feed."""
    access = await _open(request)
    network, base = access.network, _base(request)
    thread_id: int = request.path_params["thread_id"]
    thread = await thread_queries.locate_thread(network, thread_id, access.viewer)
    if thread.id != thread_id or thread.network_id != network.id:
        moved = f"/n/{thread.network.slug}/t/{thread.id}/replies.atom"
        return RedirectResponse(_with_key(moved, access.key), status_code=301)
    opening = await thread_queries.opening_post_id(thread)
    entries = [
        Entry(
            id=f"{base}/n/{network.slug}/p/{post.id}",
            title=thread.title if post.id == opening else f"Re: {thread.title}",
            link=base + post_url(post, thread, network),
            updated=post.edited_at or post.created_at,
            published=post.created_at,
            author=post.author.display_name,
            content_html=post.body_html,
        )
        for post in await thread_queries.newest_live_posts(thread, POSTS)
    ]
    path = f"/n/{network.slug}/t/{thread.id}/replies.atom"
    feed = Feed(
        id=base + path,
        title=f"{thread.title} ({network.name})",
        self_url=_with_key(base + path, access.key),
        alternate=base + thread_url(thread, network),
        updated=_updated(entries, thread.last_activity_at),
        entries=entries,
    )
    return _atom(request, feed, private=not network.is_public)


async def kb(request: Request) -> Response:
    """A network's latest written or reviewed summaries: its knowledge base."""
    access = await _open(request)
    network, base = access.network, _base(request)
    entries = []
    for a in await kb_queries.recent_articles(network, ARTICLES):
        t: Thread = a.thread
        contributors = f" Contributors: {', '.join(a.contributors)}." if a.contributors else ""
        entries.append(
            Entry(
                id=f"{base}/n/{network.slug}/kb/{t.id}",
                title=t.title,
                link=f"{base}/n/{network.slug}/kb/{t.id}-{t.slug}",
                updated=a.summary.last_reviewed,
                published=a.summary.created_at,
                author=a.summary.author.display_name,
                summary=excerpt(a.summary.body_text, EXCERPT) + contributors,
                content_html=a.summary.body_html,
                categories=tuple(a.tags),
            )
        )
    path = f"/n/{network.slug}/kb.atom"
    feed = Feed(
        # The id this feed has always had, so readers do not see it as a new feed.
        id=f"{base}/n/{network.slug}/kb",
        title=f"{network.name}: knowledge base",
        self_url=_with_key(base + path, access.key),
        alternate=f"{base}/n/{network.slug}/kb",
        updated=_updated(entries, network.created_at),
        entries=entries,
    )
    return _atom(request, feed, private=not network.is_public)


def _weeknote_entries(notes: list[Weeknote], base: str, prefix: str) -> list[Entry]:
    """`prefix` is where the weeknotes' pages are: /n/{network}/weeknotes, or /weeknotes."""
    return [
        Entry(
            id=f"{base}{prefix}/{note.id}-{note.slug}",
            title=note.title,
            link=f"{base}{prefix}/{note.id}-{note.slug}",
            updated=note.published_at or note.created_at,
            published=note.published_at,
            author=note.created_by.display_name if note.created_by else "",
            content_html=note.body_html,
        )
        for note in notes
    ]


async def network_weeknotes(request: Request) -> Response:
    """A network's published weeknotes (drafts never)."""
    access = await _open(request)
    network, base = access.network, _base(request)
    prefix = f"/n/{network.slug}/weeknotes"
    notes = await feed_keys.published_weeknotes(network.id, WEEKNOTES)
    entries = _weeknote_entries(notes, base, prefix)
    feed = Feed(
        id=f"{base}{prefix}.atom",
        title=f"{network.name}: weeknotes",
        self_url=_with_key(f"{base}{prefix}.atom", access.key),
        alternate=base + prefix,
        updated=_updated(entries, network.created_at),
        entries=entries,
    )
    return _atom(request, feed, private=not network.is_public)


async def site_weeknotes(request: Request) -> Response:
    """The site-wide published weeknotes (those of no one network): open to all."""
    base = _base(request)
    site = request.app.state.settings.site
    notes = await feed_keys.published_weeknotes(None, WEEKNOTES)
    entries = _weeknote_entries(notes, base, "/weeknotes")
    feed = Feed(
        id=f"{base}/weeknotes.atom",
        title=f"{site.name}: weeknotes",
        self_url=f"{base}/weeknotes.atom",
        alternate=f"{base}/weeknotes",
        # With no weeknote yet, a fixed time: the feed has not changed.
        updated=_updated(entries, datetime.fromtimestamp(0, tz=UTC)),
        entries=entries,
    )
    return _atom(request, feed, private=False)


# The signed-in person's private feed key.

PAGE = "/account/feeds"
FEED_NAMES = (("threads", "New threads"), ("kb", "Knowledge base"), ("weeknotes", "Weeknotes"))


def _signed_in(request: Request) -> User:
    """The viewer's account; anyone else is sent to log in and come back here."""
    user = request.state.viewer.user
    if user is None:
        raise HTTPException(303, headers={"Location": f"/login?next={quote(PAGE)}"})
    assert isinstance(user, User)
    return user


async def _account_page(request: Request, user: User, *, key: str = "") -> Response:
    """The page, with the feed URLs built with `key` when it was just made (the only time
    it is known: only its hash is stored)."""
    base = _base(request)
    memberships = await network_queries.memberships_of(user.id)
    networks = [
        {
            "network": m.network,
            "feeds": [
                (label, _with_key(f"{base}/n/{m.network.slug}/{name}.atom", key))
                for name, label in FEED_NAMES
            ],
        }
        for m in memberships
        if not m.network.is_public
    ]
    return render(
        request,
        "feeds/account.html",
        {
            "networks": networks,
            "key": key,
            "token": await feed_keys.live_token(user.id),
            "revoked": request.query_params.get("revoked") == "1",
            "base": base,
        },
    )


async def account_page(request: Request) -> Response:
    return await _account_page(request, _signed_in(request))


async def create_key(request: Request) -> Response:
    """Make a new key (revoking any earlier one) and show its URLs, this once."""
    await read_form(request)
    user = _signed_in(request)
    key = await feed_keys.create_token(user=user)
    return await _account_page(request, user, key=key)


async def revoke_keys(request: Request) -> Response:
    await read_form(request)
    user = _signed_in(request)
    await feed_keys.revoke_tokens(user=user)
    return RedirectResponse(f"{PAGE}?revoked=1", status_code=303)
