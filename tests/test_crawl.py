"""Crawl the whole site as each kind of visitor and look for what they must never see.

A members-only network holds unique words ("canaries") in every place its content can show:
its name and description, a thread's title, tags and opening post, a reply and the earlier
version of it, a summary, a flag's note, a thread awaiting a summary. Each visitor follows
every link from the home page — and is also sent straight to every parameterised route filled
with the members-only network's ids, to searches and the JSON API and Atom feeds — and no
page, header or redirect may carry a canary to someone who may not read the network, or
answer with a server error. The admin, who may read everything, must find every canary:
that shows the crawl reaches the places it checks.
"""

from __future__ import annotations

import html
import json
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from forum.accounts.models import User
from forum.config import Settings
from forum.knowledge import services as knowledge
from forum.moderation import services as moderation
from forum.networks import services as networks
from forum.networks.models import Role, Visibility
from forum.notifications import weeknotes
from forum.permissions import viewer_for
from forum.search.indexer import catch_up
from forum.threads import services as threads
from forum.timeutil import utcnow
from forum.web.routes import ROUTES
from tests.factories import (
    login,
    make_member,
    make_network,
    make_reply,
    make_thread,
    make_user,
)

MAX_PAGES = 400  # per visitor: keeps the crawl fast whatever the site grows into
# Every members-only canary. Each secret text also holds "lantern", a word the public
# network uses too, so searching for it is allowed and must find only public things.
CANARIES = (
    "quokkaweeknote",
    "quokkaweekbody",
    "quokkaname",
    "quokkadescription",
    "quokkatitle",
    "quokkatag",
    "quokkaopening",
    "quokkareply",
    "quokkarevision",
    "quokkasummary",
    "quokkaflagnote",
    "quokkaqueue",
)
ROLES = ("anonymous", "outsider", "public_member", "admin")
HREF = re.compile(r"""(?:href|src|action)=["']([^"']+)["']""")


@dataclass
class Forum:
    users: dict[str, User]
    # Values for the route table's parameters, from the members-only network.
    params: dict[str, str]
    public_slug: str = "open"
    secret_slug: str = "secret"


async def build_forum() -> Forum:
    public = await make_network("open", name="Open Network")
    secret = await networks.create_network(
        slug="secret",
        name="Quokkaname Network",
        description="About quokkadescription.",
        visibility=Visibility.MEMBERS,
    )
    insider = await make_member(secret, await make_user("insider"), role=Role.FACILITATOR)
    await make_member(public, insider)
    public_member = await make_member(public, await make_user("pubby"), role=Role.FACILITATOR)
    outsider = await make_user("outsider")
    admin = await make_user("root", is_admin=True)

    # The public network: enough for the crawl to have somewhere to go.
    opened = await make_thread(
        public, public_member, title="Lantern budgets", body="Our lantern budget.", tags="budget"
    )
    await make_reply(opened, insider, "A lantern reply from the insider.")
    as_public = await viewer_for(public_member)
    await knowledge.write_summary(viewer=as_public, thread=opened, body="Lantern summary.")
    await make_thread(public, insider, title="Lantern teams", body="Lantern team shapes.")

    # The members-only network: a canary in every place content shows.
    as_insider = await viewer_for(insider)
    thread = await make_thread(
        secret,
        insider,
        title="Quokkatitle lantern plan",
        body="quokkaopening lantern words",
        tags="quokkatag",
    )
    reply = await make_reply(thread, insider, "quokkarevision lantern first version")
    await threads.edit_post(
        viewer=as_insider, post=reply, network=secret, body="quokkareply lantern edited"
    )
    await knowledge.write_summary(
        viewer=as_insider, thread=thread, body="quokkasummary lantern answer"
    )
    flag = await moderation.flag_post(
        viewer=as_insider, post=reply, network=secret, reason="other", note="quokkaflagnote"
    )
    await make_thread(secret, insider, title="Quokkaqueue lantern", body="Awaiting a summary.")
    note = await weeknotes.draft(
        viewer=as_insider, network=secret, start=utcnow() - timedelta(days=7), end=utcnow()
    )
    await weeknotes.edit(
        viewer=as_insider, weeknote=note, title="Quokkaweeknote lantern", body="quokkaweekbody"
    )
    await weeknotes.publish(viewer=as_insider, weeknote=note, site_name="Forum")
    return Forum(
        users={"outsider": outsider, "public_member": public_member, "admin": admin},
        params={
            "{network}": "secret",
            "{thread}": str(thread.id),  # no slug: a redirect must not reveal it either
            "{thread_id}": str(thread.id),
            "{post_id}": str(reply.id),
            "{flag_id}": str(flag.id),
            "{username}": insider.username,
            "{weeknote_id}": str(note.id),
            "{weeknote}": f"{note.id}-{note.slug}",
        },
    )


