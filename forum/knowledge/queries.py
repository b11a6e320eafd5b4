"""Reads for summaries: the thread page, the knowledge base, the queue, the feed.

Each function runs a fixed number of queries whatever the number of summaries it covers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise.expressions import Subquery
from tortoise.functions import Count, Min

from forum import db
from forum.accounts.models import User
from forum.accounts.queries import pages_of
from forum.changes import UntilChanged
from forum.networks.models import Network
from forum.threads.models import Post, Summary, SummaryRevision, Thread
from forum.threads.reading import PostRow, SummaryRow
from forum.timeutil import utcnow

# A thread counts as active (and so belongs in the facilitator's queue) while it has had
# activity this recently.
ACTIVE_FOR = timedelta(days=90)
# Articles shown under each tag on a knowledge base's front page.
PER_TAG = 5
# The newest summaries the front page chooses its shelves from.
FRONT_CANDIDATES = 400
# Articles on a page of one tag's (or the stale) articles.
PER_PAGE = 30


@dataclass(frozen=True, slots=True)
class Version:
    number: int  # 1 is the first version
    body: str
    body_html: str
    created_at: datetime
    editor: User
    current: bool


async def summary_versions(summary: Summary) -> list[Version]:
    """Every version of a summary, oldest first, the current one last. Two queries."""
    revisions = (
        await SummaryRevision.filter(summary_id=summary.id)
        .select_related("editor")
        .order_by("created_at", "id")
    )
    editor = await User.get(id=summary.edited_by_id or summary.author_id)
    versions = [
        Version(i, r.body, r.body_html, r.created_at, r.editor, False)
        for i, r in enumerate(revisions, start=1)
    ]
    versions.append(
        Version(
            len(versions) + 1,
            summary.body,
            summary.body_html,
            summary.updated_at or summary.created_at,
            editor,
            True,
        )
    )
    return versions


@dataclass(slots=True)
class Article:
    """A summary as the knowledge base shows it."""

    # With its thread (and the thread's network and tags), author, reviewer and source; on
    # the thread page, the row it reads (`reading.SummaryRow`).
    summary: Summary | SummaryRow
    contributors: list[str] = field(default_factory=list)  # organisation names
    replies_since: int = 0  # live posts after the last review
    tags: list[str] = field(default_factory=list)

    @property
    def thread(self) -> Thread:
        return self.summary.thread

    @property
    def stale(self) -> bool:
        return self.replies_since > 0


async def contributors(thread_ids: list[int]) -> dict[int, list[str]]:
    """The organisations that took part in each thread, in the order they joined in."""
    if not thread_ids:
        return {}
    rows = (
        await Post.filter(
            thread_id__in=thread_ids,
            deleted=False,
            hidden=False,
            author__organisation_id__not_isnull=True,
        )
        .annotate(first=Min("created_at"))
        .group_by("thread_id", "author__organisation__name")
        .values("thread_id", "author__organisation__name", "first")
    )
    by_thread: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for row in rows:
        by_thread[int(row["thread_id"])].append((row["first"], row["author__organisation__name"]))
    return {tid: [name for _, name in sorted(orgs)] for tid, orgs in by_thread.items()}


_REPLIES_SINCE_REVIEW = (
    "SELECT p.thread_id AS thread_id, COUNT(*) AS n FROM posts p"
    " JOIN summaries s ON s.thread_id = p.thread_id"
    " WHERE p.thread_id IN ({ids}) AND p.deleted = FALSE AND p.hidden = FALSE"
    " AND p.created_at > COALESCE(s.reviewed_at, s.updated_at, s.created_at)"
    " GROUP BY p.thread_id"
)


async def replies_since_review(thread_ids: list[int]) -> dict[int, int]:
    """Live posts written after each thread's summary was last reviewed (threads with none
    are left out). One grouped query."""
    if not thread_ids:
        return {}
    # Tortoise cannot compare a column with one of a joined table, hence plain SQL (portable:
    # both databases store these timestamps in one comparable form).
    sql = _REPLIES_SINCE_REVIEW.replace("{ids}", db.placeholders(thread_ids))
    rows = await db.fetch(sql, *thread_ids)
    return {int(r["thread_id"]): int(r["n"]) for r in rows}


async def _articles(summaries: list[Summary]) -> list[Article]:
    ids = [s.thread_id for s in summaries]
    orgs = await contributors(ids)
    since = await replies_since_review(ids)
    tags: dict[int, list[str]] = defaultdict(list)
    for row in await Thread.filter(id__in=ids, tags__slug__not_isnull=True).values(
        "id", "tags__slug"
    ):
        tags[int(row["id"])].append(row["tags__slug"])
    return [
        Article(s, orgs.get(s.thread_id, []), since.get(s.thread_id, 0), sorted(tags[s.thread_id]))
        for s in summaries
    ]


async def article(thread: Thread) -> Article | None:
    """The thread's summary with what its knowledge base article shows, or None. Five
    queries. (The thread page builds its panel from the posts it has: `page_article`.)"""
    summary = (
        await Summary.filter(thread_id=thread.id)
        .select_related("author", "edited_by", "reviewed_by", "source_post__author")
        .first()
    )
    if summary is None:
        return None
    summary.thread = thread
    return (await _articles([summary]))[0]


def page_article(summary: SummaryRow, tags: list[str], posts: Sequence[PostRow]) -> Article:
    """What `_articles` reads with three queries, from the thread page's posts and tags (the
    posts in creation order, with their authors' organisations)."""
    live = [p for p in posts if not p.deleted and not p.hidden]
    joined: dict[str, datetime] = {}
    for post in live:
        org = post.author.organisation
        if org is not None and org.name not in joined:
            joined[org.name] = post.created_at
    orgs = [name for name, _ in sorted(joined.items(), key=lambda item: (item[1], item[0]))]
    reviewed = summary.last_reviewed
    since = sum(1 for p in live if p.created_at > reviewed)
    return Article(summary, orgs, since, tags)


