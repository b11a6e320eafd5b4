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
from typing import Any, Generic, Protocol, TypeVar

from forum import db
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


# A thread's tags (as one string: Python sorts them) and its summary, with who wrote,
# edited and reviewed it, in one row, whether or not there is a summary.
_EXTRAS = (
    "SELECT (SELECT {tags} FROM thread_tags tt JOIN tags g ON g.id = tt.tag_id"
    " WHERE tt.threads_id = ?) AS tag_slugs,"
    " s.id, s.author_id, s.edited_by_id, s.reviewed_by_id, s.source_post_id,"
    " s.body_html, s.body_text, s.created_at, s.updated_at, s.reviewed_at,"
    " a.username AS a_username, a.display_name AS a_name,"
    " e.username AS e_username, e.display_name AS e_name,"
    " r.username AS r_username, r.display_name AS r_name"
    " FROM (SELECT 1 AS one) AS x LEFT JOIN summaries s ON s.thread_id = ?"
    " LEFT JOIN users a ON a.id = s.author_id"
    " LEFT JOIN users e ON e.id = s.edited_by_id"
    " LEFT JOIN users r ON r.id = s.reviewed_by_id"
)
# Tag slugs hold no spaces (`forum.text.TAG_RE`).
_JOINED = {"postgres": "string_agg(g.slug, ' ')", "sqlite": "group_concat(g.slug, ' ')"}


def _named(row: dict[str, Any], prefix: str, person_id: int | None) -> Person | None:
    if person_id is None:
        return None
    return Person(person_id, row[f"{prefix}_username"], row[f"{prefix}_name"], None)


async def thread_extras(
    thread: Thread, posts: Sequence[PostRow]
) -> tuple[list[str], SummaryRow | None]:
    """The slugs of a thread's tags, by name, and its summary (or None): one query. The
    reply the summary came from is among `posts`."""
    sql = _EXTRAS.replace("{tags}", _JOINED[db.dialect()])
    row = (await db.fetch(sql, thread.id, thread.id))[0]
    tags = sorted(row["tag_slugs"].split()) if row["tag_slugs"] else []
    if row["id"] is None:
        return tags, None
    source_id = row["source_post_id"]
    return tags, SummaryRow(
        id=row["id"],
        thread=thread,
        thread_id=thread.id,
        author_id=row["author_id"],
        edited_by_id=row["edited_by_id"],
        reviewed_by_id=row["reviewed_by_id"],
        source_post_id=source_id,
        body_html=row["body_html"],
        body_text=row["body_text"],
        created_at=_when(row["created_at"]),
        updated_at=_time(row["updated_at"]),
        reviewed_at=_time(row["reviewed_at"]),
        author=Person(row["author_id"], row["a_username"], row["a_name"], None),
        edited_by=_named(row, "e", row["edited_by_id"]),
        reviewed_by=_named(row, "r", row["reviewed_by_id"]),
        source_post=next((p for p in posts if p.id == source_id), None) if source_id else None,
    )
