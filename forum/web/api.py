"""The read-only JSON API, /api/v1/…: the same queries and permissions as the pages."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum import permissions, ratelimit
from forum.errors import PermissionDenied, ValidationError
from forum.networks import queries as network_queries
from forum.networks.models import Network
from forum.threads import queries, reading
from forum.threads import services as thread_services
from forum.threads.models import Thread
from forum.timeutil import iso
from forum.web.forms import read_form
from forum.web.limits import preview_rule
from forum.web.urls import thread_url


def _network(n: Network) -> dict[str, Any]:
    return {"slug": n.slug, "name": n.name, "visibility": str(n.visibility), "url": f"/n/{n.slug}"}


def _thread(t: Thread) -> dict[str, Any]:
    return {
        "id": t.id,
        "title": t.title,
        "url": thread_url(t),
        "author": t.author.username,
        "created": iso(t.created_at),
        "last_activity": iso(t.last_activity_at),
        "replies": t.reply_count,
        "pinned": t.pinned,
        "locked": t.locked,
        "tags": [tag.slug for tag in t.tags],
    }


def _post(p: reading.PostRow, depth: int) -> dict[str, Any]:
    return {
        "id": p.id,
        "parent": p.parent_id,
        "depth": depth,
        "author": p.author.username,
        "created": iso(p.created_at),
        "edited": iso(p.edited_at) if p.edited_at else None,
        "deleted": p.deleted,
        "html": None if p.withdrawn else p.body_html,  # deleted, hidden or redacted
    }


async def networks(request: Request) -> Response:
    items = await network_queries.visible_networks(request.state.viewer)
    return JSONResponse({"networks": [_network(n) for n in items]})


async def network_threads(request: Request) -> Response:
    network = await network_queries.get_network(
        request.path_params["network"], request.state.viewer
    )
    listing = await queries.network_threads(
        network,
        per_page=request.app.state.settings.limits.threads_per_page,
        after=request.query_params.get("after"),
        before=request.query_params.get("before"),
    )
    for t in listing.threads:
        t.network = network
    return JSONResponse(
        {
            "network": _network(network),
            "total": listing.total,
            # Cursors: pass as ?after= for the next (older) threads, ?before= for newer.
            "older": listing.older,
            "newer": listing.newer,
            "threads": [_thread(t) for t in listing.threads],
        }
    )


async def thread(request: Request) -> Response:
    network = await network_queries.get_network(
        request.path_params["network"], request.state.viewer
    )
    t = await queries.get_thread(network, request.path_params["thread_id"])
    nodes = await reading.thread_posts(t.id)
    return JSONResponse({"thread": _thread(t), "posts": [_post(n.post, n.depth) for n in nodes]})


async def preview(request: Request) -> Response:
    """POST /api/v1/preview: a body rendered as it would be stored, for the live preview.
    Signed-in people only, with the form's CSRF token; nothing is saved."""
    form = await read_form(request)
    viewer = request.state.viewer
    no_store = {"Cache-Control": "no-store"}
    try:
        permissions.require_preview(viewer)
        await ratelimit.hit_all([preview_rule(viewer)])
        limits = request.app.state.settings.limits
        html = await thread_services.preview(form.get("body", ""), limits)
    except PermissionDenied as exc:
        return JSONResponse({"error": str(exc)}, status_code=403, headers=no_store)
    except ratelimit.RateLimited as exc:
        headers = {**no_store, "Retry-After": str(exc.retry_after)}
        minutes = -(-exc.retry_after // 60)
        message = f"Too many previews for now. Try again in {minutes} minute(s)."
        return JSONResponse({"error": message}, status_code=429, headers=headers)
    except ValidationError as exc:
        message = " ".join(exc.errors.values())
        return JSONResponse({"error": message}, status_code=400, headers=no_store)
    return JSONResponse({"html": html}, headers=no_store)
