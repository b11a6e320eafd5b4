"""Jinja2 set-up and the one helper routes use to render a page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from forum.config import ROOT
from forum.text import excerpt
from forum.timeutil import iso, relative
from forum.web.security import csrf_token


def _time(dt: datetime | None) -> Markup:
    """<time> with the exact time as machine-readable datetime and as a tooltip."""
    if dt is None:
        return Markup("")
    exact = dt.strftime("%-d %B %Y at %H:%M UTC")
    # Digits, month names, spaces and punctuation from date formatting: nothing to escape
    # (a long thread page has a thousand of these; Markup.format is the slow way).
    return Markup(f'<time datetime="{iso(dt)}" title="{exact}">{relative(dt)}</time>')  # noqa: S704


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def make_templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(ROOT / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["time"] = _time
    env.filters["iso"] = iso
    env.filters["plural"] = _plural
    env.filters["excerpt"] = excerpt
    return Jinja2Templates(env=env)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    """Render `name` with what every page needs: viewer, CSRF token, site settings."""
    state = request.app.state
    ctx: dict[str, Any] = {
        "viewer": request.state.viewer,
        "csrf_token": csrf_token(state.secret, request.state.csrf_cookie),
        "site": state.settings.site,
        "limits": state.settings.limits,
        "unread_notifications": getattr(request.state, "unread_notifications", 0),
    }
    ctx.update(context or {})
    response: Response = state.templates.TemplateResponse(
        request, name, ctx, status_code=status_code
    )
    response.headers["Cache-Control"] = "no-store" if request.state.viewer.user else "no-cache"
    return response
