"""Belonging to networks: the list of every network, joining, asking to join, leaving, and
the members page where facilitators admit, add, invite, remove and promote people.

Signed-in visitors may know that a members-only network exists (its name and description,
listed at /networks, never its content), so that a newcomer can ask to join it: the request
pages answer them; every other page of such a network stays 404 to anyone outside it. Each
POST reads its form (and checks its CSRF token) before anything else is decided.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import permissions
from forum.accounts import invitations
from forum.errors import PermissionDenied, ValidationError
from forum.networks import membership
from forum.networks import queries as network_queries
from forum.networks.models import Network, Role
from forum.ratelimit import RateLimited
from forum.threads import queries as thread_queries
from forum.web.forms import int_or_none, read_form
from forum.web.templating import render
from forum.web.urls import network_url

MEMBERS_PER_PAGE = 50

# What the members page says after each action (a fixed word in the address, never user
# text, so nothing a visitor types is reflected).
DONE = {
    "added": "The member was added and emailed.",
    "invited": "The invitation was sent.",
    "removed": "The member was removed.",
    "role": "The role was changed.",
    "approved": "The request was approved and the new member emailed.",
    "declined": "The request was declined and the person emailed.",
}


async def networks(request: Request) -> Response:
    """Every network the viewer may know of: those they may read with their activity, and
    (once signed in) the members-only ones by name and description only, to ask to join."""
    viewer = request.state.viewer
    listed = await network_queries.listed_networks(viewer)
    readable = [n.id for n in listed if permissions.can_read(viewer, n)]
    stats = await thread_queries.network_stats(readable)
    pending = await network_queries.pending_network_ids(viewer.user_id)
    return render(
        request,
        "membership/networks.html",
        {"networks": listed, "readable": set(readable), "stats": stats, "pending": pending},
    )


def _after(viewer: permissions.Viewer, network: Network) -> Response:
    """Back to the network's page, or to the list of networks when it can no longer be read."""
    to = network_url(network) if permissions.can_read(viewer, network) else "/networks"
    return RedirectResponse(to, status_code=303)


async def join(request: Request) -> Response:
    viewer = request.state.viewer
    network = await network_queries.get_network(request.path_params["network"], viewer)
    await read_form(request)
    await membership.join(viewer=viewer, network=network)
    return RedirectResponse(network_url(network), status_code=303)


async def _request_page(
    request: Request, network: Network, context: dict[str, Any], status: int = 200
) -> Response:
    viewer = request.state.viewer
    pending = await network_queries.pending_request(network, viewer.user_id)
    base: dict[str, Any] = {
        "network": network,
        "pending": pending,
        "can_read": permissions.can_read(viewer, network),
        "message": "",
        "errors": {},
        "limit": membership.MESSAGE_MAX,
    }
    return render(request, "membership/request.html", {**base, **context}, status)


async def request_form(request: Request) -> Response:
    """Asking to join: the form, or what stands in its way (not logged in, already a member,
    a request already waiting, email not confirmed, or an open network to join instead)."""
    viewer = request.state.viewer
    network = await network_queries.get_listed_network(request.path_params["network"], viewer)
    return await _request_page(request, network, {})


async def request_join(request: Request) -> Response:
    viewer = request.state.viewer
    network = await network_queries.get_listed_network(request.path_params["network"], viewer)
    form = await read_form(request)
    message = form.get("message", "")
    try:
        await membership.request_to_join(
            viewer=viewer, network=network, message=message, site=request.app.state.settings.site
        )
    except ValidationError as exc:
        return await _request_page(
            request, network, {"message": message, "errors": exc.errors}, 422
        )
    except RateLimited as exc:
        errors = {"message": f"You have asked to join too often today. {exc}"}
        return await _request_page(request, network, {"message": message, "errors": errors}, 429)
    return RedirectResponse(f"{network_url(network)}/request", status_code=303)


async def withdraw(request: Request) -> Response:
    viewer = request.state.viewer
    network = await network_queries.get_listed_network(request.path_params["network"], viewer)
    await read_form(request)
    await membership.withdraw_request(viewer=viewer, network=network)
    return _after(viewer, network)


async def leave(request: Request) -> Response:
    viewer = request.state.viewer
    network = await network_queries.get_network(request.path_params["network"], viewer)
    await read_form(request)
    try:
        await membership.leave(viewer=viewer, network=network)
    except ValidationError as exc:
        return render(
            request,
            "membership/cannot_leave.html",
            {"network": network, "problem": " ".join(exc.errors.values())},
            409,
        )
    # The viewer's roles were loaded before they left: decide where to go without them.
    return _after(permissions.Viewer(user=viewer.user), network)


