"""Reads for users and organisations."""

from __future__ import annotations

from datetime import timedelta

from forum.accounts.models import Session, User
from forum.accounts.services import USERNAME_RE
from forum.errors import NotFound
from forum.timeutil import utcnow


async def get_user(username: str) -> User:
    """The active user `username` (case-insensitive), with organisation. Raises NotFound."""
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise NotFound("no such user")
    user = (
        await User.filter(username=username, is_active=True).select_related("organisation").first()
    )
    if user is None:
        raise NotFound("no such user")
    return user


async def live_sessions(user_id: int, *, idle: timedelta) -> list[Session]:
    """A user's sessions that have not ended (expired or idle), most recently used first."""
    now = utcnow()
    sessions = await Session.filter(user_id=user_id, expires_at__gt=now).order_by("-id")
    live = [s for s in sessions if (s.last_seen_at or s.created_at) > now - idle]
    return sorted(live, key=lambda s: s.last_seen_at or s.created_at, reverse=True)
