"""Rate limits at the web layer: whose events a request counts, and the page that refuses.

The domain services know nothing of limits (they stay simple to call and to test); the
routes that need a limit build its keys here and render `too_many` when it is reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from forum import ratelimit
from forum.accounts.models import User
from forum.permissions import Viewer
from forum.web import devices
from forum.web.devices import Device
from forum.web.security import client_address
from forum.web.templating import render


def _name(login: str) -> str:
    return login.strip().lstrip("@").lower()


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """Whose failed logins an attempt is counted among, and which limits it must be under.

    A browser whose device cookie names the account (`web.devices`) has logged in to it
    before: it is held by its own failures only (per device), so no failure typed anywhere
    else refuses the owner's own browsers. Any other browser is held per account (per name
    typed, so that a name that belongs to nobody is limited exactly like one that does) and
    per address, where what counts is how many accounts failed from it, not how many
    failures: one guesser behind an office's one address does not lock the others out of
    their accounts. Each failure is also noted per (address, account), so that the right
    password from that address forgives them (`forgive`).
    """

    name: str
    address: str
    device: Device | None

    @property
    def _pair(self) -> str:
        return f"login:address-account:{self.address}:{self.name}"

    def rules(self) -> list[ratelimit.Rule]:
        if self.device is not None:
            return [(f"login:device:{self.device.id}", ratelimit.LOGIN_PER_DEVICE)]
        return [
            (f"login:account:{self.name}", ratelimit.LOGIN_PER_ACCOUNT),
            (f"login:address:{self.address}", ratelimit.LOGIN_ACCOUNTS_PER_ADDRESS),
        ]

    async def failed(self) -> None:
        """Record a failed attempt."""
        if self.device is not None:
            await ratelimit.record_all([f"login:device:{self.device.id}"])
            return
        keys = [f"login:account:{self.name}", self._pair]
        if not await ratelimit.count(self._pair, ratelimit.LOGIN_ACCOUNTS_PER_ADDRESS):
            keys.append(f"login:address:{self.address}")  # a new account for this address
        await ratelimit.record_all(keys)

    async def forgive(self, user: User) -> None:
        """The right password: forget this browser's failures, and this address's on the
        account (under its username and its email), with the per-account and per-address
        counts they added to. Other addresses' failures on the account still count."""
        if self.device is not None:
            await ratelimit.clear(f"login:device:{self.device.id}")
        for name in {user.username, _name(user.email)}:
            await ratelimit.forgive(
                f"login:address-account:{self.address}:{name}",
                f"login:account:{name}",
                f"login:address:{self.address}",
            )


async def login_limits(request: Request, login: str, account: User | None) -> LoginLimits:
    """The limits of a login attempt naming `account` (None: the name names nobody)."""
    device = devices.read(request)
    known = device is not None and account is not None and device.knows(account.id)
    return LoginLimits(_name(login), client_address(request), device if known else None)


def posting_rule(viewer: Viewer) -> ratelimit.Rule:
    """New threads and replies, per account."""
    return (f"post:account:{viewer.user_id}", ratelimit.POSTS_PER_ACCOUNT)


def preview_rule(viewer: Viewer) -> ratelimit.Rule:
    """Previews (live and from the forms), per account."""
    return (f"preview:account:{viewer.user_id}", ratelimit.PREVIEWS_PER_ACCOUNT)


def edit_rule(viewer: Viewer) -> ratelimit.Rule:
    """Edits of posts and summaries, per account."""
    return (f"edit:account:{viewer.user_id}", ratelimit.EDITS_PER_ACCOUNT)


class Refusal(Protocol):
    """A refusal that says when to come back: `ratelimit.RateLimited`, `SearchRefused`."""

    @property
    def retry_after(self) -> int: ...


def too_many(request: Request, template: str, context: dict[str, Any], exc: Refusal) -> Response:
    """Re-render the form (the caller keeps the user's text and puts str(exc) where the form
    shows its errors) with status 429 and Retry-After."""
    response = render(request, template, context, status_code=429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response
