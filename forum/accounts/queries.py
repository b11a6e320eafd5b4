"""Reads for users and organisations."""

from __future__ import annotations

from forum.accounts.models import User
from forum.accounts.services import USERNAME_RE
from forum.errors import NotFound


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
