"""The signed-in user's own sessions: see where they are logged in, and log out elsewhere."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.accounts import devices, queries, services
from forum.accounts.models import User
from forum.web.forms import read_form
from forum.web.security import SESSION_COOKIE, delete_cookie, rotate_csrf
from forum.web.templating import render

PAGE = "/account/sessions"
NOTICES = {
    "one": "The session was ended: that browser is logged out.",
    "others": "Every other session was ended: you are logged in only here now.",
}


def _signed_in(request: Request) -> User:
    """The viewer's account; anyone else is sent to log in and come back here."""
    user = request.state.viewer.user
    if user is None:
        raise HTTPException(303, headers={"Location": f"/login?next={quote(PAGE)}"})
    assert isinstance(user, User)
    return user


def _duration(hours: int) -> str:
    if hours % 24 == 0:
        days = hours // 24
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours} hour{'s' if hours != 1 else ''}"


async def page(request: Request) -> Response:
    user = _signed_in(request)
    idle_hours = request.app.state.settings.security.session_idle_hours
    idle = timedelta(hours=idle_hours)
    current = request.state.session_id
    rows = [
        {
            "session": s,
            "device": devices.describe(s.user_agent),
            "last_seen": s.last_seen_at or s.created_at,
            "current": s.id == current,
        }
        for s in await queries.live_sessions(user.id, idle=idle)
    ]
    notice = NOTICES.get(request.query_params.get("ended", ""))
    return render(
        request,
        "accounts/sessions.html",
        {"rows": rows, "notice": notice, "idle": _duration(idle_hours)},
    )


async def end(request: Request) -> Response:
    await read_form(request)
    user = _signed_in(request)
    session_id: int = request.path_params["session_id"]
    # Raises NotFound unless the session is the viewer's own.
    await services.end_own_session(user=user, session_id=session_id)
    if session_id == request.state.session_id:
        # Ending the session in use is logging out.
        response = RedirectResponse("/", status_code=303)
        delete_cookie(response, request, SESSION_COOKIE)
        rotate_csrf(response, request)
        return response
    return RedirectResponse(f"{PAGE}?ended=one", status_code=303)


async def end_others(request: Request) -> Response:
    await read_form(request)
    user = _signed_in(request)
    await services.end_other_sessions(user=user, keep_key=request.state.session_key)
    return RedirectResponse(f"{PAGE}?ended=others", status_code=303)
