"""Sessions, CSRF and security headers for the web layer.

A pure ASGI middleware puts the `Viewer` on every request: it reads the session cookie (a
random key whose hash is stored server-side, so logging out or changing a password ends it
everywhere) and makes sure the browser has a CSRF cookie. Every state-changing form carries
a token that is an HMAC of that cookie; `forms.read_form` refuses a POST without it.

Over https both cookies are named with the `__Host-` prefix: the browser then only accepts
them Secure, for the whole site and from this host, so a man in the middle on plain http or
a sibling subdomain cannot plant a session or CSRF cookie. Over plain http (development)
they keep their bare names. A request is only ever read under the name that applies to it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from http.cookies import SimpleCookie

from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forum import changes, permissions
from forum.accounts import services as accounts

SESSION_COOKIE = "forum_session"
CSRF_COOKIE = "forum_csrf"
HOST_PREFIX = "__Host-"


def csrf_token(secret: str, csrf_cookie: str) -> str:
    return hmac.new(secret.encode(), f"csrf:{csrf_cookie}".encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret: str, csrf_cookie: str | None, token: str | None) -> bool:
    if not csrf_cookie or not token:
        return False
    return hmac.compare_digest(csrf_token(secret, csrf_cookie), token)


def secure_cookie(conn: HTTPConnection) -> bool:
    mode = conn.app.state.settings.security.secure_cookies
    return mode == "always" or (mode == "auto" and conn.url.scheme == "https")


def cookie_name(conn: HTTPConnection, name: str) -> str:
    """`name` as this request's cookies carry it: `__Host-name` whenever cookies are Secure."""
    return HOST_PREFIX + name if secure_cookie(conn) else name


def client_address(conn: HTTPConnection) -> str:
    """The address the request came from: the one answer for rate limits, the searches'
    turns, the list of sessions and the operator's checks.

    This is the peer of the connection as uvicorn gives it: the proxy's X-Forwarded-For is
    believed (uvicorn's ProxyHeadersMiddleware puts it here) only when that proxy is listed
    in `server.forwarded_allow_ips` (`forum serve` passes the list: `cli.uvicorn_options`).
    The forum itself never reads a forwarding header for an address.
    """
    return (conn.client.host if conn.client else "")[:64] or "unknown"


def proxied(conn: HTTPConnection) -> bool:
    """Whether the request came through a proxy (it carries a forwarding header), believed
    or not: then its peer's address, loopback or not, says nothing about who asked."""
    return any(name in conn.headers for name in ("x-forwarded-for", "forwarded", "x-real-ip"))


def set_cookie(
    response: Response, conn: HTTPConnection, name: str, value: str, max_age: int | None
) -> None:
    """Set cookie `name` (a bare name: the `__Host-` prefix is added when it applies)."""
    response.set_cookie(
        cookie_name(conn, name),
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=secure_cookie(conn),
        path="/",
    )


def delete_cookie(response: Response, conn: HTTPConnection, name: str) -> None:
    # A __Host- cookie is only replaced by one with the same attributes (Secure, Path=/).
    response.delete_cookie(
        cookie_name(conn, name), path="/", secure=secure_cookie(conn), httponly=True, samesite="lax"
    )


def new_csrf_value() -> str:
    return secrets.token_urlsafe(24)


def rotate_csrf(response: Response, conn: HTTPConnection, value: str | None = None) -> None:
    """Give the browser a new CSRF cookie (at login and logout): `value`, or a new one."""
    set_cookie(response, conn, CSRF_COOKIE, value or new_csrf_value(), None)


# Paths served without reading the session (and without setting a CSRF cookie).
NO_VIEWER = ("/static/", "/healthz", "/readyz", "/metrics")


class SessionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(NO_VIEWER):
            # Stylesheets and health checks need no viewer: spare them the session lookup.
            await self.app(scope, receive, send)
            return
        # What a page keeps until the change log moves asks where the log is once a request.
        with changes.per_request():
            await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        conn = HTTPConnection(scope)
        visit = None
        key = conn.cookies.get(cookie_name(conn, SESSION_COOKIE))
        if key and len(key) < 200:
            idle = timedelta(hours=conn.app.state.settings.security.session_idle_hours)
            # The session, its user, their roles and the header's count of unread
            # notifications: kept until the change log moves (one query: where it stands).
            visit = await accounts.visit(key, idle=idle)
        state = scope.setdefault("state", {})
        if visit is None:
            state["viewer"] = permissions.ANONYMOUS
            state["unread_notifications"] = 0
            changes.accept_recent()  # someone not signed in may see writes RECENT late
        else:
            state["viewer"] = permissions.Viewer(user=visit.session.user, roles=visit.roles)
            state["unread_notifications"] = visit.unread
        session = visit.session if visit else None
        csrf_name = cookie_name(conn, CSRF_COOKIE)
        csrf = conn.cookies.get(csrf_name)
        new_csrf = None
        if not csrf or len(csrf) > 100:
            csrf = new_csrf = new_csrf_value()
        state["csrf_cookie"] = csrf
        state["session_key"] = key if session else None
        state["session_id"] = session.id if session else None

        if new_csrf is None:
            await self.app(scope, receive, send)
            return

        secure = secure_cookie(conn)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                # Do not overwrite a CSRF cookie the endpoint set itself (login, logout).
                if not any(
                    k == b"set-cookie" and v.startswith(csrf_name.encode() + b"=")
                    for k, v in headers
                ):
                    cookie: SimpleCookie = SimpleCookie()
                    cookie[csrf_name] = new_csrf
                    morsel = cookie[csrf_name]
                    morsel["path"] = "/"
                    morsel["httponly"] = True
                    morsel["samesite"] = "lax"
                    if secure:
                        morsel["secure"] = True
                    headers.append((b"set-cookie", morsel.OutputString().encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


SECURITY_HEADERS = [
    # Only our own script files run (no inline script can be injected); every page works
    # without them.
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; object-src 'none'; style-src 'self'; "
        b"img-src 'self' https: http: data:; frame-ancestors 'none'; base-uri 'none'; "
        b"form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    # A forum needs none of the browser's powerful features: no page may ask for them.
    (
        b"permissions-policy",
        b"accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), "
        b"gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), "
        b"publickey-credentials-get=(), screen-wake-lock=(), serial=(), usb=(), "
        b"xr-spatial-tracking=(), browsing-topics=()",
    ),
    # A window this site opens, or that opens it, gets no handle on the other (tabnabbing,
    # cross-window leaks).
    (b"cross-origin-opener-policy", b"same-origin"),
]
# Sent only on https: over plain http it would be ignored, and a development server must
# not make the browser insist on https for localhost.
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


PRIVATE = b"private, no-store"


def _cache_headers(scope: Scope, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """What a cache may keep, decided once for every kind of response (page, JSON, feed,
    redirect, error): an answer to someone signed in, or one that sets a cookie, is
    `private, no-store` whatever its route said; every answer whose content depends on the
    session says `Vary: Cookie`, so that no shared cache hands one person's answer to
    another. Members-only content only ever goes to a signed-in member (or a private feed
    key, whose feeds say `private, no-store` themselves)."""
    if scope["path"].startswith(NO_VIEWER):
        return headers
    viewer = scope.get("state", {}).get("viewer")
    signed_in = viewer is not None and viewer.user is not None
    sets_cookie = any(k.lower() == b"set-cookie" for k, _ in headers)
    out = []
    vary: list[bytes] = []
    for k, v in headers:
        name = k.lower()
        if name == b"vary":
            vary += [part.strip() for part in v.split(b",") if part.strip()]
        elif name == b"cache-control" and (signed_in or sets_cookie):
            continue
        else:
            out.append((k, v))
    if signed_in or sets_cookie:
        out.append((b"cache-control", PRIVATE))
    if b"cookie" not in {part.lower() for part in vary} and b"*" not in vary:
        vary.append(b"Cookie")
    out.append((b"vary", b", ".join(vary)))
    return out


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP response (HSTS only to requests over https),
    and the cache headers of `_cache_headers`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        wanted = [*SECURITY_HEADERS, HSTS] if scope.get("scheme") == "https" else SECURITY_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in wanted if h[0] not in present)
                headers = _cache_headers(scope, headers)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
