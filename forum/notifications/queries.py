"""Reading notifications, follows and unread positions (each in a fixed number of queries).

A notification about a network the person may no longer read is never shown or counted:
every read here filters by the networks readable *now*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q, Subquery

from forum import db, permissions
from forum.networks.models import Network, Visibility
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
from forum.threads.models import Thread

PER_PAGE = 30

LABELS = {
    NotificationKind.REPLY: "replied in",
    NotificationKind.MENTION: "mentioned you in",
    NotificationKind.NEW_THREAD: "started",
    NotificationKind.SUMMARY: "pinned or updated the summary of",
    NotificationKind.FLAG_RESOLVED: "dealt with the post you flagged in",
    NotificationKind.MEMBERSHIP_APPROVED: "approved your request to join",
}


def _readable(viewer: permissions.Viewer) -> Q:
    """Notifications of networks the viewer may read now (or of no network)."""
    if viewer.is_admin:
        return Q()
    public = Subquery(Network.filter(visibility=Visibility.PUBLIC).values("id"))
    return (
        Q(network_id__isnull=True)
        | Q(network_id__in=sorted(viewer.roles) or [0])
        | Q(network_id__in=public)
    )


@dataclass(frozen=True, slots=True)
class Item:
    note: Notification
    label: str
    thread: Thread | None
    network: Network | None

    @property
    def url(self) -> str:
        if self.thread is not None and self.network is not None:
            anchor = f"#p{self.note.post_id}" if self.note.post_id else ""
            return f"/n/{self.network.slug}/t/{self.thread.id}-{self.thread.slug}{anchor}"
        if self.network is not None:
            return f"/n/{self.network.slug}"
        return "/"


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Item]
    page: int
    pages: int
    unread: int


async def notifications(viewer: permissions.Viewer, page: int = 1) -> Page:
    """A page of the viewer's notifications, newest first (four queries)."""
    assert viewer.user is not None
    base = Notification.filter(_readable(viewer), user_id=viewer.user.id)
    total = await base.count()
    unread = await base.filter(read_at__isnull=True).count()
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, page), pages)
    rows = (
        await base.order_by("-created_at", "-id")
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
        .select_related("actor")
    )
    thread_ids = {r.thread_id for r in rows if r.thread_id}
    threads = {
        t.id: t
        for t in await Thread.filter(id__in=list(thread_ids) or [0]).select_related("network")
    }
    network_ids = {r.network_id for r in rows if r.network_id} - {
        t.network_id for t in threads.values()
    }
    networks = {n.id: n for n in await Network.filter(id__in=list(network_ids) or [0])}
    for thread in threads.values():
        networks[thread.network_id] = thread.network
    items = [
        Item(
            note=r,
            label=LABELS.get(NotificationKind(r.kind), "updated"),
            thread=threads.get(r.thread_id or 0),
            network=networks.get(r.network_id or 0),
        )
        for r in rows
    ]
    return Page(items=items, page=page, pages=pages, unread=unread)


async def follow_level(viewer: permissions.Viewer, thread: Thread) -> FollowLevel | None:
    if viewer.user is None:
        return None
    row = await ThreadFollow.filter(user_id=viewer.user.id, thread_id=thread.id).first()
    return FollowLevel(row.level) if row else None


async def watch_level(viewer: permissions.Viewer, network: Network) -> WatchLevel:
    if viewer.user is None:
        return WatchLevel.SUMMARIES
    row = await NetworkWatch.filter(user_id=viewer.user.id, network_id=network.id).first()
    return WatchLevel(row.level) if row else WatchLevel.SUMMARIES


async def last_read(viewer: permissions.Viewer, thread: Thread) -> int | None:
    """The highest post id the viewer has seen in the thread (None: never opened it)."""
    if viewer.user is None:
        return None
    row = await ThreadRead.filter(user_id=viewer.user.id, thread_id=thread.id).first()
    return row.last_post_id if row else None


_UNREAD = """
SELECT p.thread_id AS thread_id, COUNT(*) AS n
FROM posts p JOIN thread_reads r ON r.thread_id = p.thread_id AND r.user_id = ?
WHERE p.thread_id IN ({ids}) AND p.id > r.last_post_id AND p.deleted = FALSE
GROUP BY p.thread_id
"""


@dataclass(frozen=True, slots=True)
class Unread:
    """Per thread of a listing: posts not yet seen, and threads never opened."""

    counts: dict[int, int]
    never_opened: set[int]


async def unread_in(viewer: permissions.Viewer, thread_ids: list[int]) -> Unread:
    """Two queries whatever the number of threads."""
    if viewer.user is None or not thread_ids:
        return Unread({}, set())
    ids = [int(i) for i in thread_ids]
    seen: list[Any] = list(
        await ThreadRead.filter(user_id=viewer.user.id, thread_id__in=ids).values_list(
            "thread_id", flat=True
        )
    )
    opened = {int(i) for i in seen}
    if not opened:
        return Unread({}, set(ids))
    read = sorted(opened)
    rows = await db.fetch(_UNREAD.replace("{ids}", db.placeholders(read)), viewer.user.id, *read)
    return Unread(
        counts={int(r["thread_id"]): int(r["n"]) for r in rows},
        never_opened=set(ids) - opened,
    )


async def preferences(user_id: int) -> Preferences:
    """The person's email choices (the defaults when they have made none)."""
    found = await Preferences.get_or_none(user_id=user_id)
    return found or Preferences(
        user_id=user_id,
        email_replies=True,
        email_mentions=True,
        digest=DigestFrequency.WEEKLY,
        weeknotes=True,
    )
