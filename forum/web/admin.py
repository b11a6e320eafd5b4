"""Pages for site admins. Anyone else is told there is nothing here (404)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.audit import queries as audit_queries
from forum.audit.services import ACTIONS
from forum.errors import NotFound
from forum.web.forms import int_or_none
from forum.web.templating import render

AUDIT_PER_PAGE = 50


def _require_admin(request: Request) -> None:
    if not request.state.viewer.is_admin:
        raise NotFound("no such page")


async def audit(request: Request) -> Response:
    """The audit log: who did what to which thread or post, and when; newest first."""
    _require_admin(request)
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
