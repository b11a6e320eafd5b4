"""A thread's posts as the thread page and the API read them: plain rows, one query.

The thread page is the forum's most read page. Tortoise builds a model instance, field by
field, for every post and every person it names; for a thread of 500 posts that cost more
than rendering the page. Here the posts, their authors (with organisations) and whoever
hid or redacted one come back in one SQL query of the columns the page shows (not the
Markdown source or the plain text), as small read-only objects with the same attribute
names as the models. Nothing here is saved: writes go through `services` with the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Generic, Protocol, TypeVar

from forum import db
from forum.accounts.models import Organisation as OrganisationModel
from forum.accounts.models import User
from forum.changes import UntilChanged
from forum.networks.models import Network
from forum.threads.models import Thread

# Replies nest visibly up to this depth; deeper ones sit at this depth with an
# "in reply to" link, so a long back-and-forth does not march off the screen.
MAX_DEPTH = 4


@dataclass(frozen=True, slots=True)
class Organisation:
    id: int
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class Person:
    """A post's author, or who hid or redacted it: what a byline shows."""

    id: int
    username: str
    display_name: str
    organisation: Organisation | None


@dataclass(slots=True)  # not frozen: a frozen dataclass is slower to make, and a page makes many
class PostRow:
    id: int
    thread_id: int
    parent_id: int | None
    author_id: int
    body_html: str
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    hidden: bool
    hidden_note: str
    hidden_at: datetime | None
    hidden_by_id: int | None
    redacted_at: datetime | None
    redacted_by_id: int | None
    author: Person
    hidden_by: Person | None
    redacted_by: Person | None

    @property
    def withdrawn(self) -> bool:
        """Its text is not shown to readers: deleted, hidden by a facilitator, or redacted."""
        return self.deleted or self.hidden or self.redacted_at is not None


