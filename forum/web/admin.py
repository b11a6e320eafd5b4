"""Pages for site admins: the overview, networks, organisations and the audit log (accounts
and invitations are in `admin_accounts`). Anyone else is told there is nothing here (404),
GET or POST; a POST reads its form (and checks its CSRF token) first.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.accounts import organisations
from forum.accounts import queries as account_queries
from forum.accounts.models import Organisation
from forum.audit import queries as audit_queries
from forum.audit.services import ACTIONS
from forum.errors import Conflict, NotFound, ValidationError
from forum.networks import queries as network_queries
from forum.networks import services as network_services
from forum.networks.models import JoinPolicy, Network, Visibility
from forum.web.forms import int_or_none, read_form
from forum.web.templating import render

AUDIT_PER_PAGE = 50
NETWORK_FIELDS = ("slug", "name", "description", "visibility", "join_policy")
ORGANISATION_FIELDS = ("slug", "name", "email_domains")


def require_admin(request: Request) -> None:
    if not request.state.viewer.is_admin:
        raise NotFound("no such page")


async def admin_form(request: Request) -> dict[str, str]:
    """An admin page's posted form: read (CSRF-checked) before the visitor is looked at, so a
    forged POST is refused as such; then 404 for anyone but an admin."""
    form = await read_form(request)
    require_admin(request)
    return form


async def overview(request: Request) -> Response:
    require_admin(request)
    return render(request, "admin/index.html", {})


async def audit(request: Request) -> Response:
    """The audit log: who did what to which thread or post, and when; newest first."""
    require_admin(request)
    page = int_or_none(request.query_params.get("page")) or 1
    action = request.query_params.get("action", "")
    if action not in ACTIONS:
        action = ""
    listing = await audit_queries.audit_page(
        page=page, per_page=AUDIT_PER_PAGE, action=action or None
    )
    return render(
        request, "admin/audit.html", {"listing": listing, "actions": ACTIONS, "action": action}
    )


# Networks.


async def networks(request: Request) -> Response:
    require_admin(request)
    listed = await network_queries.visible_networks(request.state.viewer)
    return render(request, "admin/networks.html", {"networks": listed})


def _network_form(
    request: Request,
    values: dict[str, str],
    network: Network | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "network": network,
        "values": values,
        "errors": errors or {},
        "visibilities": Visibility,
        "policies": JoinPolicy,
    }
    return render(request, "admin/network_form.html", context, status)


async def network_new(request: Request) -> Response:
    require_admin(request)
    values = {"slug": "", "name": "", "description": "", "visibility": "members"}
    return _network_form(request, {**values, "join_policy": "request"})


async def network_create(request: Request) -> Response:
    form = await admin_form(request)
    values = {key: form.get(key, "") for key in NETWORK_FIELDS}
    try:
        network = await network_services.create_network(
            slug=values["slug"],
            name=values["name"],
            description=values["description"],
            visibility=values["visibility"],
            join_policy=values["join_policy"],
            actor=request.state.viewer.user,
        )
    except ValidationError as exc:
        return _network_form(request, values, errors=exc.errors, status=422)
    except Conflict:
        errors = {"slug": "Another network already has this address: choose another."}
        return _network_form(request, values, errors=errors, status=409)
    return RedirectResponse(f"/n/{network.slug}", status_code=303)


async def _network(request: Request) -> Network:
    return await network_queries.get_network(request.path_params["network"], request.state.viewer)


def _settings(network: Network) -> dict[str, str]:
    return {
        "slug": network.slug,
        "name": network.name,
        "description": network.description,
        "visibility": Visibility(network.visibility).value,
        "join_policy": JoinPolicy(network.join_policy).value,
    }


async def network_edit_form(request: Request) -> Response:
    require_admin(request)
    network = await _network(request)
    return _network_form(request, _settings(network), network)


async def network_edit(request: Request) -> Response:
    form = await admin_form(request)
    network = await _network(request)
    values = {key: form.get(key, "") for key in NETWORK_FIELDS}
    values["slug"] = network.slug
    try:
        await network_services.edit_network(
            viewer=request.state.viewer,
            network=network,
            name=values["name"],
            description=values["description"],
            visibility=values["visibility"],
            join_policy=values["join_policy"],
        )
    except ValidationError as exc:
        return _network_form(request, values, network, exc.errors, 422)
    return RedirectResponse("/admin/networks", status_code=303)


# Organisations.


async def organisations_page(request: Request) -> Response:
    require_admin(request)
    rows = await account_queries.organisations_with_counts()
    return render(request, "admin/organisations.html", {"rows": rows})


def _organisation_form(
    request: Request,
    values: dict[str, str],
    organisation: Organisation | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {"organisation": organisation, "values": values, "errors": errors or {}}
    return render(request, "admin/organisation_form.html", context, status)


async def organisation_new(request: Request) -> Response:
    require_admin(request)
    return _organisation_form(request, dict.fromkeys(ORGANISATION_FIELDS, ""))


async def organisation_create(request: Request) -> Response:
    form = await admin_form(request)
    values = {key: form.get(key, "") for key in ORGANISATION_FIELDS}
    try:
        await organisations.create_organisation(
            viewer=request.state.viewer,
            slug=values["slug"],
            name=values["name"],
            email_domains=values["email_domains"],
        )
    except ValidationError as exc:
        return _organisation_form(request, values, errors=exc.errors, status=422)
    except Conflict:
        errors = {"slug": "Another organisation already has this address: choose another."}
        return _organisation_form(request, values, errors=errors, status=409)
    return RedirectResponse("/admin/organisations", status_code=303)


async def organisation_edit_form(request: Request) -> Response:
    require_admin(request)
    organisation = await account_queries.get_organisation(request.path_params["organisation"])
    values = {
        "slug": organisation.slug,
        "name": organisation.name,
        "email_domains": "\n".join(organisation.email_domains),
    }
    return _organisation_form(request, values, organisation)


async def organisation_edit(request: Request) -> Response:
    form = await admin_form(request)
    organisation = await account_queries.get_organisation(request.path_params["organisation"])
    values = {key: form.get(key, "") for key in ORGANISATION_FIELDS}
    values["slug"] = organisation.slug
    try:
        await organisations.edit_organisation(
            viewer=request.state.viewer,
            organisation=organisation,
            name=values["name"],
            email_domains=values["email_domains"],
        )
    except ValidationError as exc:
        return _organisation_form(request, values, organisation, exc.errors, 422)
    return RedirectResponse("/admin/organisations", status_code=303)