def seeds(forum: Forum) -> list[str]:
    """Where each crawl starts: the home page, every parameterised GET route filled with the
    members-only network's ids (as they are, and under the public network's name), searches,
    the API and the feeds."""
    urls = ["/"]
    for route in ROUTES:
        if not isinstance(route, Route) or "GET" not in (route.methods or {"GET"}):
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        if "{" not in path:
            urls.append(path)
            continue
        for network in (forum.secret_slug, forum.public_slug):
            url = path
            for name, value in {**forum.params, "{network}": network}.items():
                url = url.replace(name, value)
            if "{" not in url:
                urls.append(url)
    for q in ("lantern", "quokka*", "quokkatitl", "lantern network:secret", "quokkatag"[:-1]):
        urls += [f"/search?q={q}", f"/api/v1/search?q={q}"]
    urls += [
        "/search?q=lantern&network=secret",
        "/search?q=lantern&sort=newest",
        "/search/similar?title=lantern+plan",
        "/api/v1/search/similar?title=lantern+plan",
        "/kb?network=secret",
    ]
    return urls


def local(url: str, base: str, site_base: str) -> str | None:
    """The path (and query) of a link on this site, else None."""
    absolute = urljoin(base, url)
    for prefix in (site_base.rstrip("/"), "http://testserver"):
        if absolute.startswith(prefix + "/"):
            absolute = absolute[len(prefix) :]
    parts = urlsplit(absolute)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    if parts.path.startswith("/static/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def links(response: httpx.Response) -> list[str]:
    if response.headers.get("content-type", "").startswith("application/json"):
        out: list[str] = []

        def walk(value: object) -> None:
            if isinstance(value, str) and value.startswith("/"):
                out.append(value)
            elif isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)

        walk(json.loads(response.text))
        return out
    return [html.unescape(m) for m in HREF.findall(response.text)]


@dataclass
class Crawl:
    visited: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    found: dict[str, str] = field(default_factory=dict)  # canary -> first URL showing it
    shown_at: set[tuple[str, str]] = field(default_factory=set)  # every (canary, URL)


async def crawl(client: httpx.AsyncClient, start: list[str], site_base: str) -> Crawl:
    result = Crawl()
    queue = deque(start)
    seen = set(start)
    while queue and len(result.visited) < MAX_PAGES:
        url = queue.popleft()
        r = await client.get(url)
        result.visited.append(url)
        if r.status_code >= 500:
            result.errors.append(f"{r.status_code} {url}")
        shown = (r.text + " " + r.headers.get("location", "")).lower()
        for canary in CANARIES:
            if canary in shown:
                result.found.setdefault(canary, url)
                result.shown_at.add((canary, url))
        targets = [r.headers["location"]] if "location" in r.headers else links(r)
        for target in targets:
            path = local(target, str(r.url), site_base)
            if path and path not in seen:
                seen.add(path)
                queue.append(path)
    return result


@pytest.mark.parametrize("role", ROLES)
async def test_members_only_content_never_reaches_anyone_outside(
    db: str, app: Starlette, settings: Settings, role: str
) -> None:
    forum = await build_forum()
    await catch_up(settings.index_dir)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        if role != "anonymous":
            await login(client, forum.users[role])
        result = await crawl(client, seeds(forum), settings.site.base_url)
    assert not result.errors, result.errors
    assert len(result.visited) > 60, result.visited  # the crawl did get around
    if role == "admin":
        assert set(result.found) == set(CANARIES), set(CANARIES) - set(result.found)
    else:
        # The one exception, by design: signed-in people see a members-only network's name
        # and description on /networks (and its request-to-join page), so that they can ask
        # to join. Nothing else of it: no threads, counts, members or anything inside.
        listed = {"quokkaname", "quokkadescription"} if role != "anonymous" else set()
        leaked = sorted(
            (canary, url)
            for canary, url in result.shown_at
            if canary not in listed or not _listing_page(url)
        )
        assert not leaked, f"{role} was shown members-only content: {leaked}"


def _listing_page(url: str) -> bool:
    return url == "/networks" or url.endswith("/request")
