"""Reads for thread, network and profile pages. Each runs a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.functions import Count, Max, Min

from forum import db, permissions
from forum.changes import UntilChanged
from forum.errors import NotFound
from forum.networks.models import Network
from forum.permissions import Viewer
from forum.threads import reading
from forum.threads.models import Post, PostRevision, Summary, Tag, Thread, ThreadRedirect


@cache
def _thread_sql() -> str:
    """Written once Tortoise knows every column (foreign keys are added at its start)."""
    return (
        f"SELECT {reading.thread_columns()} FROM {reading.THREAD_TABLES}"  # noqa: S608 (column names only)
        " WHERE t.id = ? AND t.network_id = ?"
    )


async def get_thread(network: Network, thread_id: int, *, with_tags: bool = True) -> Thread:
    """A thread of `network` with its author, organisation and (unless `with_tags` is false:
    the thread page reads them as `reading.thread_tags`) tags. Raises NotFound.

    The thread page's first read, so written by hand (`db.fetch`): one query, three models.
    """
    rows = await db.fetch(_thread_sql(), thread_id, network.id)
    if not rows:
        raise NotFound("no such thread")
    thread = reading.thread_from_row(rows[0], network)
    if with_tags:
        await thread.fetch_related("tags")
    return thread


async def moved_thread(thread_id: int, viewer: Viewer) -> Thread | None:
    """Where an old link to thread `thread_id` leads now: the thread it was merged into, or
    the same thread in the network it moved to. None when there is none the viewer may read
    (so a move into a members-only network tells outsiders nothing)."""
    redirect = await ThreadRedirect.filter(old_thread_id=thread_id).first()
    target = redirect.thread_id if redirect else thread_id
    thread = await Thread.filter(id=target).select_related("network").first()
    if thread is None or not permissions.can_read(viewer, thread.network):
        return None
    return thread


async def locate_thread(
    network: Network, thread_id: int, viewer: Viewer, *, with_tags: bool = True
) -> Thread:
    """The thread a link `/n/{network}/…/{thread_id}` means: that thread of `network`, or
    where it has since moved or been merged (its id or network then differ: redirect).
    Raises NotFound when there is none the viewer may read."""
    try:
        return await get_thread(network, thread_id, with_tags=with_tags)
    except NotFound:
        moved = await moved_thread(thread_id, viewer)
        if moved is None:
            raise
        return moved


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def cursor_of(thread: Thread) -> str:
    """Where a listing stops or starts: the thread's latest activity (whole microseconds
    since 1970, exact on both databases) and its id, as `1735732800123456-42`."""
    delta = thread.last_activity_at - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}-{thread.id}"


def parse_cursor(text: str | None) -> tuple[datetime, int] | None:
    """The (latest activity, id) a cursor names, or None for anything malformed."""
    if not text or len(text) > 40:
        return None
    micros, _, thread_id = text.partition("-")
    if not (micros.isdigit() and thread_id.isdigit()):
        return None
    try:
        return _EPOCH + timedelta(microseconds=int(micros)), int(thread_id)
    except OverflowError:
        return None


@dataclass(frozen=True, slots=True)
class ThreadPage:
    threads: list[Thread]
    total: int  # threads in the listing, all pages
    newer: str | None  # cursor for the page before (?before=), None on the first page
    older: str | None  # cursor for the page after (?after=), None on the last page
    summarised: set[int] = field(default_factory=set)  # ids of the shown threads with one


# Listings as last read, until the change log moves: everything a listing shows (threads,
# their authors and organisations, tags, summaries) is written by services that append to
# it. Pages render them read-only. Most visits are to a network's first page.
_LISTINGS: UntilChanged[tuple[Any, ...], ThreadPage] = UntilChanged(size=256)


async def network_threads(
    network: Network,
    *,
    per_page: int,
    after: str | None = None,
    before: str | None = None,
    summarised: bool | None = None,
    organisation_id: int | None = None,
) -> ThreadPage:
    """Threads of a network, pinned first then by latest activity; only those with a summary
    (summarised=True) or without (False); only those started by people of one organisation.

    Paged by keyset, not OFFSET, so that page 500 costs what page 1 does: `after` (a cursor
    from `older`) lists the threads that come after that one, `before` (from `newer`) those
    just before it. Pinned threads head the first page. A malformed cursor, or one that
    reaches past either end, gives the first page. Kept until the change log moves; else
    four queries (a fifth when more threads are pinned than fit on a page).
    """
    key = (network.id, per_page, after, before, summarised, organisation_id)
    return await _LISTINGS.get(
        key,
        lambda: _network_threads(network, per_page, after, before, summarised, organisation_id),
    )


async def _network_threads(
    network: Network,
    per_page: int,
    after: str | None,
    before: str | None,
    summarised: bool | None,
    organisation_id: int | None,
) -> ThreadPage:
    query = Thread.filter(network_id=network.id)
    if organisation_id is not None:
        query = query.filter(author__organisation_id=organisation_id)
    if summarised is not None:
        with_summary = Subquery(
            Summary.filter(thread__network_id=network.id).values_list("thread_id", flat=True)
        )
        query = (
            query.filter(id__in=with_summary) if summarised else query.exclude(id__in=with_summary)
        )
    total = await query.count()
    listed = query.select_related("author__organisation")
    unpinned = listed.filter(pinned=False)
    newest_first = ("-last_activity_at", "-id")
    start, end = parse_cursor(after), parse_cursor(before)
    threads: list[Thread] = []
    has_newer = has_older = False
    if end is not None and start is None:
        at, tid = end
        newer = Q(last_activity_at__gt=at) | Q(last_activity_at=at, id__gt=tid)
        found = list(
            await unpinned.filter(newer).order_by("last_activity_at", "id").limit(per_page + 1)
        )
        if len(found) > per_page:  # not yet back at the first page
            threads, has_newer, has_older = found[:per_page][::-1], True, True
    if not threads and start is not None:
        at, tid = start
        older = Q(last_activity_at__lt=at) | Q(last_activity_at=at, id__lt=tid)
        found = list(await unpinned.filter(older).order_by(*newest_first).limit(per_page + 1))
        threads, has_newer, has_older = found[:per_page], True, len(found) > per_page
    if not threads:
        # The first page: the pinned threads (at most a page of them) and a page of the
        # others, in one query unless more than a page are pinned.
        head = list(await listed.order_by("-pinned", *newest_first).limit(2 * per_page + 1))
        pinned = [t for t in head if t.pinned]
        found = head[len(pinned) :]
        if len(pinned) > per_page:
            pinned = pinned[:per_page]
            found = list(await unpinned.order_by(*newest_first).limit(per_page + 1))
        threads, has_newer, has_older = pinned + found[:per_page], False, len(found) > per_page
    await attach_tags(threads)
    ids: list[Any] = (
        await Summary.filter(thread_id__in=[t.id for t in threads]).values_list(
            "thread_id", flat=True
        )
        if threads
        else []
    )
    unpinned_shown = [t for t in threads if not t.pinned]
    return ThreadPage(
        threads,
        total,
        cursor_of(unpinned_shown[0]) if has_newer and unpinned_shown else None,
        cursor_of(unpinned_shown[-1]) if has_older and unpinned_shown else None,
        {int(i) for i in ids},
    )


_TAGS_OF = (
    "SELECT tt.threads_id, t.id, t.slug FROM thread_tags tt JOIN tags t ON t.id = tt.tag_id"
    " WHERE tt.threads_id IN ({ids}) ORDER BY t.slug"
)


async def readable_threads(thread_ids: list[int], network_ids: list[int]) -> dict[int, Thread]:
    """The threads with these ids that are in one of these networks (those the viewer may
    read), with their network, by id: current titles and URLs for search results, and a
    last check of where each thread is now. One query."""
    if not thread_ids:
        return {}
    rows = await Thread.filter(id__in=thread_ids, network_id__in=network_ids).select_related(
        "network"
    )
    return {t.id: t for t in rows}


async def attach_tags(threads: list[Thread]) -> None:
    """Fill each thread's `tags` (by slug) in one query: Tortoise's prefetch takes two."""
    if not threads:
        return
    ids = [t.id for t in threads]
    by_thread: dict[int, list[Tag]] = {i: [] for i in ids}
    for thread_id, tag_id, slug in await db.fetch_rows(
        _TAGS_OF.replace("{ids}", db.placeholders(ids)), *ids
    ):
        by_thread[thread_id].append(Tag._init_from_db(id=tag_id, slug=slug))
    for thread in threads:
        thread.tags._set_result_for_query(by_thread[thread.id])


@dataclass(frozen=True, slots=True)
class NetworkStats:
    threads: int
    last_activity: datetime | None


# Network stats as last counted, by networks: counting every thread is the home page's only
# cost that grows with the forum, and the home page is asked for far more often than
# threads change (every write of a thread or post appends to the change log).
_STATS: UntilChanged[tuple[int, ...], dict[int, NetworkStats]] = UntilChanged()


async def network_stats(network_ids: list[int]) -> dict[int, NetworkStats]:
    """Thread count and latest activity for each network: one grouped query, or when
    nothing was written since these networks were last counted, the last count and one
    look at the change log."""
    if not network_ids:
        return {}

    async def count() -> dict[int, NetworkStats]:
        rows = (
            await Thread.filter(network_id__in=network_ids)
            .annotate(n=Count("id"), last=Max("last_activity_at"))
            .group_by("network_id")
            .values("network_id", "n", "last")
        )
        return {int(r["network_id"]): NetworkStats(int(r["n"]), r["last"]) for r in rows}

    return await _STATS.get(tuple(sorted(network_ids)), count)


async def recent_posts_by(user_id: int, network_ids: list[int], limit: int = 20) -> list[Post]:
    """A user's latest visible posts in the given networks, with thread and network."""
    if not network_ids:
        return []
    return list(
        await Post.filter(
            author_id=user_id,
            deleted=False,
            hidden=False,
            redacted_at__isnull=True,
            thread__network_id__in=network_ids,
        )
        .select_related("thread__network")
        .order_by("-created_at", "-id")
        .limit(limit)
    )


