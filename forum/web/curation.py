"""Facilitators' tools for a thread: pin, lock."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.networks import queries as network_queries
from forum.threads import queries, services
from forum.web.forms import read_form
from forum.web.urls import thread_url


async def _moderate(request: Request, flag: str) -> Response:
    network = await network_queries.get_network(
        request.path_params["network"], request.state.viewer
    )
    thread = await queries.get_thread(network, request.path_params["thread_id"])
    form = await read_form(request)
    value = form.get("value") == "1"
    viewer = request.state.viewer
    if flag == "pinned":
        await services.set_pinned(viewer=viewer, thread=thread, pinned=value)
    else:
        await services.set_locked(viewer=viewer, thread=thread, locked=value)
    return RedirectResponse(thread_url(thread, network), status_code=303)


async def pin(request: Request) -> Response:
    return await _moderate(request, "pinned")


async def lock(request: Request) -> Response:
    return await _moderate(request, "locked")
