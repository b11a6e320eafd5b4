"""Signed one-click unsubscribe links: /unsubscribe/{token}, valid without logging in.

The token names the person and the kind of email; it is signed with the site's secret, so it
cannot be forged or pointed at someone else, and it needs no row in the database.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

# The kinds of email a person can turn off, and how the pages name them.
KINDS: dict[str, str] = {
    "reply": "emails about replies to your posts and in threads you follow",
    "mention": "emails when someone mentions you",
    "digest": "the daily or weekly digest",
    "weeknote": "network weeknotes",
}
_SALT = "forum-unsubscribe"


def token(secret: str, user_id: int, kind: str) -> str:
    return URLSafeSerializer(secret, salt=_SALT).dumps([user_id, kind])


def read(secret: str, value: str) -> tuple[int, str] | None:
    """(user id, kind) from a token, or None when it is not one of ours."""
    if not value or len(value) > 200:
        return None
    try:
        data = URLSafeSerializer(secret, salt=_SALT).loads(value)
    except BadSignature:
        return None
    if (
        not isinstance(data, list)
        or len(data) != 2
        or not isinstance(data[0], int)
        or data[1] not in KINDS
    ):
        return None
    return int(data[0]), str(data[1])
