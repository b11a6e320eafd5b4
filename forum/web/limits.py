"""Rate limits at the web layer: whose events a request counts, and the page that refuses.

The domain services know nothing of limits (they stay simple to call and to test); the
routes that need a limit build its keys here and render `too_many` when it is reached.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from forum import ratelimit
from forum.accounts.models import User
from forum.permissions import Viewer
from forum.web.security import client_address
from forum.web.templating import render


def login_rules(request: Request, login: str) -> list[ratelimit.Rule]:
    """Failed logins, counted per name typed and per address.

    Per name typed rather than per account found, so that a name that belongs to nobody is
    limited exactly like one that does, and being limited reveals nothing.
    """
    name = login.strip().lstrip("@").lower()
    return [
        (f"login:account:{name}", ratelimit.LOGIN_PER_ACCOUNT),
        (f"login:address:{client_address(request)}", ratelimit.LOGIN_PER_ADDRESS),
    ]


def login_account_keys(user: User) -> list[str]:
    """Every key a user's failed logins were counted under (by username and by email)."""
    return [f"login:account:{user.username}", f"login:account:{user.email.strip().lower()}"]


def posting_rule(viewer: Viewer) -> ratelimit.Rule:
    """New threads and replies, per account."""
    return (f"post:account:{viewer.user_id}", ratelimit.POSTS_PER_ACCOUNT)


def preview_rule(viewer: Viewer) -> ratelimit.Rule:
    """Previews (live and from the forms), per account."""
    return (f"preview:account:{viewer.user_id}", ratelimit.PREVIEWS_PER_ACCOUNT)


def edit_rule(viewer: Viewer) -> ratelimit.Rule:
    """Edits of posts and summaries, per account."""
    return (f"edit:account:{viewer.user_id}", ratelimit.EDITS_PER_ACCOUNT)


def too_many(
    request: Request, template: str, context: dict[str, Any], exc: ratelimit.RateLimited
) -> Response:
    """Re-render the form (the caller keeps the user's text and puts str(exc) where the form
    shows its errors) with status 429 and Retry-After."""
    response = render(request, template, context, status_code=429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response