@dataclass(slots=True)
class Shelf:
    """One tag's articles on a knowledge base's front page."""

    tag: str  # "" for articles without a tag
    count: int  # articles with this tag in all (without a tag, for "")
    articles: list[Article]


@dataclass(slots=True)
class KnowledgeBase:
    shelves: list[Shelf]
    total: int  # articles in all (after the stale filter)
    tags: list[tuple[str, int]]  # every tag with its number of articles, by name
    page: int = 1  # of a tag's or the stale articles (the front page has one)
    pages: int = 1


_NEWEST_REVIEWED = (
    "SELECT s.thread_id AS thread_id FROM summaries s JOIN threads t ON t.id = s.thread_id"
    " WHERE t.network_id IN ({ids})"
    " ORDER BY COALESCE(s.reviewed_at, s.updated_at, s.created_at) DESC, s.thread_id DESC"
    " LIMIT ?"
)


async def _newest_reviewed(network_ids: list[int], limit: int) -> list[int]:
    """Thread ids of the `limit` most recently reviewed summaries of the networks, newest
    first, sorted by the database. (Plain SQL as in `replies_since_review`: Tortoise cannot
    order by a COALESCE of columns once a table is joined.)"""
    sql = _NEWEST_REVIEWED.replace("{ids}", db.placeholders(network_ids))
    return [int(r["thread_id"]) for r in await db.fetch(sql, *network_ids, limit)]


_TAGGED_NEWEST = (
    "SELECT s.thread_id AS thread_id FROM summaries s JOIN threads t ON t.id = s.thread_id"
    " JOIN thread_tags tt ON tt.threads_id = t.id JOIN tags g ON g.id = tt.tag_id"
    " WHERE t.network_id IN ({ids}) AND g.slug = ?"
    " ORDER BY COALESCE(s.reviewed_at, s.updated_at, s.created_at) DESC, s.thread_id DESC"
    " LIMIT ? OFFSET ?"
)


async def _tagged_newest(network_ids: list[int], tag: str, offset: int, limit: int) -> list[int]:
    """Thread ids of one page of a tag's summaries in the networks, newest review first,
    sorted and cut by the database (a tag's page reads its thirty, not all of them)."""
    sql = _TAGGED_NEWEST.replace("{ids}", db.placeholders(network_ids))
    rows = await db.fetch(sql, *network_ids, tag, limit, offset)
    return [int(r["thread_id"]) for r in rows]