async def recent_posts_by_organisation(
    organisation_id: int, network_ids: list[int], limit: int = 20
) -> list[Post]:
    """The latest visible posts by people of an organisation in the given networks (those the
    viewer may read), with author, thread and network. One query."""
    if not network_ids:
        return []
    return list(
        await Post.filter(
            author__organisation_id=organisation_id,
            deleted=False,
            hidden=False,
            redacted_at__isnull=True,
            thread__network_id__in=network_ids,
        )
        .select_related("author__organisation", "thread__network")
        .order_by("-created_at", "-id")
        .limit(limit)
    )


@dataclass(frozen=True, slots=True)
class NewThread:
    thread: Thread
    opening: Post | None  # None when the opening post is deleted, hidden or redacted


async def newest_threads(network: Network, limit: int = 30) -> list[NewThread]:
    """The network's most recently started threads, newest first, each with its opening post
    while readers may still see it (the Atom feed). Three queries."""
    threads = list(
        await Thread.filter(network_id=network.id)
        .select_related("author")
        .order_by("-created_at", "-id")
        .limit(limit)
    )
    if not threads:
        return []
    # The opening post is the first of its thread (as in the search index).
    rows = (
        await Post.filter(thread_id__in=[t.id for t in threads])
        .annotate(first=Min("id"))
        .group_by("thread_id")
        .values("thread_id", "first")
    )
    firsts = [int(r["first"]) for r in rows]
    posts = {p.thread_id: p for p in await Post.filter(id__in=firsts)} if firsts else {}
    out = []
    for thread in threads:
        thread.network = network
        post = posts.get(thread.id)
        out.append(NewThread(thread, post if post is not None and not post.withdrawn else None))
    return out


async def newest_live_posts(thread: Thread, limit: int = 50) -> list[Post]:
    """A thread's newest posts that readers may see (never deleted, hidden or redacted ones),
    newest first, with their authors (the Atom feed). One query."""
    return list(
        await Post.filter(
            thread_id=thread.id, deleted=False, hidden=False, redacted_at__isnull=True
        )
        .select_related("author")
        .order_by("-created_at", "-id")
        .limit(limit)
    )


async def opening_post_id(thread: Thread) -> int | None:
    """The id of the thread's opening post (its first). One query."""
    ids: list[Any] = list(
        await Post.filter(thread_id=thread.id).order_by("id").limit(1).values_list("id", flat=True)
    )
    return int(ids[0]) if ids else None


async def post_history(post: Post) -> list[PostRevision]:
    """Earlier versions of a post, oldest first, with their editors."""
    return list(
        await PostRevision.filter(post_id=post.id)
        .select_related("editor")
        .order_by("created_at", "id")
    )
