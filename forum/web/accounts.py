"""Log in, log out, profiles."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import permissions, ratelimit
from forum.accounts import queries, services
from forum.accounts.models import User
from forum.threads import queries as thread_queries
from forum.web import devices, limits
from forum.web.forms import read_form
from forum.web.security import (
    SESSION_COOKIE,
    client_address,
    delete_cookie,
    new_csrf_value,
    rotate_csrf,
    set_cookie,
)
from forum.web.templating import render
from forum.web.unsent import Unsent, carried
from forum.web.unsent import page as unsent_page


def safe_next(value: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def login_page(
    request: Request,
    *,
    next_url: str,
    login: str = "",
    error: str | None = None,
    unsent: Unsent | None = None,
    status_code: int = 200,
) -> Response:
    """The login form; with `unsent`, it carries what someone wrote when their session
    ended (`web.unsent`) and says so."""
    context = {"next": next_url, "login": login, "error": error, "unsent": unsent}
    return render(request, "accounts/login.html", context, status_code)


async def login_form(request: Request) -> Response:
    return login_page(request, next_url=safe_next(request.query_params.get("next")))


async def login(request: Request) -> Response:
    form = await read_form(request)
    login_name = form.get("login", "")[:254]
    password = form.get("password", "")[:1024]
    next_url, text = safe_next(form.get("next")), carried(form)
    context = {"next": next_url, "login": login_name, "unsent": text}

    def again(error: str, status_code: int) -> Response:
        return render(request, "accounts/login.html", {**context, "error": error}, status_code)

    if not login_name or not password:
        return again("Enter your username or email and your password.", 400)
    # Only failures count; a correct password does not get past a limit either. Which
    # limits depends on whether this browser has logged in to the account before, so the
    # account is looked up first, for browsers with a device cookie only (they know it).
    account = None
    if devices.read(request) is not None:
        account = await services.account_for_login(login_name)
    attempt = await limits.login_limits(request, login_name, account)
    try:
        await ratelimit.check_all(attempt.rules())
    except ratelimit.RateLimited as exc:
        return limits.too_many(request, "accounts/login.html", {**context, "error": str(exc)}, exc)
    user = await services.authenticate(login=login_name, password=password)
    if user is None:
        # The same answer whether or not the account exists (or is deactivated).
        await attempt.failed()
        return again("That username or email and password do not match an account.", 401)
    await attempt.forgive(user)
    return await start_session(request, user, next_url, unsent=text)


async def start_session(
    request: Request, user: User, next_url: str, *, unsent: Unsent | None = None
) -> Response:
    """Log `user` in on this browser and go to `next_url` (a safe, local path); or, with
    `unsent`, show what they wrote before logging in, ready to send.

    A new session key at every login, so a key planted before login is worthless, and a new
    CSRF cookie with it. For any page that logs someone in.
    """
    settings = request.app.state.settings
    old = request.state.session_key
    if old:
        await services.end_session(key=old)
    key = await services.start_session(
        user=user,
        days=settings.security.session_days,
        user_agent=request.headers.get("user-agent", ""),
        address=client_address(request),
    )
    csrf = new_csrf_value()
    response: Response
    if unsent is None:
        response = RedirectResponse(next_url, status_code=303)
    else:
        # This page is the first of the new session: its form carries the new cookie's token.
        request.state.viewer = await permissions.viewer_for(user)
        request.state.csrf_cookie = csrf
        response = await unsent_page(request, unsent, again=True, status_code=200)
    set_cookie(response, request, SESSION_COOKIE, key, settings.security.session_days * 86400)
    rotate_csrf(response, request, csrf)
    # From now on this browser is one the account has logged in from (`web.devices`).
    devices.remember(response, request, user.id)
    return response


async def logout(request: Request) -> Response:
    await read_form(request)
    if request.state.session_key:
        await services.end_session(key=request.state.session_key)
    response = RedirectResponse("/", status_code=303)
    delete_cookie(response, request, SESSION_COOKIE)
    rotate_csrf(response, request)
    return response


async def profile(request: Request) -> Response:
    user = await queries.get_user(request.path_params["username"])
    viewer = request.state.viewer
    network_ids = await permissions.readable_network_ids(viewer)
    posts = await thread_queries.recent_posts_by(user.id, network_ids)
    return render(request, "accounts/profile.html", {"profile": user, "posts": posts})
