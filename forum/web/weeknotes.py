"""Weeknotes pages: a network's (or the whole site's) list, one weeknote, and for its writers
drafting, editing, publishing and discarding."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import permissions
from forum.errors import NotFound, PermissionDenied, ValidationError
from forum.networks import queries as network_queries
from forum.networks.models import Network
from forum.notifications import weeknotes
from forum.notifications.models import Weeknote, WeeknoteStatus
from forum.timeutil import utcnow
from forum.web.forms import read_form
from forum.web.templating import render

_REF = re.compile(r"^([0-9]{1,9})(?:-[a-z0-9-]*)?$")


async def _network(request: Request) -> Network | None:
    """The network of the URL, or None for the site-wide weeknotes."""
    if "network" not in request.path_params:
        return None
    return await network_queries.get_network(request.path_params["network"], request.state.viewer)


def _base(network: Network | None) -> str:
    return f"/n/{network.slug}/weeknotes" if network else "/weeknotes"


def _may_write(viewer: permissions.Viewer, network: Network | None) -> bool:
    return viewer.is_admin if network is None else viewer.is_facilitator(network)


async def _weeknote(request: Request, network: Network | None) -> Weeknote:
    ref = str(request.path_params.get("weeknote", request.path_params.get("weeknote_id", "")))
    match = _REF.match(ref)
    if not match:
        raise NotFound("no such weeknote")
    return await weeknotes.get(request.state.viewer, network, int(match.group(1)))


async def index(request: Request) -> Response:
    network = await _network(request)
    start, end = weeknotes.week_before(utcnow())
    last = (end - timedelta(days=1)).date().isoformat()
    return await _index_page(request, network, start.date().isoformat(), last, {})


async def _index_page(
    request: Request,
    network: Network | None,
    start: str,
    end: str,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    """The weeknotes page with its drafting form filled with `start` and `end`."""
    viewer = request.state.viewer
    return render(
        request,
        "weeknotes/index.html",
        {
            "network": network,
            "base": _base(network),
            "notes": await weeknotes.listing(viewer, network),
            "can_write": _may_write(viewer, network),
            "start": start,
            "end": end,
            "errors": errors,
        },
        status_code=status_code,
    )


def _day(value: str) -> datetime | None:
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


async def draft(request: Request) -> Response:
    network = await _network(request)
    viewer = request.state.viewer
    form = await read_form(request)
    if not _may_write(viewer, network):
        raise PermissionDenied("Only the facilitators write this network's weeknotes.")
    start, last = _day(form.get("start", "")[:20]), _day(form.get("end", "")[:20])
    errors: dict[str, str] = {}
    if start is None:
        errors["start"] = "Enter the first day as YYYY-MM-DD, for example 2026-11-23."
    if last is None:
        errors["end"] = "Enter the last day as YYYY-MM-DD, for example 2026-11-29."
    if start is not None and last is not None:
        try:
            note = await weeknotes.draft(
                viewer=viewer,
                network=network,
                start=start,
                end=last + timedelta(days=1),
                site_name=request.app.state.settings.site.name,
            )
        except ValidationError as exc:
            errors = exc.errors
        else:
            note.network = network
            return RedirectResponse(f"{_base(network)}/{note.id}/edit", status_code=303)
    form_start, form_end = form.get("start", "")[:20], form.get("end", "")[:20]
    return await _index_page(request, network, form_start, form_end, errors, 400)


async def show(request: Request) -> Response:
    network = await _network(request)
    note = await _weeknote(request, network)
    return render(
        request,
        "weeknotes/show.html",
        {
            "network": network,
            "base": _base(network),
            "note": note,
            "can_write": _may_write(request.state.viewer, network),
        },
    )


def _edit_page(
    request: Request,
    network: Network | None,
    note: Weeknote,
    title: str,
    body: str,
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return render(
        request,
        "weeknotes/edit.html",
        {
            "network": network,
            "base": _base(network),
            "note": note,
            "title": title,
            "body": body,
            "errors": errors,
            "published": note.status == WeeknoteStatus.PUBLISHED,
        },
        status_code=status,
    )


async def edit_form(request: Request) -> Response:
    network = await _network(request)
    note = await _weeknote(request, network)
    if not _may_write(request.state.viewer, network):
        raise PermissionDenied("Only the facilitators edit this network's weeknotes.")
    return _edit_page(request, network, note, note.title, note.body, {})


async def edit(request: Request) -> Response:
    form = await read_form(request)
    network = await _network(request)
    note = await _weeknote(request, network)
    title, body = form.get("title", "")[:1000], form.get("body", "")[:200_000]
    try:
        await weeknotes.edit(viewer=request.state.viewer, weeknote=note, title=title, body=body)
    except ValidationError as exc:
        return _edit_page(request, network, note, title, body, exc.errors, 400)
    if form.get("publish") == "1":
        await weeknotes.publish(
            viewer=request.state.viewer,
            weeknote=note,
            site_name=request.app.state.settings.site.name,
        )
    return RedirectResponse(weeknotes.weeknote_path(note), status_code=303)


async def publish(request: Request) -> Response:
    await read_form(request)
    network = await _network(request)
    note = await _weeknote(request, network)
    await weeknotes.publish(
        viewer=request.state.viewer, weeknote=note, site_name=request.app.state.settings.site.name
    )
    return RedirectResponse(weeknotes.weeknote_path(note), status_code=303)


async def discard(request: Request) -> Response:
    await read_form(request)
    network = await _network(request)
    note = await _weeknote(request, network)
    try:
        await weeknotes.delete_draft(viewer=request.state.viewer, weeknote=note)
    except ValidationError as exc:
        return _edit_page(request, network, note, note.title, note.body, exc.errors, 400)
    return RedirectResponse(_base(network), status_code=303)