# The members page (facilitators and admins).


def _require_manager(request: Request, network: Network) -> None:
    if not permissions.can_manage_members(request.state.viewer, network):
        raise PermissionDenied("Only the network's facilitators can manage its members.")


async def _members_page(
    request: Request, network: Network, context: dict[str, Any], status: int = 200
) -> Response:
    done = request.query_params.get("done", "")
    q = request.query_params.get("q", "")
    page = int_or_none(request.query_params.get("page")) or 1
    base = {
        "network": network,
        "members": await network_queries.member_page(
            network, q=q, page=min(page, 10**6), per_page=MEMBERS_PER_PAGE
        ),
        "q": q[:200],
        "requests": await network_queries.pending_requests(network),
        "who": "",
        "email": "",
        "invite_message": "",
        "errors": {},
        "done": DONE.get(done, "") if status == 200 else "",
        "roles": Role,
    }
    return render(request, "membership/members.html", {**base, **context}, status)


async def _manager_form(request: Request) -> tuple[Network, dict[str, str]]:
    """The network of a members-page POST and its form, read before anything is decided."""
    network = await network_queries.get_network(
        request.path_params["network"], request.state.viewer
    )
    form = await read_form(request)
    _require_manager(request, network)
    return network, form


async def _refused(
    request: Request, network: Network, section: str, exc: ValidationError
) -> Response:
    """The members page again, naming why an action on a member or request was refused (the
    error summary links to the section the action was in)."""
    errors = {section: " ".join(exc.errors.values())}
    return await _members_page(request, network, {"errors": errors}, 409)


def _done(network: Network, what: str) -> Response:
    return RedirectResponse(f"{network_url(network)}/members?done={what}", status_code=303)


async def members(request: Request) -> Response:
    network = await network_queries.get_network(
        request.path_params["network"], request.state.viewer
    )
    _require_manager(request, network)
    return await _members_page(request, network, {})


async def add(request: Request) -> Response:
    network, form = await _manager_form(request)
    who = form.get("who", "")
    try:
        added = await membership.add_member(
            viewer=request.state.viewer,
            network=network,
            who=who,
            site=request.app.state.settings.site,
        )
    except ValidationError as exc:
        return await _members_page(request, network, {"who": who, "errors": exc.errors}, 422)
    return _done(network, "added" if added else "invited")


async def invite(request: Request) -> Response:
    network, form = await _manager_form(request)
    email, message = form.get("email", ""), form.get("message", "")
    site = request.app.state.settings.site
    try:
        await invitations.create_invitation(
            viewer=request.state.viewer,
            email=email,
            networks=[network],
            message=message,
            base_url=site.base_url,
            site_name=site.name,
        )
    except ValidationError as exc:
        # The invitation form's message field is named apart from the request form's.
        errors = {
            ("invite_message" if k == "message" else "email"): v for k, v in exc.errors.items()
        }
        context = {"email": email, "invite_message": message, "errors": errors}
        return await _members_page(request, network, context, 422)
    return _done(network, "invited")


async def remove(request: Request) -> Response:
    network, _ = await _manager_form(request)
    member = await membership.get_membership(network, request.path_params["user_id"])
    try:
        await membership.remove_member(viewer=request.state.viewer, membership=member)
    except ValidationError as exc:
        return await _refused(request, network, "members", exc)
    return _done(network, "removed")


async def role(request: Request) -> Response:
    network, form = await _manager_form(request)
    member = await membership.get_membership(network, request.path_params["user_id"])
    try:
        await membership.set_role(
            viewer=request.state.viewer, membership=member, role=form.get("role", "")
        )
    except ValidationError as exc:
        return await _refused(request, network, "members", exc)
    return _done(network, "role")


async def approve(request: Request) -> Response:
    network, _ = await _manager_form(request)
    pending = await membership.get_request(network, request.path_params["request_id"])
    try:
        await membership.approve(
            viewer=request.state.viewer, request=pending, site=request.app.state.settings.site
        )
    except ValidationError as exc:
        return await _refused(request, network, "requests", exc)
    return _done(network, "approved")


async def decline(request: Request) -> Response:
    network, _ = await _manager_form(request)
    pending = await membership.get_request(network, request.path_params["request_id"])
    try:
        await membership.decline(
            viewer=request.state.viewer, request=pending, site=request.app.state.settings.site
        )
    except ValidationError as exc:
        return await _refused(request, network, "requests", exc)
    return _done(network, "declined")
