"""Private feed keys: a person's revocable key that opens the Atom feeds of the members-only
networks they may read; and the published weeknotes that the feeds list.

The key travels in the feed's URL (`?token=…`), so a feed reader needs no cookie; only its
SHA-256 is stored. A key grants nothing by itself: each request with it is answered as its
owner would be answered *now*, so leaving a network, being removed from it or having the
account deactivated closes its feeds at once, without touching the key.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from forum.accounts.models import User
from forum.accounts.tokens import hash_key, new_key
from forum.notifications.models import FeedToken, Weeknote, WeeknoteStatus
from forum.timeutil import utcnow

# Keys are 43 characters (`secrets.token_urlsafe(32)`); anything much longer is not one of
# ours and never reaches the database.
MAX_KEY_LENGTH = 100


async def create_token(*, user: User) -> str:
    """Give `user` a new feed key and return it; it cannot be shown again.

    Any key they had is revoked in the same transaction: a person has at most one live key,
    so the URLs they were last shown are the only ones that work.
    """
    key, key_hash = new_key()
    now = utcnow()
    async with in_transaction() as conn:
        await (
            FeedToken.filter(user_id=user.id, revoked_at__isnull=True)
            .using_db(conn)
            .update(revoked_at=now)
        )
        await FeedToken.create(user=user, key_hash=key_hash, created_at=now, using_db=conn)
    return key


async def revoke_tokens(*, user: User) -> int:
    """Revoke every live feed key of `user`; returns how many there were. Their private feed
    URLs answer 404 from now on."""
    return await FeedToken.filter(user_id=user.id, revoked_at__isnull=True).update(
        revoked_at=utcnow()
    )


async def live_token(user_id: int) -> FeedToken | None:
    """The user's live feed key (its hash and when it was made), if they have one."""
    return (
        await FeedToken.filter(user_id=user_id, revoked_at__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )


async def user_for_token(key: str) -> User | None:
    """The active user whose live key `key` is, with their organisation; else None (a wrong,
    revoked or over-long key, or a deactivated account)."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    token = (
        await FeedToken.filter(key_hash=hash_key(key), revoked_at__isnull=True)
        .select_related("user__organisation")
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    return token.user


async def published_weeknotes(network_id: int | None, limit: int = 20) -> list[Weeknote]:
    """A network's published weeknotes (network_id None: the site-wide ones), newest first,
    with who wrote them. Drafts never. One query."""
    query = Weeknote.filter(status=WeeknoteStatus.PUBLISHED, published_at__isnull=False)
    if network_id is None:
        query = query.filter(network_id__isnull=True)
    else:
        query = query.filter(network_id=network_id)
    return list(
        await query.select_related("created_by").order_by("-published_at", "-id").limit(limit)
    )
