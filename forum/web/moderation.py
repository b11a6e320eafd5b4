"""Moderation pages: flag a post (members); hide, restore or redact it, and the queue of open
flags (facilitators). Plain forms; each POST reads its form (and checks its CSRF token)
before anything else is decided."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import permissions
from forum.errors import NotFound, PermissionDenied, ValidationError
from forum.moderation import queries, services
from forum.moderation.models import REASON_LABELS, Flag
from forum.networks import queries as network_queries
from forum.networks.models import Network
from forum.threads.models import Post
from forum.web.forms import read_form
from forum.web.posts import load_post
from forum.web.templating import render
from forum.web.urls import post_url


def _back(post: Post, network: Network) -> Response:
    return RedirectResponse(post_url(post, post.thread, network), status_code=303)


def _page(
    request: Request,
    name: str,
    network: Network,
    post: Post,
    context: dict[str, Any],
    status: int = 200,
) -> Response:
    base = {"network": network, "post": post, "thread": post.thread, "errors": {}}
    return render(request, f"moderation/{name}.html", {**base, **context}, status)


def _require_facilitator(request: Request, network: Network) -> None:
    if not permissions.can_moderate(request.state.viewer, network):
        raise PermissionDenied("Only the network's facilitators can moderate its posts.")


async def flag_form(request: Request) -> Response:
    network, post = await load_post(request)
    permissions.require_post(request.state.viewer, network)
    if post.withdrawn:
        raise PermissionDenied("This post is no longer shown: there is nothing to flag.")
    return _page(
        request, "flag", network, post, {"reason": "", "note": "", "reasons": REASON_LABELS}
    )


async def flag(request: Request) -> Response:
    network, post = await load_post(request)
    form = await read_form(request)
    reason, note = form.get("reason", ""), form.get("note", "")
    try:
        await services.flag_post(
            viewer=request.state.viewer, post=post, network=network, reason=reason, note=note
        )
    except ValidationError as exc:
        context = {"reason": reason, "note": note, "reasons": REASON_LABELS, "errors": exc.errors}
        return _page(request, "flag", network, post, context, 422)
    return render(
        request,
        "moderation/flagged.html",
        {"network": network, "post": post, "thread": post.thread},
    )


async def hide_form(request: Request) -> Response:
    network, post = await load_post(request)
    _require_facilitator(request, network)
    return _page(request, "hide", network, post, {"note": ""})


async def hide(request: Request) -> Response:
    network, post = await load_post(request)
    form = await read_form(request)
    _require_facilitator(request, network)
    note = form.get("note", "")
    try:
        await services.hide_post(viewer=request.state.viewer, post=post, network=network, note=note)
    except ValidationError as exc:
        return _page(request, "hide", network, post, {"note": note, "errors": exc.errors}, 422)
    return _back(post, network)


async def restore(request: Request) -> Response:
    network, post = await load_post(request)
    await read_form(request)
    await services.restore_post(viewer=request.state.viewer, post=post, network=network)
    return _back(post, network)


async def redact_form(request: Request) -> Response:
    network, post = await load_post(request)
    _require_facilitator(request, network)
    return _page(request, "redact", network, post, {})


async def redact(request: Request) -> Response:
    network, post = await load_post(request)
    await read_form(request)
    await services.redact_post(viewer=request.state.viewer, post=post, network=network)
    return _back(post, network)


async def dismiss(request: Request) -> Response:
    viewer = request.state.viewer
    network = await network_queries.get_network(request.path_params["network"], viewer)
    await read_form(request)
    flag = await Flag.filter(
        id=request.path_params["flag_id"], post__thread__network_id=network.id
    ).first()
    if flag is None:
        raise NotFound("no such flag")
    await services.dismiss_flag(viewer=viewer, flag=flag, network=network)
    return RedirectResponse("/flags", status_code=303)


async def flags(request: Request) -> Response:
    """Open flags in the networks the viewer facilitates; anyone else is told there is
    nothing here."""
    ids = await permissions.facilitated_network_ids(request.state.viewer)
    if not ids:
        raise NotFound("no flags")
    flagged, total = await queries.open_flags(ids)
    return render(
        request,
        "moderation/queue.html",
        {"flagged": flagged, "total": total, "reasons": REASON_LABELS},
    )
