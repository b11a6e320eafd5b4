"""Reading notifications, follows and unread positions (each in a fixed number of queries).

A notification about something the person may no longer read is never shown or counted:
every read here filters by what is readable *now* (`permissions.notification_shown_sql`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from forum import db, permissions
from forum.accounts.models import User
from forum.networks.models import Network
from forum.notifications.models import (
    DigestFrequency,
    FollowLevel,
    NetworkWatch,
    Notification,
    NotificationKind,
    Preferences,
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


# What a group of several notifications of one kind counts, by kind.
COUNTED = {
    NotificationKind.REPLY: "replies",
    NotificationKind.MENTION: "mentions",
    NotificationKind.SUMMARY: "updates",
    NotificationKind.FLAG_RESOLVED: "posts",
}


@dataclass(frozen=True, slots=True)
class Item:
    """One line of the page: a notification, or several of one kind about one thread, all
    read or all unread (newest first): "Raj and 3 others replied in …"."""

    notes: list[Notification]
    label: str
    thread: Thread | None
    network: Network | None

    @property
    def note(self) -> Notification:
        return self.notes[0]

    @property
    def ids(self) -> list[int]:
        return [n.id for n in self.notes]

    @property
    def who(self) -> str:
        names = list(
            dict.fromkeys(n.actor.display_name if n.actor else "Someone" for n in self.notes)
        )
        if len(names) == 1:
            return names[0]
        if len(names) <= 3:
            return ", ".join(names[:-1]) + " and " + names[-1]
        return f"{names[0]}, {names[1]} and {len(names) - 2} others"

    @property
    def count(self) -> str:
        """ "6 replies" for a group ("" for one)."""
        noun = COUNTED.get(NotificationKind(self.note.kind))
        return f"{len(self.notes)} {noun}" if len(self.notes) > 1 and noun else ""

    @property
    def url(self) -> str:
        if self.thread is not None and self.network is not None:
            # An unread group opens at its first post; a read one at its newest.
            post_id = (self.notes[-1] if self.note.read_at is None else self.note).post_id
            anchor = f"#p{post_id}" if post_id else ""
            return f"/n/{self.network.slug}/t/{self.thread.id}-{self.thread.slug}{anchor}"
        if self.network is not None:
            return f"/n/{self.network.slug}"
        return "/"


def _grouped(
    rows: list[Notification], threads: dict[int, Thread], networks: dict[int, Network]
) -> list[Item]:
    """The page's rows as lines: those of one kind about one thread, and all read or all
    unread, become one line, where the newest of them stands."""
    items: list[Item] = []
    groups: dict[tuple[int, str, bool], list[Notification]] = {}
    for r in rows:
        key = (r.thread_id or 0, r.kind, r.read_at is None)
        if r.thread_id and key in groups:
            groups[key].append(r)
            continue
        groups[key] = notes = [r]
        thread = threads.get(r.thread_id or 0)
        items.append(
            Item(
                notes=notes,
                label=LABELS.get(NotificationKind(r.kind), "updated"),
                thread=thread,
                # A thread's network now (it may have moved since the notification was made).
                network=thread.network if thread else networks.get(r.network_id or 0),
            )
        )
    return items


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Item]
    page: int
    pages: int
    unread: int


@cache
def _page_sql(dialect: str) -> tuple[str, str]:
    """The page's two queries over the viewer's notifications: how many (and how many
    unread), and one page of them with their actors and the thread each is about now (a
    post's thread, after a merge, rather than the one it was in when it was made). Written
    once Tortoise knows every column; `dialect` keys the cache (SQLite and PostgreSQL tests
    share a process)."""
    shown = permissions.notification_shown_sql("x")
    counts = (
        "SELECT COUNT(*) AS total,"  # noqa: S608 (names only: the values are parameters)
        " COALESCE(SUM(CASE WHEN x.read_at IS NULL THEN 1 ELSE 0 END), 0) AS unread"
        f" FROM notifications x WHERE x.user_id = ? AND {shown}"
    )
    rows = (
        f"SELECT {db.columns(Notification, 'x')}, {db.columns(User, 'a')},"  # noqa: S608
        " COALESCE((SELECT p.thread_id FROM posts p WHERE p.id = x.post_id), x.thread_id)"
        " AS about"
        " FROM notifications x LEFT JOIN users a ON a.id = x.actor_id"
        f" WHERE x.user_id = ? AND {shown}"
        " ORDER BY x.created_at DESC, x.id DESC LIMIT ? OFFSET ?"
    )
    return counts, rows


async def notifications(viewer: permissions.Viewer, page: int = 1) -> Page:
    """A page of the viewer's notifications, newest first, grouped by thread and kind (four
    queries). Only those about what the viewer may read now, as it stands now
    (`permissions.notification_shown_sql`): a thread moved into a members-only network they
    are not in, or a post since deleted, hidden or redacted, is neither listed nor counted,
    and returns if that is undone."""
    assert viewer.user is not None
    counts_sql, rows_sql = _page_sql(db.dialect())
    [counts] = await db.fetch(counts_sql, viewer.user.id)
    total, unread = int(counts["total"]), int(counts["unread"])
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, page), pages)
    rows: list[Notification] = []
    for row in await db.fetch(rows_sql, viewer.user.id, PER_PAGE, (page - 1) * PER_PAGE):
        note = db.from_row(Notification, row, "x")
        note.actor = db.from_row(User, row, "a") if row["a_id"] is not None else None
        # Grouped and linked by the thread it is about now (this object is only shown).
        note.thread_id = row["about"]
        rows.append(note)
    thread_ids = {r.thread_id for r in rows if r.thread_id}
    threads = {
        t.id: t
        for t in await Thread.filter(id__in=list(thread_ids) or [0]).select_related("network")
    }
    network_ids = {r.network_id for r in rows if r.network_id and not r.thread_id}
    networks = {n.id: n for n in await Network.filter(id__in=list(network_ids) or [0])}
    for thread in threads.values():
        networks[thread.network_id] = thread.network
    items = _grouped(rows, threads, networks)
    return Page(items=items, page=page, pages=pages, unread=unread)


_READING = (
    "SELECT (SELECT f.level FROM thread_follows f WHERE f.user_id = ? AND f.thread_id = ?)"
    " AS level,"
    " (SELECT r.last_post_id FROM thread_reads r WHERE r.user_id = ? AND r.thread_id = ?)"
    " AS seen"
)


async def reading(
    viewer: permissions.Viewer, thread: Thread
) -> tuple[FollowLevel | None, int | None]:
    """The viewer's follow level of the thread and the highest post id they have seen in it
    (None: never opened it), in one query (the thread page's)."""
    if viewer.user is None:
        return None, None
    uid, tid = viewer.user.id, thread.id
    [(level, seen)] = await db.fetch_rows(_READING, uid, tid, uid, tid)
    return (FollowLevel(level) if level else None), (None if seen is None else int(seen))


async def watch_level(viewer: permissions.Viewer, network: Network) -> WatchLevel:
    if viewer.user is None:
        return WatchLevel.SUMMARIES
    row = await NetworkWatch.filter(user_id=viewer.user.id, network_id=network.id).first()
    return WatchLevel(row.level) if row else WatchLevel.SUMMARIES


_UNREAD = """
SELECT r.thread_id AS thread_id,
  (SELECT COUNT(*) FROM posts p
   WHERE p.thread_id = r.thread_id AND p.id > r.last_post_id AND p.deleted = FALSE) AS n
FROM thread_reads r
WHERE r.user_id = ? AND r.thread_id IN ({ids})
"""


@dataclass(frozen=True, slots=True)
class Unread:
    """Per thread of a listing: posts not yet seen, and threads never opened."""

    counts: dict[int, int]
    never_opened: set[int]


async def unread_in(viewer: permissions.Viewer, thread_ids: list[int]) -> Unread:
    """One query whatever the number of threads: the viewer's read position in each that
    they opened, with the posts since."""
    if viewer.user is None or not thread_ids:
        return Unread({}, set())
    ids = sorted({int(i) for i in thread_ids})
    rows = await db.fetch_rows(_UNREAD.replace("{ids}", db.placeholders(ids)), viewer.user.id, *ids)
    opened = {int(thread_id) for thread_id, _ in rows}
    return Unread(
        counts={int(thread_id): int(n) for thread_id, n in rows if n},
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
