"""Admin pages for people: accounts (search, deactivate, reactivate, admin role) and
invitations (list, send, withdraw). Anyone but an admin gets 404, as on every admin page.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.accounts import administration, invitations
from forum.accounts import queries as account_queries
from forum.accounts.models import User
from forum.accounts.queries import InvitationStatus, invitation_status
from forum.errors import NotFound, ValidationError
from forum.networks import queries as network_queries
from forum.web.admin import admin_form, require_admin
from forum.web.forms import form_values, int_or_none
from forum.web.templating import render

USERS_PER_PAGE = 50
INVITATIONS_PER_PAGE = 50


async def users(request: Request) -> Response:
    """Every account, searched by name, username or email, 50 to a page."""
    require_admin(request)
    q = request.query_params.get("q", "")
    page = int_or_none(request.query_params.get("page")) or 1
    listing = await account_queries.user_page(q=q, page=min(page, 10**6), per_page=USERS_PER_PAGE)
    return render(request, "admin/users.html", {"listing": listing, "q": q[:200]})


async def _user_page(
    request: Request, user: User, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    memberships = await network_queries.memberships_of(user.id)
    context = {"account": user, "memberships": memberships, "errors": errors or {}}
    return render(request, "admin/user.html", context, status)


async def user(request: Request) -> Response:
    require_admin(request)
    account = await account_queries.get_account(request.path_params["user_id"])
    return await _user_page(request, account)


def _flag(value: str | None) -> bool:
    """A yes/no button's value: "1" or "0", anything else is a bad request."""
    if value not in ("0", "1"):
        raise ValidationError({"account": "Use the page's buttons."})
    return value == "1"


async def set_active(request: Request) -> Response:
    form = await admin_form(request)
    account = await account_queries.get_account(request.path_params["user_id"])
    try:
        await administration.set_active(
            viewer=request.state.viewer, user=account, active=_flag(form.get("value"))
        )
    except ValidationError as exc:
        return await _user_page(request, account, exc.errors, 409)
    return RedirectResponse(f"/admin/users/{account.id}", status_code=303)


async def set_admin(request: Request) -> Response:
    form = await admin_form(request)
    account = await account_queries.get_account(request.path_params["user_id"])
    try:
        await administration.set_admin(
            viewer=request.state.viewer, user=account, is_admin=_flag(form.get("value"))
        )
    except ValidationError as exc:
        return await _user_page(request, account, exc.errors, 409)
    return RedirectResponse(f"/admin/users/{account.id}", status_code=303)


# Invitations.


async def invitations_page(request: Request) -> Response:
    """Invitations, newest first: all of them or one status (pending, used, expired,
    withdrawn), 50 to a page."""
    require_admin(request)
    raw = request.query_params.get("status", "")
    status = InvitationStatus(raw) if raw in set(InvitationStatus) else None
    page = int_or_none(request.query_params.get("page")) or 1
    listing = await account_queries.invitation_page(
        status=status, page=min(page, 10**6), per_page=INVITATIONS_PER_PAGE
    )
    ids = {i for invitation in listing.rows for i in invitation.network_ids or []}
    names = await network_queries.network_names(ids)
    return render(
        request,
        "admin/invitations.html",
        {
            "listing": listing,
            "status": status.value if status else "",
            "statuses": InvitationStatus,
            "status_of": invitation_status,
            "names": names,
        },
    )


async def _invitation_form(
    request: Request,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    viewer = request.state.viewer
    context = {
        "values": values,
        "errors": errors or {},
        "organisations": [o for o, _ in await account_queries.organisations_with_counts()],
        "networks": await network_queries.visible_networks(viewer),
    }
    return render(request, "admin/invitation_form.html", context, status)


async def invitation_new(request: Request) -> Response:
    require_admin(request)
    values = {"email": "", "organisation": "", "networks": set(), "message": ""}
    return await _invitation_form(request, values)


async def invitation_create(request: Request) -> Response:
    form = await admin_form(request)
    viewer = request.state.viewer
    chosen = set(await form_values(request, "networks"))
    values: dict[str, Any] = {
        "email": form.get("email", ""),
        "organisation": form.get("organisation", ""),
        "networks": chosen,
        "message": form.get("message", ""),
    }
    every = await network_queries.visible_networks(viewer)
    picked = [n for n in every if n.slug in chosen]
    organisation = None
    if values["organisation"]:
        try:
            organisation = await account_queries.get_organisation(values["organisation"])
        except NotFound:
            errors = {"organisation": "Choose one of the organisations listed, or none."}
            return await _invitation_form(request, values, errors, 422)
    if len(picked) != len(chosen):
        errors = {"networks": "Choose among the networks listed."}
        return await _invitation_form(request, values, errors, 422)
    site = request.app.state.settings.site
    try:
        await invitations.create_invitation(
            viewer=viewer,
            email=values["email"],
            networks=picked,
            organisation=organisation,
            message=values["message"],
            base_url=site.base_url,
            site_name=site.name,
        )
    except ValidationError as exc:
        return await _invitation_form(request, values, exc.errors, 422)
    return RedirectResponse("/admin/invitations?status=pending", status_code=303)


async def invitation_revoke(request: Request) -> Response:
    await admin_form(request)
    invitation = await account_queries.get_invitation(request.path_params["invitation_id"])
    await invitations.revoke(viewer=request.state.viewer, invitation=invitation)
    return RedirectResponse("/admin/invitations", status_code=303)