# Every stale summary (one with a live reply since its last review), newest review first.
# `+t.network_id`: not by the threads' network index, so SQLite reads the summaries (never
# more than the threads, often a fifth) and looks each one's thread up, instead of looking
# a summary up for every thread of the networks (at large scale 275 ms a page, now 135-170).
_STALE_NEWEST = (
    "SELECT s.thread_id AS thread_id FROM summaries s JOIN threads t ON t.id = s.thread_id"
    " {tagged} WHERE +t.network_id IN ({ids}) {tag} AND EXISTS (SELECT 1 FROM posts p"
    " WHERE p.thread_id = s.thread_id AND p.deleted = FALSE AND p.hidden = FALSE"
    " AND p.created_at > COALESCE(s.reviewed_at, s.updated_at, s.created_at))"
    " ORDER BY COALESCE(s.reviewed_at, s.updated_at, s.created_at) DESC, s.thread_id DESC"
)
_TAGGED = "JOIN thread_tags tt ON tt.threads_id = t.id JOIN tags g ON g.id = tt.tag_id"


async def _stale_newest(network_ids: list[int], tag: str | None) -> list[int]:
    """Thread ids of every stale summary of the networks (of one tag's, with `tag`), newest
    review first: one query, each summary's test an index probe in the database (the
    posts' (thread_id, created_at) index), whatever their number."""
    sql = (
        _STALE_NEWEST.replace("{ids}", db.placeholders(network_ids))
        .replace("{tagged}", _TAGGED if tag is not None else "")
        .replace("{tag}", "AND g.slug = ?" if tag is not None else "")
    )
    rows = await db.fetch(sql, *network_ids, *([tag] if tag is not None else []))
    return [int(r["thread_id"]) for r in rows]


async def knowledge_base(
    network_ids: list[int], *, tag: str | None = None, stale_only: bool = False, page: int = 1
) -> KnowledgeBase:
    """The articles of the given networks, newest review first.

    The front page groups them by tag: each article sits once, on the shelf of its most used
    tag (so a thread with three tags is not listed three times), each shelf showing its
    PER_TAG newest; `tags` lists every tag with its count for the rest. It reads the counts
    grouped in the database and only the newest FRONT_CANDIDATES summaries, so it costs the
    same with forty thousand articles as with forty (a shelf whose newest article is older
    than those is left off the front page; its tag is still listed).

    With `tag`, or `stale_only`, one shelf of those articles, PER_PAGE at a time.

    A fixed number of queries: the counts (kept until the change log moves); for a tag, the
    ids of its page, sorted and cut by the database; for the stale ones, the ids of them
    all, tested and sorted by the database; then the shown articles in full.
    """
    if not network_ids:
        return KnowledgeBase([], 0, [])
    key = (tuple(sorted(network_ids)), FRONT_CANDIDATES)
    if tag is None and not stale_only:
        return await _FRONT_PAGES.get(key, lambda: _front_page(key, network_ids))
    shape = await _SHAPES.get(key, lambda: _shape(network_ids))
    counts = shape.counts
    if not stale_only and tag is not None:
        # The tag's count is kept with the others: its page is one query of its thirty.
        found = counts.get(tag, 0)
        page, pages = pages_of(found, page, PER_PAGE)
        shown = await _tagged_newest(network_ids, tag, (page - 1) * PER_PAGE, PER_PAGE)
        total = shape.total
    else:
        # The stale ones (the facilitators' shelf): their ids, tested and sorted by the
        # database.
        newest = await _stale_newest(network_ids, tag)
        found = total = len(newest)
        page, pages = pages_of(found, page, PER_PAGE)
        shown = newest[(page - 1) * PER_PAGE : page * PER_PAGE]
    loaded = {a.thread.id: a for a in await _load_articles(shown)}
    shelf = Shelf(tag or "", found, [loaded[t] for t in shown if t in loaded])
    return KnowledgeBase([shelf], total, sorted(counts.items()), page, pages)


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a knowledge base's pages count over every summary of its networks."""

    counts: dict[str, int]  # articles by tag
    untagged: int
    total: int
    # The front page's shelves: by tag ("" for untagged), the thread ids of the PER_TAG most
    # recently reviewed of the FRONT_CANDIDATES newest whose most used tag it is.
    shelves: dict[str, list[int]]


async def _shape(network_ids: list[int]) -> _Shape:
    in_networks = Summary.filter(thread__network_id__in=network_ids)
    counted = (
        await in_networks.annotate(n=Count("thread_id"))
        .group_by("thread__tags__slug")
        .values("thread__tags__slug", "n")
    )
    counts = {r["thread__tags__slug"]: int(r["n"]) for r in counted if r["thread__tags__slug"]}
    newest = await _newest_reviewed(network_ids, FRONT_CANDIDATES)
    tags: dict[int, set[str]] = defaultdict(set)
    if newest:
        for row in await Thread.filter(id__in=newest, tags__slug__not_isnull=True).values(
            "id", "tags__slug"
        ):
            tags[int(row["id"])].add(row["tags__slug"])
    shelves: dict[str, list[int]] = defaultdict(list)
    for tid in newest:
        mine = tags.get(tid)
        primary = min(mine, key=lambda slug: (-counts.get(slug, 0), slug)) if mine else ""
        if len(shelves[primary]) < PER_TAG:
            shelves[primary].append(tid)
    return _Shape(
        counts,
        sum(int(r["n"]) for r in counted if not r["thread__tags__slug"]),
        await in_networks.count(),
        dict(shelves),
    )


