"""Every write about following, reading and notifications.

`post_created` and `summary_changed` are called by the thread and summary services inside
their own transactions: a post and the notifications it causes are committed together. They
only write rows; emails are decided later by the background mailer (`notifications.emails`),
so posting never waits for mail.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from forum.accounts.models import User
from forum.accounts.services import account_changed
from forum.networks.models import Membership, Network, Visibility
from forum.notifications.models import (
    DigestFrequency,
    FollowLevel,
    NetworkWatch,
    Notification,
    NotificationKind,
    Preferences,
    ThreadFollow,
    ThreadRead,
    WatchLevel,
)
from forum.threads.models import Post, Thread
from forum.timeutil import utcnow

# Kinds that may be emailed at once (the others wait for the digest).
EMAILED = {NotificationKind.REPLY, NotificationKind.MENTION}
# The most ids one IN list carries.
IN_MAX = 10_000


async def _ids(queryset: Any, field: str, conn: BaseDBAsyncClient | None) -> set[int]:
    """The values of one integer column of a queryset, as a set."""
    values: list[Any] = list(await queryset.using_db(conn).values_list(field, flat=True))
    return {int(v) for v in values}


async def _readers(
    network: Network, user_ids: Iterable[int], conn: BaseDBAsyncClient | None
) -> set[int]:
    """Those of `user_ids` who are active and may read `network` now."""
    ordered = sorted(set(user_ids))
    readers: set[int] = set()
    # In parts: a network's watchers may outnumber the parameters one statement may carry
    # (asyncpg allows 32,767).
    for start in range(0, len(ordered), IN_MAX):
        readers |= await _readers_among(network, ordered[start : start + IN_MAX], conn)
    return readers


async def _readers_among(
    network: Network, ids: list[int], conn: BaseDBAsyncClient | None
) -> set[int]:
    active = (
        await User.filter(id__in=ids, is_active=True).using_db(conn).values_list("id", "is_admin")
    )
    if network.visibility == Visibility.PUBLIC:
        return {int(uid) for uid, _ in active}
    admins = {int(uid) for uid, admin in active if admin}
    members = await _ids(Membership.filter(network_id=network.id, user_id__in=ids), "user_id", conn)
    return (members | admins) & {int(uid) for uid, _ in active}


async def follow(
    *, user: User, thread: Thread, level: FollowLevel, using: BaseDBAsyncClient | None = None
) -> None:
    """Follow or mute a thread (replacing any earlier choice)."""
    row = await ThreadFollow.filter(user_id=user.id, thread_id=thread.id).using_db(using).first()
    if row is None:
        await ThreadFollow.create(
            user_id=user.id, thread_id=thread.id, level=level, created_at=utcnow(), using_db=using
        )
    elif row.level != level:
        row.level = level
        await row.save(using_db=using, update_fields=["level"])


async def unfollow(*, user: User, thread: Thread) -> None:
    """Back to the default: not following (and not muted)."""
    await ThreadFollow.filter(user_id=user.id, thread_id=thread.id).delete()


async def _auto_follow(user_id: int, thread_id: int, conn: BaseDBAsyncClient) -> None:
    """Follow a thread one starts or replies to, unless one has muted it."""
    if not await ThreadFollow.filter(user_id=user_id, thread_id=thread_id).using_db(conn).exists():
        await ThreadFollow.create(
            user_id=user_id,
            thread_id=thread_id,
            level=FollowLevel.FOLLOWING,
            created_at=utcnow(),
            using_db=conn,
        )


async def set_watch(*, user: User, network: Network, level: WatchLevel) -> None:
    """Choose what a network tells you about: every new thread, summaries only, or nothing."""
    row = await NetworkWatch.filter(user_id=user.id, network_id=network.id).first()
    if row is None:
        await NetworkWatch.create(user_id=user.id, network_id=network.id, level=level)
    elif row.level != level:
        row.level = level
        await row.save(update_fields=["level"])


async def mark_read(
    *, user: User, thread: Thread, last_post_id: int, seen: int | None, unread: bool = True
) -> None:
    """Remember that the user has seen the thread up to `last_post_id` (never moves back).

    `seen` is their position before (None: never opened), as the caller has just read it;
    `unread` False (they have no unread notifications at all) spares a query.
    """
    now = utcnow()
    if seen is None:
        with contextlib.suppress(IntegrityError):  # the same page opened twice at once
            await ThreadRead.create(
                user_id=user.id, thread_id=thread.id, last_post_id=last_post_id, read_at=now
            )
    else:
        await ThreadRead.filter(
            user_id=user.id, thread_id=thread.id, last_post_id__lt=last_post_id
        ).update(last_post_id=last_post_id, read_at=now)
    if unread:
        # Notifications about what has now been read are read too.
        await _read(
            user,
            Notification.filter(
                user_id=user.id,
                thread_id=thread.id,
                post_id__lte=last_post_id,
                read_at__isnull=True,
            ),
        )


async def _read(user: User, notes: QuerySet[Notification]) -> int:
    """Mark `notes` (the user's unread notifications) read; if any were, every process reads
    the header's count afresh (a signed-in request's kept visit holds it)."""
    async with in_transaction() as conn:
        count = int(await notes.using_db(conn).update(read_at=utcnow()))
        if count:
            await account_changed(user.id, using=conn)
    return count


async def mark_all_read(*, user: User) -> int:
    return await _read(user, Notification.filter(user_id=user.id, read_at__isnull=True))


async def mark_notes_read(*, user: User, notification_ids: Iterable[int]) -> None:
    """Mark some of the user's own notifications read (another's ids change nothing)."""
    ids = sorted(set(notification_ids))[:IN_MAX]
    await _read(user, Notification.filter(id__in=ids, user_id=user.id, read_at__isnull=True))


async def set_preferences(
    *,
    user: User,
    email_replies: bool,
    email_mentions: bool,
    digest: DigestFrequency,
    weeknotes: bool,
) -> Preferences:
    prefs, _ = await Preferences.get_or_create(user_id=user.id)
    prefs.email_replies = email_replies
    prefs.email_mentions = email_mentions
    prefs.digest = DigestFrequency(digest)
    prefs.weeknotes = weeknotes
    await prefs.save()
    return prefs


async def unsubscribe(*, user_id: int, kind: str) -> None:
    """Turn off one kind of email (from a signed link: no login needed)."""
    prefs, _ = await Preferences.get_or_create(user_id=user_id)
    if kind == "reply":
        prefs.email_replies = False
    elif kind == "mention":
        prefs.email_mentions = False
    elif kind == "digest":
        prefs.digest = DigestFrequency.NEVER
    elif kind == "weeknote":
        prefs.weeknotes = False
    await prefs.save()


async def post_created(
    *,
    post: Post,
    thread: Thread,
    network: Network,
    mentions: Iterable[str],
    new_thread: bool,
    using: BaseDBAsyncClient,
) -> list[Notification]:
    """Notify, in the post's own transaction, everyone a new post concerns.

    One notification per person per post, the most specific kind winning: a mention, then a
    reply to their post, then a reply in a thread they follow, then (for a new thread) a new
    thread in a network they watch. Never the author; never someone who muted the thread;
    only people who may read the network.
    """
    conn = using
    author_id = post.author_id
    await _auto_follow(author_id, thread.id, conn)
    # One's own post is read: the thread shows nothing new to its author because of it.
    moved = await (
        ThreadRead.filter(user_id=author_id, thread_id=thread.id, last_post_id__lt=post.id)
        .using_db(conn)
        .update(last_post_id=post.id, read_at=post.created_at)
    )
    if not moved:
        await ThreadRead.get_or_create(
            user_id=author_id,
            thread_id=thread.id,
            defaults={"last_post_id": post.id, "read_at": post.created_at},
            using_db=conn,
        )
    kinds: dict[int, NotificationKind] = {}

    def offer(user_ids: Iterable[int], kind: NotificationKind) -> None:
        for uid in user_ids:
            kinds.setdefault(int(uid), kind)

    names = sorted({m.lower() for m in mentions})[:50]
    if names:
        offer(await _ids(User.filter(username__in=names), "id", conn), NotificationKind.MENTION)
    if post.parent_id is not None:
        offer(await _ids(Post.filter(id=post.parent_id), "author_id", conn), NotificationKind.REPLY)
    follows = await (
        ThreadFollow.filter(thread_id=thread.id).using_db(conn).values_list("user_id", "level")
    )
    muted = {int(uid) for uid, level in follows if level == FollowLevel.MUTED}
    offer(
        (int(uid) for uid, level in follows if level == FollowLevel.FOLLOWING),
        NotificationKind.REPLY,
    )
    if new_thread:
        offer(
            await _ids(
                NetworkWatch.filter(network_id=network.id, level=WatchLevel.ALL), "user_id", conn
            ),
            NotificationKind.NEW_THREAD,
        )
    kinds.pop(author_id, None)
    for uid in muted:
        kinds.pop(uid, None)
    allowed = await _readers(network, kinds, conn)
    now = utcnow()
    rows = [
        Notification(
            user_id=uid,
            kind=kind,
            actor_id=author_id,
            network_id=network.id,
            thread_id=thread.id,
            post_id=post.id,
            created_at=now,
            email_pending=kind in EMAILED,
        )
        for uid, kind in sorted(kinds.items())
        if uid in allowed
    ]
    if rows:
        await Notification.bulk_create(rows, using_db=conn)
    return rows


async def summary_changed(
    *, thread: Thread, network: Network, actor: User, using: BaseDBAsyncClient
) -> None:
    """A summary was pinned or updated: tell those who took part in the thread and those
    who watch the network for summaries or everything (not those who muted the thread)."""
    conn = using
    posters = await _ids(Post.filter(thread_id=thread.id, deleted=False), "author_id", conn)
    watchers = await _ids(
        NetworkWatch.filter(network_id=network.id, level=WatchLevel.ALL), "user_id", conn
    )
    quiet = await _ids(
        NetworkWatch.filter(network_id=network.id, level=WatchLevel.NOTHING), "user_id", conn
    )
    muted = await _ids(
        ThreadFollow.filter(thread_id=thread.id, level=FollowLevel.MUTED), "user_id", conn
    )
    wanted = (posters | watchers) - quiet - muted
    wanted.discard(actor.id)
    allowed = await _readers(network, wanted, conn)
    now = utcnow()
    rows = [
        Notification(
            user_id=uid,
            kind=NotificationKind.SUMMARY,
            actor_id=actor.id,
            network_id=network.id,
            thread_id=thread.id,
            created_at=now,
        )
        for uid in sorted(allowed)
    ]
    if rows:
        await Notification.bulk_create(rows, using_db=conn)


async def notify(
    *,
    user_id: int,
    kind: NotificationKind,
    actor: User | None,
    network_id: int | None = None,
    thread_id: int | None = None,
    post_id: int | None = None,
    using: BaseDBAsyncClient | None = None,
) -> None:
    """One notification for one person (a flag resolved, a membership approved)."""
    await Notification.create(
        user_id=user_id,
        kind=kind,
        actor_id=actor.id if actor else None,
        network_id=network_id,
        thread_id=thread_id,
        post_id=post_id,
        created_at=utcnow(),
        using_db=using,
    )
    await account_changed(user_id, using=using)  # (after it: the header's count is kept)
