"""The device cookie: this browser has logged in to these accounts before.

Set at every login (`accounts.start_session`), it names a random id for the browser and the
accounts (at most ACCOUNTS_KEPT, the latest first) that logged in from it, signed with the
site's secret. It logs nobody in and carries no session: it only lets the login form tell
the owner's own browsers from everyone else's, so that failures typed elsewhere (a stranger
guessing, or trying to lock the owner out) do not refuse them (`web.limits.login_rules`).
A forged or altered cookie is no cookie at all.

Like the other cookies: HttpOnly, SameSite=Lax, Path=/, and Secure with the `__Host-` prefix
over https (`security.set_cookie`). It outlives logging out, and changing the password: it
says which browser this is, not who is using it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.responses import Response

from forum.web.security import cookie_name, set_cookie

DEVICE_COOKIE = "forum_device"
DEVICE_DAYS = 365
ACCOUNTS_KEPT = 5


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    user_ids: tuple[int, ...]

    def knows(self, user_id: int) -> bool:
        return user_id in self.user_ids


def _signature(secret: str, body: str) -> str:
    return hmac.new(secret.encode(), f"device:{body}".encode(), hashlib.sha256).hexdigest()


def _value(secret: str, device: Device) -> str:
    body = f"{device.id}.{'-'.join(str(u) for u in device.user_ids)}"
    return f"{body}.{_signature(secret, body)}"


def read(conn: HTTPConnection) -> Device | None:
    """This browser's device cookie, if it has a valid one."""
    value = conn.cookies.get(cookie_name(conn, DEVICE_COOKIE), "")
    parts = value.split(".")
    if len(value) > 200 or len(parts) != 3:
        return None
    device_id, ids, signature = parts
    expected = _signature(conn.app.state.secret, f"{device_id}.{ids}")
    if not hmac.compare_digest(expected, signature):
        return None
    try:
        user_ids = tuple(int(u) for u in ids.split("-"))
    except ValueError:
        return None
    return Device(device_id, user_ids) if device_id else None


def remember(response: Response, conn: HTTPConnection, user_id: int) -> Device:
    """Note on `response` that this browser has logged in to `user_id` (keeping its id and
    the other accounts it knows)."""
    known = read(conn)
    device_id = known.id if known else secrets.token_urlsafe(16)
    others = [u for u in (known.user_ids if known else ()) if u != user_id]
    device = Device(device_id, (user_id, *others)[:ACCOUNTS_KEPT])
    set_cookie(
        response, conn, DEVICE_COOKIE, _value(conn.app.state.secret, device), DEVICE_DAYS * 86400
    )
    return device