class _Linked(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def parent_id(self) -> int | None: ...


P = TypeVar("P", bound=_Linked)


@dataclass(frozen=True, slots=True)
class PostNode(Generic[P]):
    post: P
    depth: int  # 0 for the opening post and replies to the thread
    shown_depth: int  # capped at MAX_DEPTH
    parent: P | None

    @property
    def flattened(self) -> bool:
        """True when the post sits deeper than it is drawn: show an 'in reply to' link."""
        return self.depth > self.shown_depth


def conversation(posts: Sequence[P]) -> list[PostNode[P]]:
    """Order posts as a conversation tree: each reply under the post it answers.

    `posts` is in creation order. Siblings stay in creation order. Iterative, so a chain of
    thousands of replies to replies does not hit the recursion limit.
    """
    by_id = {p.id: p for p in posts}
    children: dict[int | None, list[P]] = {}
    for post in posts:
        parent = post.parent_id if post.parent_id in by_id else None
        children.setdefault(parent, []).append(post)
    out: list[PostNode[P]] = []
    stack: list[tuple[P, int]] = [(p, 0) for p in reversed(children.get(None, []))]
    while stack:
        post, depth = stack.pop()
        parent_post = by_id.get(post.parent_id) if post.parent_id else None
        out.append(PostNode(post, depth, min(depth, MAX_DEPTH), parent_post))
        stack.extend((c, depth + 1) for c in reversed(children.get(post.id, [])))
    return out


# The author with their organisation; who hid or redacted a post by name only (the LEFT
# JOINs cost nothing where those ids are NULL, as they almost always are).
_POSTS = (
    "SELECT p.id, p.parent_id, p.author_id, p.body_html, p.created_at, p.edited_at,"
    " p.deleted, p.hidden, p.hidden_note, p.hidden_at, p.hidden_by_id, p.redacted_at,"
    " p.redacted_by_id, a.username AS a_username, a.display_name AS a_name,"
    " a.organisation_id AS a_org, o.slug AS o_slug, o.name AS o_name,"
    " h.username AS h_username, h.display_name AS h_name,"
    " r.username AS r_username, r.display_name AS r_name"
    " FROM posts p JOIN users a ON a.id = p.author_id"
    " LEFT JOIN organisations o ON o.id = a.organisation_id"
    " LEFT JOIN users h ON h.id = p.hidden_by_id"
    " LEFT JOIN users r ON r.id = p.redacted_by_id"
    " WHERE p.thread_id = ? ORDER BY p.created_at, p.id"
)


def _time(value: Any) -> datetime | None:
    """A timestamp as the database gives it (SQLite: ISO text; PostgreSQL: a datetime), in
    UTC, as Tortoise reads it into a model (a few microseconds less each, a page has many)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if value.utcoffset() == _ZERO else value.astimezone(UTC)


def _when(value: Any) -> datetime:
    """As `_time`, for a column that is never NULL."""
    when = _time(value)
    if when is None:
        raise ValueError("a NOT NULL timestamp was NULL")
    return when


_ZERO = timedelta(0)


async def thread_posts(thread_id: int) -> list[PostNode[PostRow]]:
    """Every post of a thread, as a conversation tree, in one query. Its rows are read by
    position (no dict for each), each person once however many posts they wrote."""
    people: dict[int, Person] = {}
    orgs: dict[int, Organisation] = {}
    posts = []
    for (
        post_id,
        parent_id,
        author_id,
        body_html,
        created_at,
        edited_at,
        deleted,
        hidden,
        hidden_note,
        hidden_at,
        hidden_by_id,
        redacted_at,
        redacted_by_id,
        a_username,
        a_name,
        a_org,
        o_slug,
        o_name,
        h_username,
        h_name,
        r_username,
        r_name,
    ) in await db.fetch_rows(_POSTS, thread_id):
        author = people.get(author_id)
        if author is None:
            org = None
            if a_org is not None:
                org = orgs.get(a_org) or orgs.setdefault(a_org, Organisation(a_org, o_slug, o_name))
            author = people[author_id] = Person(author_id, a_username, a_name, org)
        hidden_by = redacted_by = None
        if hidden_by_id is not None:  # named on the page, without their organisation
            hidden_by = people.get(hidden_by_id) or Person(hidden_by_id, h_username, h_name, None)
        if redacted_by_id is not None:
            redacted_by = people.get(redacted_by_id) or Person(
                redacted_by_id, r_username, r_name, None
            )
        posts.append(
            PostRow(
                post_id,
                thread_id,
                parent_id,
                author_id,
                body_html,
                _when(created_at),
                _time(edited_at),
                bool(deleted),
                bool(hidden),
                hidden_note,
                _time(hidden_at),
                hidden_by_id,
                _time(redacted_at),
                redacted_by_id,
                author,
                hidden_by,
                redacted_by,
            )
        )
    return conversation(posts)


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """A thread's summary as its page shows it (the knowledge base reads `Summary`)."""

    id: int
    thread: Thread
    thread_id: int
    author_id: int
    edited_by_id: int | None
    reviewed_by_id: int | None
    source_post_id: int | None
    body_html: str
    body_text: str
    created_at: datetime
    updated_at: datetime | None
    reviewed_at: datetime | None
    author: Person
    edited_by: Person | None
    reviewed_by: Person | None
    source_post: PostRow | None  # the reply it was promoted from, when still in the thread

    @property
    def last_reviewed(self) -> datetime:
        return self.reviewed_at or self.updated_at or self.created_at


@dataclass(frozen=True, slots=True)
class ThreadHead:
    """What the thread page shows above its posts, read in one query: the thread (with its
    author, their organisation and its network), its tags, and its summary's row, if any
    (made a `SummaryRow` by `summary_of` once the posts are read)."""

    network: Network
    thread: Thread
    tags: list[str]
    summary: dict[str, Any] | None


# Tag slugs hold no spaces (`forum.text.TAG_RE`): one string of them, sorted in Python.
_JOINED = {"postgres": "string_agg(g.slug, ' ')", "sqlite": "group_concat(g.slug, ' ')"}


@cache
def _head_sql(dialect: str) -> str:
    """Written once Tortoise knows every column (foreign keys are added at its start)."""
    return (
        f"SELECT {thread_columns()}, {db.columns(Network, 'n')},"  # noqa: S608 (column names only)
        f" (SELECT {_JOINED[dialect]} FROM thread_tags tt JOIN tags g ON g.id = tt.tag_id"
        " WHERE tt.threads_id = t.id) AS tag_slugs,"
        " s.id AS s_id, s.author_id AS s_author_id, s.edited_by_id AS s_edited_by_id,"
        " s.reviewed_by_id AS s_reviewed_by_id, s.source_post_id AS s_source_post_id,"
        " s.body_html AS s_body_html, s.body_text AS s_body_text,"
        " s.created_at AS s_created_at, s.updated_at AS s_updated_at,"
        " s.reviewed_at AS s_reviewed_at,"
        " sa.username AS a_username, sa.display_name AS a_name,"
        " se.username AS e_username, se.display_name AS e_name,"
        " sr.username AS r_username, sr.display_name AS r_name"
        f" FROM {THREAD_TABLES} JOIN networks n ON n.id = t.network_id"
        " LEFT JOIN summaries s ON s.thread_id = t.id"
        " LEFT JOIN users sa ON sa.id = s.author_id"
        " LEFT JOIN users se ON se.id = s.edited_by_id"
        " LEFT JOIN users sr ON sr.id = s.reviewed_by_id"
        " WHERE t.id = ?"
    )


# A thread with its author and their organisation, as `thread_columns` names them.
THREAD_TABLES = (
    "threads t JOIN users u ON u.id = t.author_id"
    " LEFT JOIN organisations o ON o.id = u.organisation_id"
)


def thread_columns() -> str:
    """Every column of THREAD_TABLES's thread "t", author "u" and organisation "o", for
    `thread_from_row` (called once Tortoise knows every column)."""
    return (
        f"{db.columns(Thread, 't')}, {db.columns(User, 'u')}, {db.columns(OrganisationModel, 'o')}"
    )


def thread_from_row(row: dict[str, Any], network: Network) -> Thread:
    """The thread of a row of `thread_columns()`, with its author and network set."""
    thread = db.from_row(Thread, row, "t")
    author = db.from_row(User, row, "u")
    if row["o_id"] is not None:
        author.organisation = db.from_row(OrganisationModel, row, "o")
    thread.author = author
    thread.network = network
    return thread


async def thread_head(thread_id: int) -> ThreadHead | None:
    """Thread `thread_id` with its network, author, tags and summary row; None if there is
    no such thread. Whether the viewer may read it is the caller's question (its network is
    here to ask `permissions.can_read`)."""
    rows = await db.fetch(_head_sql(db.dialect()), thread_id)
    if not rows:
        return None
    row = rows[0]
    network = db.from_row(Network, row, "n")
    thread = thread_from_row(row, network)
    tags = sorted(row["tag_slugs"].split()) if row["tag_slugs"] else []
    return ThreadHead(network, thread, tags, row if row["s_id"] is not None else None)


def _named(row: dict[str, Any], prefix: str, person_id: int | None) -> Person | None:
    if person_id is None:
        return None
    return Person(person_id, row[f"{prefix}_username"], row[f"{prefix}_name"], None)


def summary_of(head: ThreadHead, posts: Sequence[PostRow]) -> SummaryRow | None:
    """The thread's summary as its page shows it; the reply it came from is among `posts`."""
    row = head.summary
    if row is None:
        return None
    source_id = row["s_source_post_id"]
    return SummaryRow(
        id=row["s_id"],
        thread=head.thread,
        thread_id=head.thread.id,
        author_id=row["s_author_id"],
        edited_by_id=row["s_edited_by_id"],
        reviewed_by_id=row["s_reviewed_by_id"],
        source_post_id=source_id,
        body_html=row["s_body_html"],
        body_text=row["s_body_text"],
        created_at=_when(row["s_created_at"]),
        updated_at=_time(row["s_updated_at"]),
        reviewed_at=_time(row["s_reviewed_at"]),
        author=Person(row["s_author_id"], row["a_username"], row["a_name"], None),
        edited_by=_named(row, "e", row["s_edited_by_id"]),
        reviewed_by=_named(row, "r", row["s_reviewed_by_id"]),
        source_post=next((p for p in posts if p.id == source_id), None) if source_id else None,
    )


@dataclass(frozen=True, slots=True)
class ThreadView:
    """What every viewer of a thread page is shown alike: its head and its posts (what is
    withdrawn, and from whom, each template decides)."""

    head: ThreadHead
    nodes: list[PostNode[PostRow]]


# Kept until the change log moves (every write to a thread, its posts, tags or summary, or
# to a name a page shows, appends to it): the most read threads, up to this many posts in
# all in each process (about 2 kB each with their HTML).
KEPT_POSTS = 5_000
_VIEWS: UntilChanged[int, ThreadView | None] = UntilChanged(
    KEPT_POSTS, weigh=lambda view: 1 + len(view.nodes) if view else 1
)


async def thread_view(thread_id: int) -> ThreadView | None:
    """Thread `thread_id`'s head and posts (two queries, or none while the log stands
    still); None if there is no such thread. The objects are shared between requests:
    read them, never change them. Whether the viewer may read it is the caller's question."""

    async def compute() -> ThreadView | None:
        head = await thread_head(thread_id)
        return None if head is None else ThreadView(head, await thread_posts(thread_id))

    return await _VIEWS.get(thread_id, compute)
