"""The knowledge base: a network's articles, all the viewer may read, one article, the Atom
feed; and the facilitator's queue of threads to summarise."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import permissions
from forum.errors import NotFound
from forum.knowledge import queries as kb_queries
from forum.networks import queries as network_queries
from forum.networks.models import Network
from forum.text import TAG_RE
from forum.threads import queries as thread_queries
from forum.web.templating import render

_ARTICLE_PATH = re.compile(r"^([0-9]{1,9})(?:-(.*))?$")


def _filters(request: Request) -> tuple[str | None, bool]:
    """`?tag=` (a well-formed tag, else ignored) and `?status=stale`."""
    tag = request.query_params.get("tag", "").strip().lower() or None
    if tag is not None and not TAG_RE.match(tag):
        tag = None
    return tag, request.query_params.get("status") == "stale"


async def network_kb(request: Request) -> Response:
    network = await network_queries.get_network(
        request.path_params["network"], request.state.viewer
    )
    tag, stale = _filters(request)
    shelves, total = await kb_queries.knowledge_base([network.id], tag=tag, stale_only=stale)
    return render(
        request,
        "kb/index.html",
        {
            "network": network,
            "networks": [],
            "chosen": "",
            "shelves": shelves,
            "total": total,
            "tag": tag,
            "stale": stale,
        },
    )


async def all_kb(request: Request) -> Response:
    viewer = request.state.viewer
    networks = await network_queries.visible_networks(viewer)
    chosen = request.query_params.get("network", "")
    ids = [n.id for n in networks if not chosen or n.slug == chosen]
    tag, stale = _filters(request)
    shelves, total = await kb_queries.knowledge_base(ids, tag=tag, stale_only=stale)
    return render(
        request,
        "kb/index.html",
        {
            "network": None,
            "networks": networks,
            "chosen": chosen if ids else "",
            "shelves": shelves,
            "total": total,
            "tag": tag,
            "stale": stale,
        },
    )


async def article(request: Request) -> Response:
    viewer = request.state.viewer
    network = await network_queries.get_network(request.path_params["network"], viewer)
    match = _ARTICLE_PATH.match(request.path_params["thread"])
    if not match:
        raise NotFound("no such article")
    thread_id = int(match.group(1))
    try:
        thread = await thread_queries.get_thread(network, thread_id)
    except NotFound:
        moved = await thread_queries.moved_thread(thread_id, viewer)
        if moved is None:
            raise
        return RedirectResponse(article_url(moved.network, moved.id, moved.slug), 301)
    found = await kb_queries.article(thread)
    if found is None:
        raise NotFound("this thread has no summary")
    if match.group(2) != thread.slug:
        return RedirectResponse(article_url(network, thread.id, thread.slug), 301)
    return render(
        request,
        "kb/article.html",
        {
            "network": network,
            "thread": thread,
            "article": found,
            "can_moderate": permissions.can_moderate(viewer, network),
        },
    )


def article_url(network: Network, thread_id: int, slug: str) -> str:
    return f"/n/{network.slug}/kb/{thread_id}-{slug}"


async def feed(request: Request) -> Response:
    """Atom: the network's latest written or reviewed summaries."""
    network = await network_queries.get_network(
        request.path_params["network"], request.state.viewer
    )
    articles = await kb_queries.recent_articles(network)
    base = request.app.state.settings.site.base_url.rstrip("/")
    response = render(
        request,
        "kb/feed.atom",
        {"network": network, "articles": articles, "base": base},
    )
    response.headers["Content-Type"] = "application/atom+xml; charset=utf-8"
    return response


async def queue(request: Request) -> Response:
    """Threads waiting for a summary, and stale summaries, in the networks the viewer
    facilitates. Anyone else is told there is nothing here."""
    viewer = request.state.viewer
    ids = await permissions.facilitated_network_ids(viewer)
    if not ids:
        raise NotFound("no queue")
    work = await kb_queries.facilitator_queue(ids)
    return render(
        request, "kb/queue.html", {"queue": work, "active_days": kb_queries.ACTIVE_FOR.days}
    )
