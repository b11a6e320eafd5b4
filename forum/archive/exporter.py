"""Export the whole forum as an archive, streamed from the database a page at a time.

The order is fixed so that the same forum always gives the same file (the header's time
aside): organisations, users and networks by slug or username, memberships by network and
username, then each thread (oldest first) followed by its posts (oldest first, a parent always
before its replies) and its summary.
"""

from __future__ import annotations

import contextlib
import gzip
import os
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.transactions import in_transaction

from forum.accounts.models import Organisation, User
from forum.archive.records import (
    RECORD_TYPES,
    VERSION,
    ArchiveError,
    Header,
    MembershipRecord,
    NetworkRecord,
    OrganisationRecord,
    PostRecord,
    Record,
    SummaryRecord,
    ThreadRecord,
    UserRecord,
    dumps,
)
from forum.networks.models import Membership, Network, Role, Visibility
from forum.threads.models import Post, Summary, Tag, Thread
from forum.timeutil import utcnow

__all__ = ["ExportReport", "export_archive"]

#: Rows fetched per query. Bounds memory whatever the size of the forum.
PAGE_SIZE = 500
#: Threads per page: each page's tags and summaries (bodies included) are fetched together.
THREAD_PAGE_SIZE = 100
_T = TypeVar("_T")

#: How often (in records) the progress callback is told how many have been written.
PROGRESS_EVERY = 500


