"""Turning notifications into email: immediate ones for replies and mentions, and digests.

Run by the background loop of every server process. A notification is claimed with one
conditional UPDATE (its `email_pending` flag), so two processes never email it twice; the
digest job runs under a database lease (`forum.jobs`), so it runs once across hosts. Every
message names its recipient and networks, and the mailer checks again just before sending
that they may still read them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from typing import Any

from tortoise.functions import Count
from tortoise.transactions import in_transaction

from forum import permissions
from forum.accounts.models import User
from forum.mail import services as mail
from forum.mail.models import OutboundEmail
from forum.mail.services import SITE
from forum.networks.models import Network
from forum.notifications.models import (
    DigestFrequency,
    Notification,
    NotificationKind,
    Preferences,
    ThreadEmail,
)
from forum.threads.models import Post, Summary, Thread
from forum.timeutil import utcnow

EXCERPT = 600  # characters of a post quoted in an email
DIGEST_THREADS = 10  # of each kind in a digest


def _excerpt(text: str, size: int = EXCERPT) -> str:
    text = text.strip()
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


def thread_path(network_slug: str, thread: Thread) -> str:
    return f"/n/{network_slug}/t/{thread.id}-{thread.slug}"


async def send_pending(*, quiet: timedelta, limit: int = 200) -> int:
    """Queue the emails due for new reply and mention notifications. Returns how many."""
    rows = await Notification.filter(email_pending=True).order_by("id").limit(limit)
    queued = 0
    for note in rows:
        claimed = await Notification.filter(id=note.id, email_pending=True).update(
            email_pending=False
        )
        if claimed and await _email_one(note, quiet):
            queued += 1
    return queued


async def _email_one(note: Notification, quiet: timedelta) -> bool:
    user = await User.get_or_none(id=note.user_id, is_active=True)
    post = (
        await Post.filter(id=note.post_id or 0).select_related("author", "thread__network").first()
    )
    if user is None or post is None or post.withdrawn or note.read_at is not None:
        return False
    prefs = await Preferences.get_or_none(user_id=user.id)
    kind = "mention" if note.kind == NotificationKind.MENTION else "reply"
    wanted = prefs is None or (prefs.email_mentions if kind == "mention" else prefs.email_replies)
    thread, network = post.thread, post.thread.network
    viewer = await permissions.viewer_for(user)
    if not wanted or not permissions.can_read(viewer, network):
        return False
    now = utcnow()
    async with in_transaction() as conn:
        # One email per thread per quiet period, however busy the thread is.
        last = await ThreadEmail.filter(user_id=user.id, thread_id=thread.id).using_db(conn).first()
        if last is not None and last.sent_at > now - quiet:
            return False
        if last is None:
            await ThreadEmail.create(
                user_id=user.id, thread_id=thread.id, sent_at=now, using_db=conn
            )
        else:
            last.sent_at = now
            await last.save(using_db=conn, update_fields=["sent_at"])
        who = post.author.display_name
        if kind == "mention":
            subject = f"{who} mentioned you in “{thread.title}”"
            opening = f"{who} mentioned you in “{thread.title}” ({network.name}):"
        else:
            subject = f"{who} replied in “{thread.title}”"
            opening = f"{who} replied in “{thread.title}” ({network.name}):"
        link = f"{SITE}{thread_path(network.slug, thread)}#p{post.id}"
        text = "\n".join(
            [
                opening,
                "",
                _excerpt(post.body_text),
                "",
                f"Read and reply: {link}",
                "",
                "You get this because you follow the thread or were mentioned. "
                "To stop following it, use the Unfollow button on the thread.",
            ]
        )
        await mail.queue(
            to=user.email,
            subject=subject,
            text=text,
            kind=kind,
            user_id=user.id,
            network_ids=[network.id],
            post_ids=[post.id],
            using=conn,
        )
    return True


# --- Digests ----------------------------------------------------------------------------

PERIODS = {DigestFrequency.DAILY: timedelta(days=1), DigestFrequency.WEEKLY: timedelta(days=7)}


@dataclass(frozen=True, slots=True)
class DigestItem:
    title: str
    path: str
    network: str
    detail: str
    thread: Thread | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Digest:
    new_threads: list[DigestItem]
    summaries: list[DigestItem]
    active: list[DigestItem]

    @property
    def empty(self) -> bool:
        return not (self.new_threads or self.summaries or self.active)

    @property
    def threads(self) -> list[Thread]:
        """Every thread the digest names (the outbox remembers them: see `rebuild_digest`)."""
        items = self.new_threads + self.summaries + self.active
        return [item.thread for item in items if item.thread is not None]


async def build_digest(user: User, since: datetime, until: datetime) -> tuple[Digest, list[int]]:
    """What happened in the user's networks between `since` and `until`: new threads, new
    and updated summaries, the most active discussions. Only networks they may read now,
    and only those they belong to (public networks they have not joined are not news to
    them). Returns the digest and the network ids it draws on."""
    viewer = await permissions.viewer_for(user)
    network_ids = sorted(viewer.roles)
    if not network_ids:
        return Digest([], [], []), []
    networks = {n.id: n for n in await Network.filter(id__in=network_ids)}
    threads = (
        await Thread.filter(network_id__in=network_ids, created_at__gte=since, created_at__lt=until)
        .order_by("-created_at", "-id")
        .limit(DIGEST_THREADS)
    )
    new_threads = [
        DigestItem(
            t.title,
            thread_path(networks[t.network_id].slug, t),
            networks[t.network_id].name,
            f"{t.reply_count} replies" if t.reply_count != 1 else "1 reply",
            t,
        )
        for t in threads
    ]
    summaries_rows = (
        await Summary.filter(
            thread__network_id__in=network_ids,
            reviewed_at__gte=since,
            reviewed_at__lt=until,
        )
        .select_related("thread")
        .order_by("-reviewed_at", "-id")
        .limit(DIGEST_THREADS)
    )
    summaries = [
        DigestItem(
            s.thread.title,
            thread_path(networks[s.thread.network_id].slug, s.thread),
            networks[s.thread.network_id].name,
            _excerpt(s.body_text, 200),
            s.thread,
        )
        for s in summaries_rows
    ]
    busy: list[Any] = list(
        await Post.filter(
            thread__network_id__in=network_ids,
            created_at__gte=since,
            created_at__lt=until,
            deleted=False,
            hidden=False,
        )
        .annotate(n=Count("id"))
        .group_by("thread_id")
        .order_by("-n", "thread_id")
        .limit(DIGEST_THREADS)
        .values_list("thread_id", "n")
    )
    by_id = {t.id: t for t in await Thread.filter(id__in=[int(tid) for tid, _ in busy])}
    active = [
        DigestItem(
            by_id[int(tid)].title,
            thread_path(networks[by_id[int(tid)].network_id].slug, by_id[int(tid)]),
            networks[by_id[int(tid)].network_id].name,
            f"{int(n)} new posts" if int(n) != 1 else "1 new post",
            by_id[int(tid)],
        )
        for tid, n in busy
        if int(tid) in by_id
    ]
    return Digest(new_threads, summaries, active), network_ids


def render_digest(digest: Digest, site_name: str, period: str) -> tuple[str, str]:
    """The digest as plain text and as HTML (links use the `{site}` placeholder)."""
    sections = [
        ("New threads", digest.new_threads),
        ("New and updated summaries", digest.summaries),
        ("Most active discussions", digest.active),
    ]
    lines = [f"Your {period} digest from {site_name}", ""]
    html = [f"<h1>Your {escape(period)} digest from {escape(site_name)}</h1>"]
    for heading, items in sections:
        if not items:
            continue
        lines += [heading, "-" * len(heading)]
        html.append(f"<h2>{escape(heading)}</h2><ul>")
        for item in items:
            lines.append(f"* {item.title} ({item.network}): {item.detail}")
            lines.append(f"  {SITE}{item.path}")
            html.append(
                f'<li><a href="{SITE}{escape(item.path)}">{escape(item.title)}</a> '
                f"({escape(item.network)}): {escape(item.detail)}</li>"
            )
        lines.append("")
        html.append("</ul>")
    lines.append(f"Change how often you get this: {SITE}/account/notifications")
    html.append(f'<p><a href="{SITE}/account/notifications">Change how often you get this</a></p>')
    return "\n".join(lines), "\n".join(html)


async def send_digests(*, site_name: str, now: datetime | None = None) -> int:
    """Queue the digests that are due (daily or weekly since each person's last one)."""
    now = now or utcnow()
    queued = 0
    users = await User.filter(is_active=True, email_verified_at__isnull=False).order_by("id")
    prefs = {p.user_id: p for p in await Preferences.all()}
    for user in users:
        pref = prefs.get(user.id)
        frequency = pref.digest if pref else DigestFrequency.WEEKLY
        if frequency == DigestFrequency.NEVER:
            continue
        period = PERIODS[DigestFrequency(frequency)]
        last = pref.digest_sent_at if pref else None
        if last is not None and last > now - period:
            continue
        since = last or (now - period)
        started = time.monotonic()
        queued += await _send_digest(user, frequency, period, since, now, site_name)
        # Digests are not urgent and share the process with requests: rest as long as each
        # one took, so that a forum of thousands never spends more than half a core on them.
        await asyncio.sleep(time.monotonic() - started)
    return queued


async def _send_digest(
    user: User,
    frequency: str,
    period: timedelta,
    since: datetime,
    now: datetime,
    site_name: str,
) -> int:
    """Queue one person's digest unless it is empty or was sent meanwhile; 1 if queued."""
    digest, network_ids = await build_digest(user, since, now)
    async with in_transaction() as conn:
        pref_row, _ = await Preferences.get_or_create(user_id=user.id, using_db=conn)
        sent = pref_row.digest_sent_at
        if sent is not None and sent > now - period:
            return 0  # another process sent it since this run began (its lease ran out)
        pref_row.digest_sent_at = now
        await pref_row.save(using_db=conn, update_fields=["digest_sent_at"])
        if digest.empty:
            return 0
        word = "daily" if frequency == DigestFrequency.DAILY else "weekly"
        text, html = render_digest(digest, site_name, word)
        await mail.queue(
            to=user.email,
            subject=f"Your {word} digest from {site_name}",
            text=text,
            html=html,
            kind="digest",
            user_id=user.id,
            network_ids=network_ids,
            threads=digest.threads,
            built_from={
                "since": since.isoformat(),
                "until": now.isoformat(),
                "frequency": str(frequency),
                "site_name": site_name,
            },
            using=conn,
        )
    return 1


async def rebuild_digest(row: OutboundEmail) -> bool:
    """Build a queued digest again from the content as it is now, over the same period:
    called by the mailer when a thread it names has gone, moved or been renamed, or the
    recipient may no longer read one of its networks, so that it never names a thread the
    recipient may no longer read. Cancelled (its text not kept) when nothing is left.
    Returns whether it is still to go."""
    built = row.built_from or {}
    user = await User.get_or_none(id=row.user_id or 0, is_active=True)
    digest, network_ids = Digest([], [], []), list[int]()
    if user is not None and {"since", "until", "frequency", "site_name"} <= set(built):
        since = datetime.fromisoformat(built["since"])
        until = datetime.fromisoformat(built["until"])
        digest, network_ids = await build_digest(user, since, until)
    async with in_transaction() as conn:
        if digest.empty:
            await mail.cancel_out_of_reach(row, using=conn)
            return False
        word = "daily" if built["frequency"] == DigestFrequency.DAILY else "weekly"
        text, html = render_digest(digest, built["site_name"], word)
        await mail.rebuild(
            row,
            text=text,
            html=html,
            network_ids=network_ids,
            threads=digest.threads,
            using=conn,
        )
    return True
