"""Weeknotes: a network's short, readable account of its week or month.

`draft` gathers the period's activity into editable Markdown — deterministically: the same
database and period always give the same text (everything is ordered, nothing depends on
the clock but the period given). A facilitator edits and publishes it; publishing emails the
members who chose weeknotes. A site-wide weeknote (network None) gathers the public networks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Subquery
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from forum import permissions, rendering
from forum.accounts.models import User
from forum.errors import NotFound, PermissionDenied, ValidationError
from forum.mail import services as mail
from forum.mail.services import SITE
from forum.networks.models import Membership, Network, Visibility
from forum.notifications.models import Preferences, Weeknote, WeeknoteStatus
from forum.text import clean, clean_line, excerpt, slugify
from forum.threads.models import Post, Summary, Thread
from forum.timeutil import utcnow

TOP = 5  # items per section
DASH = "\u2013"  # an en dash, between the days of a period
TITLE_MAX = 200
BODY_MAX = 50_000


@dataclass(frozen=True, slots=True)
class Activity:
    """What happened in some networks between `start` and `end`."""

    new_threads: list[Thread]
    summaries: list[Summary]
    active: list[tuple[Thread, int]]  # (thread, posts in the period)
    organisations: list[tuple[str, int]]  # (name, posts in the period)
    unanswered: list[Thread]
    posts: int


async def activity(network_ids: list[int], start: datetime, end: datetime) -> Activity:
    """Everything a weeknote is drafted from, in a fixed order."""
    ids = network_ids or [0]
    new_threads = list(
        await Thread.filter(network_id__in=ids, created_at__gte=start, created_at__lt=end)
        .select_related("network")
        .order_by("created_at", "id")
    )
    summaries = list(
        await Summary.filter(
            thread__network_id__in=ids, reviewed_at__gte=start, reviewed_at__lt=end
        )
        .select_related("thread__network")
        .order_by("reviewed_at", "thread_id")
    )
    live = Post.filter(
        thread__network_id__in=ids,
        created_at__gte=start,
        created_at__lt=end,
        deleted=False,
        hidden=False,
        redacted_at__isnull=True,
    )
    posts = await live.count()
    busy: list[Any] = list(
        await live.annotate(n=Count("id"))
        .group_by("thread_id")
        .order_by("-n", "thread_id")
        .limit(TOP)
        .values_list("thread_id", "n")
    )
    threads = {
        t.id: t
        for t in await Thread.filter(id__in=[int(t) for t, _ in busy] or [0]).select_related(
            "network"
        )
    }
    active = [(threads[int(t)], int(n)) for t, n in busy if int(t) in threads]
    orgs: list[Any] = list(
        await live.filter(author__organisation_id__isnull=False)
        .annotate(n=Count("id"))
        .group_by("author__organisation__name")
        .order_by("-n", "author__organisation__name")
        .values_list("author__organisation__name", "n")
    )
    unanswered = list(
        await Thread.filter(
            network_id__in=ids, created_at__gte=start, created_at__lt=end, reply_count=0
        )
        .select_related("network")
        .order_by("created_at", "id")
        .limit(TOP)
    )
    return Activity(
        new_threads=new_threads,
        summaries=summaries,
        active=active,
        organisations=[(str(name), int(n)) for name, n in orgs],
        unanswered=unanswered,
        posts=posts,
    )


def _link(thread: Thread) -> str:
    return f"/n/{thread.network.slug}/t/{thread.id}-{thread.slug}"


def _period_words(start: datetime, end: datetime) -> str:
    last = end - timedelta(seconds=1)
    if start.year == last.year and start.month == last.month:
        return f"{start.day}{DASH}{last.day} {last.strftime('%B %Y')}"
    return f"{start.day} {start.strftime('%B')} {DASH} {last.day} {last.strftime('%B %Y')}"


def compose(name: str, found: Activity, start: datetime, end: datetime) -> tuple[str, str]:
    """The draft's title and Markdown body (pure: the same input gives the same text)."""
    period = _period_words(start, end)
    title = f"{name}: {period}"
    if not found.posts and not found.new_threads and not found.summaries:
        return title, (
            f"A quiet spell for {name} ({period}): no new threads, replies or summaries.\n\n"
            "Is there a question you have been meaning to ask? Start a thread."
        )
    threads = len(found.new_threads)
    lines = [
        f"{found.posts} posts in {threads} new thread{'s' if threads != 1 else ''} and "
        f"ongoing discussions, {period}.",
        "",
    ]
    if found.summaries:
        lines += ["## What we concluded", ""]
        for summary in found.summaries[:TOP]:
            gist = excerpt(summary.body_text, 240)
            lines.append(f"- **[{summary.thread.title}]({_link(summary.thread)})**: {gist}")
        lines.append("")
    if found.new_threads:
        lines += ["## New threads", ""]
        for thread in found.new_threads[:TOP]:
            lines.append(f"- [{thread.title}]({_link(thread)})")
        if threads > TOP:
            lines.append(f"- … and {threads - TOP} more")
        lines.append("")
    if found.active:
        lines += ["## Most active discussions", ""]
        for thread, n in found.active:
            lines.append(f"- [{thread.title}]({_link(thread)}): {n} post{'s' if n != 1 else ''}")
        lines.append("")
    if found.organisations:
        lines += ["## Who took part", ""]
        names = [f"{org} ({n})" for org, n in found.organisations]
        lines += [", ".join(names) + ".", ""]
    if found.unanswered:
        lines += ["## Still waiting for an answer", ""]
        for thread in found.unanswered:
            lines.append(f"- [{thread.title}]({_link(thread)})")
        lines.append("")
    return title, "\n".join(lines).rstrip() + "\n"