# Those counts, by networks, until the change log moves (every write to a summary, its
# review, a thread's tags or network appends to it): the knowledge base's cost that grows
# with the forum, paid once per change rather than at every page.
_SHAPES: UntilChanged[tuple[tuple[int, ...], int], _Shape] = UntilChanged()
# The front page itself, likewise: everything its articles show (a summary and its review,
# its thread's title, tags and network, who wrote and reviewed it, the organisations that
# took part, the replies since the review) is written by services that append to the log.
# Pages render these read-only.
_FRONT_PAGES: UntilChanged[tuple[tuple[int, ...], int], KnowledgeBase] = UntilChanged()


async def _front_page(key: tuple[tuple[int, ...], int], network_ids: list[int]) -> KnowledgeBase:
    shape = await _SHAPES.get(key, lambda: _shape(network_ids))
    counts, shelves = shape.counts, shape.shelves
    wanted = sorted({tid for tids in shelves.values() for tid in tids})
    loaded = {a.thread.id: a for a in await _load_articles(wanted)}
    order = sorted(shelves, key=lambda slug: (slug == "", slug))
    return KnowledgeBase(
        [
            Shelf(
                slug,
                counts.get(slug, 0) if slug else shape.untagged,
                [loaded[t] for t in shelves[slug] if t in loaded],
            )
            for slug in order
        ],
        shape.total,
        sorted(counts.items()),
    )


async def _load_articles(thread_ids: list[int]) -> list[Article]:
    if not thread_ids:
        return []
    # (prefetch_related("thread__tags") would replace the joined thread and lose its network.)
    summaries = await Summary.filter(thread_id__in=thread_ids).select_related(
        "author", "reviewed_by", "thread__network"
    )
    return await _articles(list(summaries))


async def recent_articles(network: Network, limit: int = 30) -> list[Article]:
    """The network's most recently written or reviewed summaries (the Atom feed)."""
    newest = await _newest_reviewed([network.id], limit)
    articles = await _load_articles(newest)
    return sorted(articles, key=lambda a: a.summary.last_reviewed, reverse=True)


@dataclass(slots=True)
class Queue:
    """What a facilitator has to summarise: active threads without a summary, and summaries
    that replies have overtaken."""

    awaiting: list[Thread]
    stale: list[Article]


# The summaries of active threads with the most live replies since their review: counted,
# sorted and cut by the database.
_MOST_OVERTAKEN = (
    "SELECT p.thread_id AS thread_id, COUNT(*) AS n FROM posts p"
    " JOIN summaries s ON s.thread_id = p.thread_id JOIN threads t ON t.id = p.thread_id"
    " WHERE t.network_id IN ({ids}) AND t.last_activity_at >= ?"
    " AND p.deleted = FALSE AND p.hidden = FALSE"
    " AND p.created_at > COALESCE(s.reviewed_at, s.updated_at, s.created_at)"
    " GROUP BY p.thread_id ORDER BY n DESC, p.thread_id DESC LIMIT ?"
)


async def facilitator_queue(network_ids: list[int], limit: int = 50) -> Queue:
    if not network_ids:
        return Queue([], [])
    since = utcnow() - ACTIVE_FOR
    summarised = Summary.filter(thread__network_id__in=network_ids).values_list(
        "thread_id", flat=True
    )
    awaiting = (
        await Thread.filter(network_id__in=network_ids, last_activity_at__gte=since)
        .exclude(id__in=Subquery(summarised))
        .select_related("network", "author__organisation")
        .order_by("-reply_count", "-last_activity_at")
        .limit(limit)
    )
    sql = _MOST_OVERTAKEN.replace("{ids}", db.placeholders(network_ids))
    rows = await db.fetch(sql, *network_ids, db.timestamp(since), limit)
    stale = await _load_articles([int(r["thread_id"]) for r in rows])
    stale.sort(key=lambda a: a.replies_since, reverse=True)
    return Queue(list(awaiting), stale)
