"""Facilitators' tools for a thread: pin, lock, tags, rename, move, merge.

Each tool is a plain form (a GET shows it, a POST does it), so all of them work without
JavaScript. Who may do what is decided by the services; the pages check it first too, so a
visitor who may not curate is refused before any of their input is looked at (404 where they
may not read the network, 403 otherwise).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import permissions
from forum.errors import NotFound, PermissionDenied, ValidationError
from forum.networks import queries as network_queries
from forum.networks.models import Network
from forum.text import clean_line
from forum.threads import curation as curate
from forum.threads import queries
from forum.threads.models import Summary, Thread
from forum.web.forms import read_form
from forum.web.templating import render
from forum.web.urls import thread_url

# A thread's address as the forum writes it (absolute or not, with or without its slug or a
# post's anchor), or just its number.
_TARGET = re.compile(
    r"^(?:(?:https?://[^/\s]+)?/n/[a-z0-9-]{1,64}/t/)?#?([0-9]{1,9})(?:-[^\s/?#]*)?/?(?:[?#]\S*)?$"
)


async def _load(request: Request) -> tuple[Network, Thread]:
    """The thread named by the path, if the viewer may read it and curate its network."""
    viewer = request.state.viewer
    network = await network_queries.get_network(request.path_params["network"], viewer)
    thread = await queries.get_thread(network, request.path_params["thread_id"])
    if not permissions.can_moderate(viewer, network):
        raise PermissionDenied("Only the network's facilitators can do this.")
    return network, thread


async def _load_for_post(request: Request) -> tuple[Network, Thread, dict[str, str]]:
    viewer = request.state.viewer
    network = await network_queries.get_network(request.path_params["network"], viewer)
    thread = await queries.get_thread(network, request.path_params["thread_id"])
    # The form is read (and its CSRF token checked) before anything else is decided.
    form = await read_form(request)
    if not permissions.can_moderate(viewer, network):
        raise PermissionDenied("Only the network's facilitators can do this.")
    return network, thread, form


def _page(
    request: Request,
    name: str,
    network: Network,
    thread: Thread,
    context: dict[str, Any],
    status_code: int = 200,
) -> Response:
    base = {"network": network, "thread": thread, "errors": {}}
    return render(request, f"curation/{name}.html", {**base, **context}, status_code)


def _done(thread: Thread, network: Network | None = None) -> Response:
    return RedirectResponse(thread_url(thread, network), status_code=303)


async def pin(request: Request) -> Response:
    network, thread, form = await _load_for_post(request)
    pinned = form.get("value") == "1"
    await curate.set_pinned(viewer=request.state.viewer, thread=thread, pinned=pinned)
    return _done(thread, network)


async def lock_form(request: Request) -> Response:
    network, thread = await _load(request)
    return _page(request, "lock", network, thread, {"reason": thread.lock_reason})


async def lock(request: Request) -> Response:
    network, thread, form = await _load_for_post(request)
    locked = form.get("value") == "1"
    reason = form.get("reason", "")
    try:
        await curate.set_locked(
            viewer=request.state.viewer, thread=thread, locked=locked, reason=reason
        )
    except ValidationError as exc:
        context = {"reason": reason, "errors": exc.errors}
        return _page(request, "lock", network, thread, context, 422)
    return _done(thread, network)


def _tag_text(thread: Thread) -> str:
    return ", ".join(tag.slug for tag in thread.tags)


async def tags_form(request: Request) -> Response:
    network, thread = await _load(request)
    return _page(request, "tags", network, thread, {"tags": _tag_text(thread)})


async def tags(request: Request) -> Response:
    network, thread, form = await _load_for_post(request)
    text = form.get("tags", "")
    try:
        await curate.set_tags(
            viewer=request.state.viewer,
            thread=thread,
            tags=text,
            limits=request.app.state.settings.limits,
        )
    except ValidationError as exc:
        return _page(request, "tags", network, thread, {"tags": text, "errors": exc.errors}, 422)
    return _done(thread, network)


async def rename_form(request: Request) -> Response:
    network, thread = await _load(request)
    return _page(request, "rename", network, thread, {"title": thread.title})


async def rename(request: Request) -> Response:
    network, thread, form = await _load_for_post(request)
    title = form.get("title", "")
    try:
        await curate.rename_thread(
            viewer=request.state.viewer,
            thread=thread,
            title=title,
            limits=request.app.state.settings.limits,
        )
    except ValidationError as exc:
        context = {"title": title, "errors": exc.errors}
        return _page(request, "rename", network, thread, context, 422)
    return _done(thread, network)


async def _destinations(request: Request, network: Network) -> list[Network]:
    """The networks the viewer may move a thread of `network` to: those they facilitate."""
    viewer = request.state.viewer
    every = await network_queries.visible_networks(viewer)
    return [n for n in every if n.id != network.id and viewer.is_facilitator(n)]


async def move_form(request: Request) -> Response:
    network, thread = await _load(request)
    destinations = await _destinations(request, network)
    return _page(request, "move", network, thread, {"destinations": destinations, "chosen": ""})


async def move(request: Request) -> Response:
    network, thread, form = await _load_for_post(request)
    viewer = request.state.viewer
    chosen = form.get("network", "")
    try:
        to = await network_queries.get_network(chosen, viewer)
        await curate.move_thread(viewer=viewer, thread=thread, to=to)
    except (NotFound, ValidationError, PermissionDenied) as exc:
        if isinstance(exc, ValidationError):
            errors, status = exc.errors, 422
        elif isinstance(exc, PermissionDenied):
            errors, status = {"network": str(exc)}, 403
        else:
            errors, status = {"network": "Choose one of the networks listed."}, 422
        context = {
            "destinations": await _destinations(request, network),
            "chosen": chosen,
            "errors": errors,
        }
        return _page(request, "move", network, thread, context, status)
    return _done(thread)


def target_id(value: str) -> int | None:
    """The thread id in a thread's address (…/n/network/t/123-title) or a bare number."""
    value = clean_line(value)
    match = _TARGET.match(value) if len(value) <= 2000 else None
    return int(match.group(1)) if match else None