def week_before(now: datetime) -> tuple[datetime, datetime]:
    """The last whole week (Monday 00:00 UTC to Monday 00:00 UTC) before `now`."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    this_monday = today - timedelta(days=today.weekday())
    return this_monday - timedelta(days=7), this_monday


def _may_write(viewer: permissions.Viewer, network: Network | None) -> None:
    if network is None:
        if not viewer.is_admin:
            raise PermissionDenied("Only admins write the site-wide weeknote.")
    elif not viewer.is_facilitator(network):
        raise PermissionDenied("Only the network's facilitators write its weeknotes.")


async def _public_ids() -> list[int]:
    ids: list[Any] = list(
        await Network.filter(visibility=Visibility.PUBLIC)
        .order_by("id")
        .values_list("id", flat=True)
    )
    return [int(i) for i in ids]


async def draft(
    *,
    viewer: permissions.Viewer,
    network: Network | None,
    start: datetime,
    end: datetime,
    site_name: str = "the forum",
) -> Weeknote:
    """Draft a weeknote for `network` (None: every public network) over [start, end)."""
    _may_write(viewer, network)
    if end <= start:
        raise ValidationError({"start": "The period must end after it starts."})
    if end - start > timedelta(days=93):
        raise ValidationError({"start": "A weeknote covers at most three months."})
    ids = [network.id] if network else await _public_ids()
    found = await activity(ids, start, end)
    title, body = compose(network.name if network else site_name, found, start, end)
    rendered = await rendering.render(body)
    return await Weeknote.create(
        network=network,
        slug=f"{start:%Y-%m-%d}-{slugify(title, 60, fallback='weeknote')}",
        title=title,
        period_start=start,
        period_end=end,
        body=body,
        body_html=rendered.html,
        status=WeeknoteStatus.DRAFT,
        created_by_id=viewer.user_id,
        created_at=utcnow(),
    )


async def edit(
    *, viewer: permissions.Viewer, weeknote: Weeknote, title: str, body: str
) -> Weeknote:
    """Change a weeknote's words (draft or published). Raises ValidationError."""
    _may_write(viewer, weeknote.network)
    title = clean_line(title)
    body = clean(body).strip()
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = "Give the weeknote a title."
    elif len(title) > TITLE_MAX:
        errors["title"] = f"Keep the title to {TITLE_MAX} characters (it has {len(title):,})."
    if not body:
        errors["body"] = "Write the weeknote."
    elif len(body) > BODY_MAX:
        errors["body"] = f"Keep it to {BODY_MAX:,} characters (it has {len(body):,})."
    if errors:
        raise ValidationError(errors)
    weeknote.title, weeknote.body = title, body
    weeknote.body_html = (await rendering.render(body)).html
    await weeknote.save(update_fields=["title", "body", "body_html"])
    return weeknote


