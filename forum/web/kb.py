"""The knowledge base: a network's articles, all the viewer may read, one article; and the
facilitator's queue of threads to summarise. (Its Atom feed is in `feeds.py`.)"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import permissions
from forum.errors import NotFound
from forum.knowledge import queries as kb_queries
from forum.networks import queries as network_queries
from forum.networks.models import Network
from forum.text import TAG_RE
from forum.threads import queries as thread_queries
from forum.web.forms import int_or_none
from forum.web.templating import render
from forum.web.urls import parse_thread_path


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
    return await _index(request, [network.id], network=network)


async def all_kb(request: Request) -> Response:
    networks = await network_queries.visible_networks(request.state.viewer)
    chosen = request.query_params.get("network", "")
    ids = [n.id for n in networks if not chosen or n.slug == chosen]
    return await _index(request, ids, networks=networks, chosen=chosen if ids else "")


async def _index(
    request: Request,
    network_ids: list[int],
    *,
    network: Network | None = None,
    networks: list[Network] | None = None,
    chosen: str = "",
) -> Response:
    """A knowledge base page: one network's, or (with `networks` to choose from) all."""
    tag, stale = _filters(request)
    page = int_or_none(request.query_params.get("page")) or 1
    found = await kb_queries.knowledge_base(network_ids, tag=tag, stale_only=stale, page=page)
    return render(
        request,
        "kb/index.html",
        {
            "network": network,
            "networks": networks or [],
            "chosen": chosen,
            "shelves": found.shelves,
            "total": found.total,
            "tags": found.tags,
            "tag": tag,
            "stale": stale,
            "page": found.page,
            "pages": found.pages,
        },
    )


async def article(request: Request) -> Response:
    viewer = request.state.viewer
    network = await network_queries.get_network(request.path_params["network"], viewer)
    thread_id, slug = parse_thread_path(request.path_params["thread"])
    thread = await thread_queries.locate_thread(network, thread_id, viewer)
    if thread.id != thread_id or thread.network_id != network.id:
        return RedirectResponse(article_url(thread.network, thread.id, thread.slug), 301)
    found = await kb_queries.article(thread)
    if found is None:
        raise NotFound("this thread has no summary")
    if slug != thread.slug:
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