async def merge_form(request: Request) -> Response:
    network, thread = await _load(request)
    return _page(request, "merge", network, thread, {"target": ""})


async def merge(request: Request) -> Response:
    """Merge in two steps: the address of the target, then a confirmation naming both."""
    network, thread, form = await _load_for_post(request)
    viewer = request.state.viewer
    raw = form.get("target", "")

    def refuse(message: str, status: int = 422) -> Response:
        context = {"target": raw, "errors": {"target": message}}
        return _page(request, "merge", network, thread, context, status)

    wanted = target_id(raw)
    if wanted is None:
        return refuse(
            "Give the address of the thread to merge into (for example "
            "/n/network/t/123-title) or its number."
        )
    # An old address of a moved or merged thread leads to where it is now.
    target = await queries.moved_thread(wanted, viewer)
    if target is None:
        return refuse("There is no thread at that address.")
    if target.id == thread.id:
        return refuse("That is this thread: give the thread to merge it into.")
    if not permissions.can_moderate(viewer, target.network):
        return refuse("You can only merge into a thread of a network you facilitate.", 403)
    if form.get("confirm") != "1":
        summaries = set(
            await Summary.filter(thread_id__in=[thread.id, target.id]).values_list(
                "thread_id", flat=True
            )
        )
        return _page(
            request,
            "merge_confirm",
            network,
            thread,
            {
                "target": target,
                "summary_here": thread.id in summaries,
                "summary_there": target.id in summaries,
            },
        )
    try:
        merged = await curate.merge_threads(viewer=viewer, duplicate=thread, into=target)
    except ValidationError as exc:
        return refuse(" ".join(exc.errors.values()))
    return _done(merged)