async def publish(*, viewer: permissions.Viewer, weeknote: Weeknote, site_name: str) -> int:
    """Publish a draft and email it to those who want weeknotes and may read it. Returns
    how many emails were queued (0 when it was already published)."""
    _may_write(viewer, weeknote.network)
    if weeknote.status == WeeknoteStatus.PUBLISHED:
        return 0
    now = utcnow()
    network = weeknote.network
    async with in_transaction() as conn:
        claimed = (
            await Weeknote.filter(id=weeknote.id, status=WeeknoteStatus.DRAFT)
            .using_db(conn)
            .update(status=WeeknoteStatus.PUBLISHED, published_at=now, emailed_at=now)
        )
        if not claimed:
            return 0
        # Who is sent it is asked of the database in one statement, however many members
        # (an IN list of every member would meet asyncpg's limit of 32,767 parameters).
        query = User.filter(is_active=True, email_verified_at__isnull=False).exclude(
            id__in=Subquery(Preferences.filter(weeknotes=False).values("user_id"))
        )
        if network is not None:
            query = query.filter(
                id__in=Subquery(Membership.filter(network_id=network.id).values("user_id"))
            )
        readers = await query.using_db(conn).order_by("id")
        named = await _named_threads(weeknote.body, using=conn)
        path = weeknote_path(weeknote)
        network_ids = [network.id] if network else await _public_ids()
        sent = 0
        for user in readers:
            await mail.queue(
                to=user.email,
                subject=weeknote.title,
                text=f"{weeknote.body}\n\nOn the forum: {SITE}{path}\n",
                html=weeknote.body_html.replace('href="/', f'href="{SITE}/')
                + f'<p><a href="{SITE}{path}">Read it on {site_name}</a></p>',
                kind="weeknote",
                user_id=user.id,
                network_ids=network_ids,
                threads=named,
                using=conn,
            )
            sent += 1
    weeknote.status, weeknote.published_at = WeeknoteStatus.PUBLISHED, now
    return sent


_THREAD_LINK = re.compile(r"/n/[A-Za-z0-9_-]+/t/(\d+)(?![\d])")


async def _named_threads(body: str, *, using: BaseDBAsyncClient) -> list[Thread]:
    """The threads a weeknote links to: its emails name them, and the mailer cancels one
    whose recipient may no longer read a thread it names (moved, merged away)."""
    ids = sorted({int(found) for found in _THREAD_LINK.findall(body)})[:1000]
    return list(await Thread.filter(id__in=ids).using_db(using)) if ids else []


async def delete_draft(*, viewer: permissions.Viewer, weeknote: Weeknote) -> None:
    _may_write(viewer, weeknote.network)
    if weeknote.status != WeeknoteStatus.DRAFT:
        raise ValidationError({"weeknote": "A published weeknote stays published."})
    await weeknote.delete()


def weeknote_path(weeknote: Weeknote) -> str:
    if weeknote.network is not None:
        return f"/n/{weeknote.network.slug}/weeknotes/{weeknote.id}-{weeknote.slug}"
    return f"/weeknotes/{weeknote.id}-{weeknote.slug}"


async def listing(viewer: permissions.Viewer, network: Network | None) -> list[Weeknote]:
    """Published weeknotes, newest first, and the drafts too for those who may write them."""
    query = Weeknote.filter(network_id=network.id if network else None)
    try:
        _may_write(viewer, network)
    except PermissionDenied:
        query = query.filter(status=WeeknoteStatus.PUBLISHED)
    return list(await query.order_by("-period_start", "-id").limit(100))


async def get(viewer: permissions.Viewer, network: Network | None, weeknote_id: int) -> Weeknote:
    """One weeknote the viewer may see (drafts only to their writers). Raises NotFound."""
    found = await Weeknote.filter(
        id=weeknote_id, network_id=network.id if network else None
    ).first()
    if found is None:
        raise NotFound("no such weeknote")
    found.network = network
    if found.status == WeeknoteStatus.DRAFT:
        try:
            _may_write(viewer, network)
        except PermissionDenied:
            raise NotFound("no such weeknote") from None
    return found