@dataclass
class ExportReport:
    """Records written, by record type (the header not counted)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RECORD_TYPES, 0))


async def export_archive(
    path: Path, *, progress: Callable[[int], None] | None = None
) -> ExportReport:
    """Write every organisation, user, network (members-only ones too), membership, thread,
    post and summary to an archive at `path` (gzipped when the name ends in `.gz`).

    Passwords and sessions are never written. The file is written beside `path` and renamed
    into place when complete, so a failed export leaves no half-written archive; an existing
    file at `path` is replaced. All reads happen in one transaction, so the archive is one
    consistent moment of the forum even while people keep posting. `progress`, if given, is
    called now and then with the number of records written so far. Tortoise must be
    initialised.

    Raises ArchiveError if the file cannot be written.
    """
    partial = path.with_name(path.name + ".partial")
    writer = _Writer(_open_for_writing(partial, path), path, progress)
    try:
        async with in_transaction() as conn:
            await _snapshot(conn)
            writer.write(Header(version=VERSION, exported_at=utcnow()), None)
            await _write_all(conn, writer)
        writer.close()
        _file_op(path, os.replace, partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            writer.out.close()
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise
    if progress is not None:
        progress(writer.written)
    return writer.report


def _file_op(path: Path, op: Callable[..., _T], *args: Any) -> _T:
    """Run a file operation; an OSError (disk full, no permission) becomes an ArchiveError.

    Only file operations are wrapped: a database error must not read as a file problem.
    """
    try:
        return op(*args)
    except OSError as exc:
        raise ArchiveError(f"cannot write {path}: {exc.strerror or exc}") from None


def _open_for_writing(partial: Path, path: Path) -> IO[str]:
    # Blocking file writes from a coroutine: the export is a command-line job with nothing
    # else to serve, and the database round trips dwarf a buffered write.
    if path.name.endswith(".gz"):
        return _file_op(path, lambda: gzip.open(partial, "wt", encoding="utf-8", newline="\n"))
    return _file_op(path, lambda: partial.open("w", encoding="utf-8", newline="\n"))


async def _snapshot(conn: BaseDBAsyncClient) -> None:
    """Make every read of the export see the same moment.

    Otherwise a user who registers and posts mid-export would appear as the author of a post
    but not among the users written earlier, and the archive could not be imported. SQLite
    (in WAL mode) reads from one snapshot per transaction already; PostgreSQL's default, READ
    COMMITTED, takes a new one per statement.
    """
    if conn.capabilities.dialect == "postgres":
        await conn.execute_script("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


class _Writer:
    def __init__(self, out: IO[str], path: Path, progress: Callable[[int], None] | None) -> None:
        self.out = out
        self.path = path
        self.report = ExportReport()
        self.progress = progress
        self.written = 0

    def close(self) -> None:
        _file_op(self.path, self.out.close)

    def write(self, record: Record | Header, kind: str | None) -> None:
        _file_op(self.path, self.out.write, dumps(record) + "\n")
        if kind is None:
            return
        self.report.counts[kind] += 1
        self.written += 1
        if self.progress is not None and self.written % PROGRESS_EVERY == 0:
            self.progress(self.written)


async def _by_key(
    query: Callable[[], Any], key: str, fields: Sequence[str]
) -> AsyncIterator[tuple[Any, ...]]:
    """Rows of `query()` in order of the unique column `key`, a page per query (keyset paging,
    so a page costs the same however deep into the table it is). Each row starts with `key`."""
    last: Any = None
    while True:
        qs = query().order_by(key)
        if last is not None:
            qs = qs.filter(**{f"{key}__gt": last})
        rows = await qs.limit(PAGE_SIZE).values_list(key, *fields)
        for row in rows:
            yield row
        if len(rows) < PAGE_SIZE:
            return
        last = rows[-1][0]


def _all(model: type[Model], conn: BaseDBAsyncClient) -> Callable[[], Any]:
    return lambda: model.all().using_db(conn)


async def _write_all(conn: BaseDBAsyncClient, w: _Writer) -> None:
    async for slug, name, domains in _by_key(
        _all(Organisation, conn), "slug", ("name", "email_domains")
    ):
        w.write(OrganisationRecord(slug, name, tuple(domains or ())), "organisation")

    async for username, display_name, email, org, is_admin, created in _by_key(
        _all(User, conn),
        "username",
        ("display_name", "email", "organisation__slug", "is_admin", "created_at"),
    ):
        w.write(UserRecord(username, display_name, email, org, bool(is_admin), created), "user")

    networks: list[tuple[int, str]] = []
    async for slug, network_id, name, description, visibility in _by_key(
        _all(Network, conn), "slug", ("id", "name", "description", "visibility")
    ):
        networks.append((network_id, slug))
        w.write(NetworkRecord(slug, name, description, Visibility(visibility)), "network")

    for network_id, slug in networks:

        def members(network_id: int = network_id) -> Any:
            return Membership.filter(network_id=network_id).using_db(conn)

        async for username, role in _by_key(members, "user__username", ("role",)):
            w.write(MembershipRecord(slug, username, Role(role)), "membership")

    async for page in _thread_pages(conn):
        await _write_threads(conn, w, page)


_THREAD_FIELDS = (
    "id",
    "ref",
    "network__slug",
    "title",
    "author__username",
    "created_at",
    "pinned",
    "locked",
)


async def _thread_pages(conn: BaseDBAsyncClient) -> AsyncIterator[list[tuple[Any, ...]]]:
    """Threads oldest first, by (created_at, id), a page at a time."""
    last: tuple[datetime, int] | None = None
    while True:
        qs = Thread.all().using_db(conn).order_by("created_at", "id")
        if last is not None:
            created, thread_id = last
            qs = qs.filter(Q(created_at__gt=created) | Q(created_at=created, id__gt=thread_id))
        rows = await qs.limit(THREAD_PAGE_SIZE).values_list(*_THREAD_FIELDS)
        if rows:
            yield rows
        if len(rows) < THREAD_PAGE_SIZE:
            return
        last = (rows[-1][5], rows[-1][0])


async def _write_threads(conn: BaseDBAsyncClient, w: _Writer, page: list[tuple[Any, ...]]) -> None:
    ids = [row[0] for row in page]
    tags: dict[int, list[str]] = {}
    for thread_id, slug in await (
        Tag.filter(threads__id__in=ids).using_db(conn).values_list("threads__id", "slug")
    ):
        tags.setdefault(thread_id, []).append(slug)
    summaries = {
        row[0]: row
        for row in await Summary.filter(thread_id__in=ids)
        .using_db(conn)
        .values_list("thread_id", "author__username", "created_at", "body", "updated_at")
    }
    for thread_id, ref, network, title, author, created, pinned, locked in page:
        w.write(
            ThreadRecord(
                id=ref,
                network=network,
                title=title,
                author=author,
                created=created,
                tags=tuple(tags.get(thread_id, ())),
                pinned=bool(pinned),
                locked=bool(locked),
            ),
            "thread",
        )
        await _write_posts(conn, w, thread_id, ref)
        summary = summaries.get(thread_id)
        if summary is not None:
            _, s_author, s_created, body, updated = summary
            w.write(SummaryRecord(ref, s_author, s_created, body, updated), "summary")


async def _write_posts(
    conn: BaseDBAsyncClient, w: _Writer, thread_id: int, thread_ref: str
) -> None:
    # First the order (small rows for the whole thread), then the bodies a page at a time:
    # a long thread never has all its bodies in memory at once.
    outline = await (
        Post.filter(thread_id=thread_id)
        .using_db(conn)
        .order_by("created_at", "id")
        .values_list("id", "ref", "parent_id")
    )
    refs: dict[int, str] = {post_id: ref for post_id, ref, _ in outline}
    parents: dict[int, int | None] = {post_id: parent for post_id, _, parent in outline}
    order = parents_first(list(parents.items()))
    for start in range(0, len(order), PAGE_SIZE):
        chunk = order[start : start + PAGE_SIZE]
        rows = {
            row[0]: row
            for row in await Post.filter(id__in=chunk)
            .using_db(conn)
            .values_list("id", "author__username", "created_at", "body", "edited_at", "deleted")
        }
        for post_id in chunk:
            _, author, created, body, edited, deleted = rows[post_id]
            parent_id = parents[post_id]
            parent = None
            if parent_id is not None:
                parent = refs.get(parent_id) or await _ref_of(conn, parent_id)
            w.write(
                PostRecord(
                    id=refs[post_id],
                    thread=thread_ref,
                    author=author,
                    created=created,
                    body=body,
                    parent=parent,
                    edited=edited,
                    deleted=bool(deleted),
                ),
                "post",
            )


async def _ref_of(conn: BaseDBAsyncClient, post_id: int) -> str:
    """The archive id of a post outside the thread (not something the services let happen)."""
    refs = await Post.filter(id=post_id).using_db(conn).values_list("ref", flat=True)
    return str(refs[0])


def parents_first(posts: Sequence[tuple[int, int | None]]) -> list[int]:
    """Post ids in the given order, except that a post whose parent comes later is moved to
    just after its parent (and its own replies after it), so every parent precedes its replies.

    `posts` is (id, parent id) in (created, id) order. Replies normally come after their
    parent anyway; this only matters for posts created in the same second, or clocks that
    went backwards.
    """
    present = {post_id for post_id, _ in posts}
    waiting: dict[int, list[int]] = {}
    emitted: set[int] = set()
    out: list[int] = []

    def emit(post_id: int) -> None:
        stack = [post_id]
        while stack:
            current = stack.pop()
            out.append(current)
            emitted.add(current)
            # Reversed onto the stack so the replies keep their own order.
            stack.extend(reversed(waiting.pop(current, [])))

    for post_id, parent_id in posts:
        if parent_id is None or parent_id in emitted or parent_id not in present:
            emit(post_id)
        else:
            waiting.setdefault(parent_id, []).append(post_id)
    # Only a cycle could leave anything waiting; write those posts rather than lose them.
    for stuck in waiting.values():
        out.extend(p for p in stuck if p not in emitted)
    return out
