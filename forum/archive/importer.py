"""Import an archive: every line checked, all of it written in one transaction, or nothing.

The file is streamed: lines are read one at a time and what is kept across lines is only the
mapping from archive keys to database ids (short strings and ints), never records or bodies.

Every line is held to the forms' limits (`settings.limits` and the services' constants, via
`records.Bounds`), and read with a bounded `readline`: a line longer than any record within
those limits can be is refused after that many bytes, before the rest of it is read.

What an import grants (memberships, facilitator roles, admin) is listed in its report and in
the audit log. A grant that reaches an account or network already in the forum is refused
unless the caller allows it (`grant_roles`): merging an archive must not quietly hand
someone a role.

Rendering Markdown is most of the cost of an import (about 2 ms a post), so posts and summaries
are collected in batches that are rendered in worker processes while the database takes the
batch before; each batch is then written with one `bulk_create` (one prepared INSERT
that the driver runs for every row). Small archives (fewer posts than one
batch) are rendered in this process and start no workers.
"""

from __future__ import annotations

import asyncio
import gzip
import multiprocessing
import os
import zlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import OperationalError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from forum import changes, db, markdown
from forum.accounts.models import Organisation, User
from forum.accounts.services import account_changed
from forum.archive.records import (
    RECORD_TYPES,
    ArchiveError,
    Bounds,
    MembershipRecord,
    NetworkRecord,
    OrganisationRecord,
    PostRecord,
    Record,
    SummaryRecord,
    ThreadRecord,
    UserRecord,
    parse_header,
    parse_record,
)
from forum.audit import services as audit
from forum.config import LimitSettings
from forum.networks.models import Membership, Network, Role, Visibility
from forum.text import slugify
from forum.threads.models import Post, Summary, Tag, Thread
from forum.timeutil import utcnow

__all__ = ["Grant", "ImportReport", "import_archive"]

#: Posts and summaries rendered and inserted together. Large enough that one bulk write and
#: one id lookup serve many rows; small enough that a batch in flight holds little memory.
BATCH_SIZE = 250

#: How often (in lines) the progress callback is told how far the import has read.
PROGRESS_EVERY = 500


#: Grants an audit entry (and the command's output) lists one by one; more are counted.
GRANTS_LISTED = 200


@dataclass(frozen=True, slots=True)
class Grant:
    """One role an import gave: a membership (with its role) in a network, or admin."""

    line: int
    user: str
    #: "member" or "facilitator" (of `network`), or "admin" (of the forum).
    role: str
    network: str | None = None
    members_only: bool = False
    #: Whether the account, or the network, was in the forum before the import.
    existing_account: bool = False
    existing_network: bool = False
    #: True if it gives a role over, or to, something the archive did not bring: a
    #: membership of an existing account or in an existing network, or an admin of a forum
    #: that already had accounts. These need the importer's consent (`grant_roles`).
    reaches_existing: bool = False

    @property
    def what(self) -> str:
        """'alice: facilitator of "data-leaders" (members only; the account was already in
        the forum)'"""
        if self.network is None:
            what = f"{self.user}: admin of the forum"
        else:
            kind = "members only" if self.members_only else "public"
            what = f'{self.user}: {self.role} of "{self.network}" ({kind}'
        notes = []
        if self.existing_account:
            notes.append("the account was already in the forum")
        if self.existing_network:
            notes.append("the network was already in the forum")
        if self.network is None and self.reaches_existing:
            notes.append("the forum already had accounts")
        if self.network is None:
            return f"{what} ({'; '.join(notes)})" if notes else what
        return "; ".join([what, *notes]) + ")"

    def describe(self) -> str:
        """The grant with its line: 'line 10: alice: member of "dl" (public)'."""
        return f"line {self.line}: {self.what}"


@dataclass
class ImportReport:
    """What an import did: records created and skipped (already there), by record type, the
    roles it granted, and what it added to networks that were already in the forum."""

    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RECORD_TYPES, 0))
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RECORD_TYPES, 0))
    #: Lines read, the header included.
    lines: int = 0
    #: Every membership, facilitator role and admin the import gave, in file order.
    grants: list[Grant] = field(default_factory=list)
    #: Network slug -> {"thread": n, "post": n, "summary": n} created in it, for the networks
    #: that were in the forum before the import.
    added_to_existing: dict[str, dict[str, int]] = field(default_factory=dict)
    #: True if nothing was written (a dry run): the figures say what would have been.
    dry_run: bool = False

    def grant_lines(self, limit: int = GRANTS_LISTED) -> list[str]:
        """The grants as lines, those reaching what was already in the forum first, at most
        `limit` of them (the rest are counted by `grant_counts`)."""
        ordered = sorted(self.grants, key=lambda g: not g.reaches_existing)
        return [g.describe() for g in ordered[:limit]]

    def grant_counts(self) -> dict[str, int]:
        """{"facilitator": 2, "member": 5, "admin": 1, "reaching existing records": 1}"""
        counts: dict[str, int] = {}
        for grant in self.grants:
            counts[grant.role] = counts.get(grant.role, 0) + 1
        reaching = sum(g.reaches_existing for g in self.grants)
        if reaching:
            counts["reaching existing records"] = reaching
        return counts


class _DryRun(Exception):
    """Raised at the end of a dry run, inside the transaction, to roll it back."""


async def import_archive(
    path: Path,
    *,
    skip_existing: bool = False,
    grant_roles: bool = False,
    dry_run: bool = False,
    limits: LimitSettings | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import the archive at `path` (`.jsonl`, or gzipped when it ends in `.gz`).

    Everything is written in one transaction: organisations, users (who cannot log in until
    given a password), networks, memberships, threads with their tags, posts and summaries,
    with bodies rendered by `markdown.render` and each new network, thread, post and summary
    recorded in the change log for the search indexer; and an audit entry
    (`archive.import`) saying what was imported and every role granted, with a `member.add`
    or `user.admin` entry for each grant that reaches an account or network already in the
    forum. `progress`, if given, is called now and then with the number of bytes of the file
    read so far. Tortoise must be initialised.

    Every field is held to the forms' `limits` (default: the default settings) and the
    services' own bounds; no line may be longer than a record within them can be.

    A record whose id or slug is already in the forum is an error unless `skip_existing`, which
    skips it and counts it in the report's `skipped`. A membership of an account or in a
    network already in the forum, or an admin when the forum already has accounts, is an
    error unless `grant_roles`. With `dry_run` everything is checked and the report filled
    in, and then nothing is kept.

    Raises ArchiveError, naming the line and the field, if the file cannot be read or any line
    is invalid; nothing is written then.
    """
    bounds = Bounds(limits=limits or LimitSettings())
    importer = _Importer(
        skip_existing=skip_existing, grant_roles=grant_roles, bounds=bounds, name=path.name
    )
    with ExitStack() as stack:
        raw, lines = _open_lines(path, stack, bounds.line_bytes_max)
        try:
            async with in_transaction() as conn:
                importer.conn = conn
                await importer.run(lines, raw, progress)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            importer.report.dry_run = True
        except OperationalError as exc:
            # Every conflict the archive can cause is checked line by line, and a write that
            # fails on a line is reported with its number; this is one after the last line
            # or at the commit (a user registering the same email, say, or a locked file).
            raise ArchiveError(f"the database refused the import: {_one_line(exc)}") from exc
        finally:
            importer.renderer.close()
    if not dry_run:
        await db.analyze()
    return importer.report


def _plural(kind: str, n: int) -> str:
    return kind if n == 1 else {"summary": "summaries"}.get(kind, kind + "s")


def _one_line(exc: BaseException, limit: int = 300) -> str:
    return " ".join(str(exc).split())[:limit]


# --------------------------------------------------------------------------------- reading


def _open_lines(
    path: Path, stack: ExitStack, line_bytes_max: int
) -> tuple[IO[bytes], Iterator[tuple[int, str]]]:
    """The raw file (whose position measures progress) and its numbered, decoded lines."""
    try:
        raw: IO[bytes] = stack.enter_context(path.open("rb"))
    except OSError as exc:
        raise ArchiveError(f"cannot read {path}: {exc.strerror or exc}") from None
    stream: IO[bytes] = raw
    if path.name.endswith(".gz"):
        gz = gzip.GzipFile(fileobj=raw, mode="rb")
        stack.callback(gz.close)
        stream = cast(IO[bytes], gz)  # typeshed's GzipFile is not an IO[bytes]; it reads as one
    return raw, _numbered(stream, line_bytes_max)


def _numbered(stream: IO[bytes], line_bytes_max: int) -> Iterator[tuple[int, str]]:
    """Numbered lines, each read with a bounded `readline`: iterating a file reads a whole
    line however long it is (a 300 MB line, or a gzip file that unpacks to gigabytes without
    a newline), and this reads at most `line_bytes_max` + 1 bytes before refusing it."""
    n = 0
    while True:
        try:
            data = stream.readline(line_bytes_max + 1)
        except (OSError, EOFError, zlib.error) as exc:
            # A damaged or truncated .gz file, or a read error.
            raise ArchiveError(f"line {n + 1}: cannot read the file: {_one_line(exc)}") from None
        if not data:
            return
        n += 1
        if len(data) > line_bytes_max and not data.endswith(b"\n"):
            raise ArchiveError(
                f"line {n}: longer than {line_bytes_max:,} bytes, the most a record within "
                "the forum's limits can take (limits.body_max in config.toml sets them)"
            )
        try:
            # A byte order mark is not UTF-8's business, but some editors write one.
            text = data.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise ArchiveError(f"line {n}: not valid UTF-8 (byte {exc.start + 1})") from None
        yield n, text.removesuffix("\n").removesuffix("\r")


# ------------------------------------------------------------------------------- rendering


#: What rendering one body gives: (html, text), or why it could not be rendered.
_Rendering = tuple[str, str] | str


def _render_one(body: str, max_html_bytes: int) -> _Rendering:
    """(html, text), or the reason the renderer refused or failed, in one line: whatever
    goes wrong in it (an exception, a body refused as too large or too costly) is the
    fault of the line that brought the body, and is reported with its number."""
    try:
        rendered = markdown.render(body, max_html_bytes=max_html_bytes)
        return rendered.html, rendered.text
    except Exception as exc:  # any failure of the renderer is the line's
        return _failure(exc)


def _failure(exc: BaseException) -> str:
    detail = _one_line(exc, 200)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _render_bodies(bodies: list[str], max_html_bytes: int) -> list[_Rendering]:
    """`_render_one` for each body: runs in a worker process, so it takes and returns plain
    data."""
    return [_render_one(body, max_html_bytes) for body in bodies]


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _Renderer:
    """Renders batches of bodies, in worker processes once a full batch shows the import is big."""

    def __init__(self, max_html_bytes: int) -> None:
        #: What one body may expand to, as in the forms (`limits.max_html_bytes`).
        self.max_html_bytes = max_html_bytes
        self.workers = _cpus()
        self._pool: Executor | None = None

    @property
    def depth(self) -> int:
        """Batches to keep rendering ahead of the one being written."""
        return 2 * self.workers if self._pool else 0

    def render(self, bodies: list[str]) -> Awaitable[list[_Rendering]]:
        loop = asyncio.get_running_loop()
        if self._pool is None and self.workers > 1 and len(bodies) >= BATCH_SIZE:
            # "spawn": forking a process that runs an event loop and database threads can
            # copy a held lock into the child.
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
            )
        if self._pool is not None:
            return loop.run_in_executor(self._pool, _render_bodies, bodies, self.max_html_bytes)
        done = loop.create_future()
        done.set_result(_render_bodies(bodies, self.max_html_bytes))
        return done

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


# --------------------------------------------------------------------------------- writing


@dataclass(slots=True)
class _PendingPost:
    line: int
    ref: str
    thread_id: int
    author_id: int
    # The parent's id, or (when the parent was itself still waiting in a batch as this line
    # was read) its archive id, resolved once the parent is written.
    parent_id: int | None
    parent_ref: str | None
    body: str
    created: datetime
    edited: datetime | None
    deleted: bool


@dataclass(slots=True)
class _PendingSummary:
    line: int
    thread_ref: str
    thread_id: int
    author_id: int
    body: str
    created: datetime
    updated: datetime | None


_Pending = _PendingPost | _PendingSummary


@dataclass(slots=True)
class _ThreadStats:
    """What a thread's denormalised columns need from its posts, gathered as they are read."""

    # The opening post is the first by (created, id); ids follow line order.
    opening: tuple[datetime, int] | None = None
    opening_deleted: bool = False
    live: int = 0
    last: datetime | None = None

    def add(self, created: datetime, line: int, deleted: bool) -> None:
        if self.opening is None or (created, line) < self.opening:
            self.opening = (created, line)
            self.opening_deleted = deleted
        self.live += not deleted
        self.last = created if self.last is None else max(self.last, created)


def _counts(live: int, opening_deleted: bool) -> int:
    """Replies: live posts other than the opening post (counted only while it is live)."""
    return max(0, live - (0 if opening_deleted else 1))


# Post ids are kept packed in one int per post (database id << 32 | thread id, database id 0
# while the post waits in a batch): a 200,000-post import keeps 200,000 of these, and one int
# takes about a third of the memory of a tuple of two.
def _pack(post_id: int, thread_id: int) -> int:
    return post_id << 32 | thread_id


def _unpack(packed: int) -> tuple[int, int]:
    return packed >> 32, packed & 0xFFFFFFFF


class _Index:
    """Archive key (slug, username, thread id) -> database id, for one kind of record."""

    def __init__(self, model: type[Model], key_field: str) -> None:
        self.model = model
        self.key_field = key_field
        #: Keys on lines read so far (created or skipped): a second one is a duplicate.
        self.in_file: dict[str, int] = {}
        self._in_db: dict[str, int] = {}

    async def find(self, key: str, conn: BaseDBAsyncClient) -> int | None:
        """The database id for `key`, from this file or already in the forum."""
        found = self.in_file.get(key) or self._in_db.get(key)
        if found is None:
            ids = await (
                self.model.filter(**{self.key_field: key})
                .using_db(conn)
                .limit(1)
                .values_list("id", flat=True)
            )
            if ids:
                found = self._in_db[key] = int(ids[0])  # type: ignore[call-overload]
        return found


def _q(value: str) -> str:
    """A value quoted as it is in the file, for messages."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unrenderable(line: int, label: str, name: str, reason: str) -> ArchiveError:
    return ArchiveError(
        f'line {line}: {label}: field "{name}" cannot be rendered as Markdown ({reason})'
    )


def _rendered(
    line: int, label: str, name: str, source: str, max_html_bytes: int
) -> tuple[str, str]:
    """(html, text) of a field rendered in this process; ArchiveError naming the line if
    the renderer fails or refuses it."""
    rendering = _render_one(source, max_html_bytes)
    if isinstance(rendering, str):
        raise _unrenderable(line, label, name, rendering)
    return rendering


def _pending_label(item: _Pending) -> str:
    if isinstance(item, _PendingPost):
        return f"post {_q(item.ref)}"
    return f"summary of thread {_q(item.thread_ref)}"


def _batch_error(batch: list[_Pending], what: str, exc: BaseException) -> ArchiveError:
    """A failure of a whole batch (written or rendered together): named by its lines."""
    first, last = batch[0].line, batch[-1].line
    lines = f"line {first}" if first == last else f"lines {first} to {last}"
    return ArchiveError(f"line {first}: {what} of {lines} ({_failure(exc)})")


class _Importer:
    def __init__(
        self, *, skip_existing: bool, grant_roles: bool, bounds: Bounds, name: str
    ) -> None:
        self.skip_existing = skip_existing
        self.grant_roles = grant_roles
        self.bounds = bounds
        self.name = name
        self.report = ImportReport()
        self.renderer = _Renderer(bounds.limits.max_html_bytes)
        self._conn: BaseDBAsyncClient | None = None
        self.orgs = _Index(Organisation, "slug")
        self.users = _Index(User, "username")
        self.networks = _Index(Network, "slug")
        self.threads = _Index(Thread, "ref")
        self.emails: set[str] = set()
        self.memberships: set[tuple[int, int]] = set()
        self.new_users: set[int] = set()  # created by this import: no session to tell
        self.new_networks: set[int] = set()
        self.network_info: dict[int, tuple[str, bool]] = {}  # id -> (slug, members only)
        self.thread_network: dict[int, int] = {}  # thread id -> network id, as learnt
        self.domains: dict[str, str] = {}  # email domain -> slug of its organisation
        self.had_users = False
        self.summaries: set[int] = set()
        self.posts: dict[str, int] = {}  # archive id -> _pack(database id, thread id)
        self.tags: dict[str, Tag] = {}
        self.stats: dict[int, _ThreadStats] = {}  # threads created by this import
        self.merged_threads: set[int] = set()  # threads already there that got new posts
        self.had_posts = False
        self.batch: list[_Pending] = []
        self.in_flight: deque[tuple[list[_Pending], Awaitable[list[_Rendering]]]] = deque()

    @property
    def conn(self) -> BaseDBAsyncClient:
        assert self._conn is not None
        return self._conn

    @conn.setter
    def conn(self, value: BaseDBAsyncClient) -> None:
        self._conn = value

    async def run(
        self,
        lines: Iterator[tuple[int, str]],
        raw: IO[bytes],
        progress: Callable[[int], None] | None,
    ) -> None:
        # Without posts in the forum, a post id can only clash with an earlier line: that
        # saves a query per post on the common import into an empty forum.
        self.had_posts = await Post.all().using_db(self.conn).exists()
        # A new admin in a forum that has accounts is a grant over what was there.
        self.had_users = await User.all().using_db(self.conn).exists()
        # Each domain belongs to one organisation, as the organisation form keeps it.
        for slug, domains in (
            await Organisation.all().using_db(self.conn).values_list("slug", "email_domains")
        ):
            for domain in domains or []:
                self.domains[str(domain)] = str(slug)
        n = 0
        for n, text in lines:
            if n == 1:
                parse_header(n, text)
            else:
                await self.add_line(n, parse_record(n, text, self.bounds))
            if progress is not None and n % PROGRESS_EVERY == 0:
                progress(raw.tell())
        if n == 0:
            raise ArchiveError("line 1: the file is empty; expected the archive header")
        await self.flush(final=True)
        await self.update_threads()
        self.report.lines = n
        await self.write_audit()
        if progress is not None:
            progress(raw.tell())

    async def add_line(self, line: int, record: Record) -> None:
        """`add`, with whatever goes wrong in it said as that line's fault, in one line.

        Every way a record can be wrong is checked before it is written; this is for what no
        check foresaw (a value the database refuses that the checks let through, a conflict
        with a write racing the import), so that bad input never ends in a traceback."""
        try:
            await self.add(line, record)
        except ArchiveError:
            raise
        except Exception as exc:  # reported; the transaction rolls back
            reason = _failure(exc)
            raise ArchiveError(f"line {line}: cannot import this record ({reason})") from None

    async def add(self, line: int, record: Record) -> None:
        match record:
            case OrganisationRecord():
                await self.organisation(line, record)
            case UserRecord():
                await self.user(line, record)
            case NetworkRecord():
                await self.network(line, record)
            case MembershipRecord():
                await self.membership(line, record)
            case ThreadRecord():
                await self.thread(line, record)
            case PostRecord():
                await self.post(line, record)
            case SummaryRecord():
                await self.summary(line, record)

    # -- checks shared by the record types

    def _duplicate(self, line: int, label: str, what: str) -> ArchiveError:
        return ArchiveError(f"line {line}: {label}: {what} appears on an earlier line too")

    def _exists(self, line: int, label: str, kind: str) -> None:
        """Count a record already in the forum as skipped; raise unless skipping."""
        if not self.skip_existing:
            raise ArchiveError(
                f"line {line}: {label}: already exists in the forum "
                "(import with --skip-existing to skip records that are already there)"
            )
        self.report.skipped[kind] += 1

    async def _ref(
        self, line: int, label: str, index: _Index, name: str, key: str, kind: str
    ) -> int:
        """The database id a field refers to; raises if no earlier line or the forum has it."""
        found = await index.find(key, self.conn)
        if found is None:
            raise ArchiveError(
                f"line {line}: {label}: {name} {_q(key)} is not {kind} "
                "on an earlier line or in the forum"
            )
        return found

    async def _author(self, line: int, label: str, username: str) -> int:
        return await self._ref(line, label, self.users, "author", username, "a user")

    async def _grant(
        self, line: int, label: str, grant: Grant, network_id: int | None = None
    ) -> None:
        """Note a role the import gives. One that reaches existing records is refused unless
        allowed, and else recorded as the admin pages record it (so that a network's history
        shows who was given a role in it, and how)."""
        self.report.grants.append(grant)
        if not grant.reaches_existing:
            return
        if not self.grant_roles:
            raise ArchiveError(
                f"line {line}: {label}: grants a role over what was already in the forum "
                f"({grant.what}); import with --grant-roles to allow that "
                "(--dry-run lists every grant first)"
            )
        if grant.network is None:
            await audit.record(
                actor=None,
                action="user.admin",
                using=self.conn,
                before={"user": grant.user, "admin": False},
                after={"user": grant.user, "admin": True, "how": "imported"},
            )
        else:
            await audit.record(
                actor=None,
                action="member.add",
                using=self.conn,
                network_id=network_id,
                after={"user": grant.user, "role": grant.role, "how": "imported"},
            )

    async def _network(self, network_id: int) -> tuple[str, bool]:
        """(slug, members only) of a network created here or already in the forum."""
        info = self.network_info.get(network_id)
        if info is None:
            slug, visibility = (
                await Network.filter(id=network_id)
                .using_db(self.conn)
                .values_list("slug", "visibility")
            )[0]
            info = self.network_info[network_id] = (str(slug), visibility == Visibility.MEMBERS)
        return info

    async def _network_of(self, thread_id: int) -> int:
        network_id = self.thread_network.get(thread_id)
        if network_id is None:
            found = (
                await Thread.filter(id=thread_id)
                .using_db(self.conn)
                .values_list("network_id", flat=True)
            )[0]
            network_id = self.thread_network[thread_id] = int(found)  # type: ignore[call-overload]
        return network_id

    async def _added(self, network_id: int, kind: str) -> None:
        """Count content added to a network that was already in the forum."""
        if network_id in self.new_networks:
            return
        slug, _ = await self._network(network_id)
        counts = self.report.added_to_existing.setdefault(slug, {})
        counts[kind] = counts.get(kind, 0) + 1

    # -- one method per record type

    async def organisation(self, line: int, r: OrganisationRecord) -> None:
        label = f"organisation {_q(r.slug)}"
        if r.slug in self.orgs.in_file:
            raise self._duplicate(line, label, f"slug {_q(r.slug)}")
        existing = await self.orgs.find(r.slug, self.conn)
        if existing is not None:
            self._exists(line, label, "organisation")
            self.orgs.in_file[r.slug] = existing
            return
        for domain in r.email_domains:
            owner = self.domains.get(domain)
            if owner is not None:
                # Self-registration picks the organisation by domain: two would be a coin toss.
                raise ArchiveError(
                    f"line {line}: {label}: email domain {_q(domain)} already belongs to "
                    f"organisation {_q(owner)}"
                )
            self.domains[domain] = r.slug
        org = await Organisation.create(
            slug=r.slug, name=r.name, email_domains=list(r.email_domains), using_db=self.conn
        )
        await changes.record("organisation", org.id, using=self.conn)
        self.orgs.in_file[r.slug] = org.id
        self.report.created["organisation"] += 1

    async def user(self, line: int, r: UserRecord) -> None:
        label = f"user {_q(r.username)}"
        if r.username in self.users.in_file:
            raise self._duplicate(line, label, f"username {_q(r.username)}")
        org_id = None
        if r.organisation is not None:
            org_id = await self._ref(
                line, label, self.orgs, "organisation", r.organisation, "an organisation"
            )
        existing = await self.users.find(r.username, self.conn)
        if existing is not None:
            self._exists(line, label, "user")
            self.users.in_file[r.username] = existing
            return
        email = r.email.lower()
        if email in self.emails:
            raise self._duplicate(line, label, f"email {_q(r.email)}")
        if await User.filter(email__iexact=r.email).using_db(self.conn).exists():
            raise ArchiveError(
                f"line {line}: {label}: email {_q(r.email)} belongs to another user in the forum"
            )
        if r.is_admin:
            # Into an empty forum (a restore) an admin rules only what the archive brings;
            # into one with accounts, over everyone already there.
            grant = Grant(line=line, user=r.username, role="admin", reaches_existing=self.had_users)
            await self._grant(line, label, grant)
        user = await User.create(
            username=r.username,
            email=r.email,
            display_name=r.display_name,
            # No password: the account cannot log in until `forum user set-password`.
            password_hash="",
            organisation_id=org_id,
            is_admin=r.is_admin,
            created_at=r.created or utcnow(),
            # Vouched for by the forum it was exported from and the admin importing it.
            email_verified_at=r.created or utcnow(),
            using_db=self.conn,
        )
        self.users.in_file[r.username] = user.id
        self.new_users.add(user.id)
        self.emails.add(email)
        self.report.created["user"] += 1

    async def network(self, line: int, r: NetworkRecord) -> None:
        label = f"network {_q(r.slug)}"
        if r.slug in self.networks.in_file:
            raise self._duplicate(line, label, f"slug {_q(r.slug)}")
        existing = await self.networks.find(r.slug, self.conn)
        if existing is not None:
            self._exists(line, label, "network")
            self.networks.in_file[r.slug] = existing
            return
        network = await Network.create(
            slug=r.slug,
            name=r.name,
            description=r.description,
            description_html=_rendered(
                line, label, "description", r.description, self.bounds.limits.max_html_bytes
            )[0],
            visibility=r.visibility,
            # The format has no creation time for networks: they begin here.
            created_at=utcnow(),
            using_db=self.conn,
        )
        self.networks.in_file[r.slug] = network.id
        self.new_networks.add(network.id)
        self.network_info[network.id] = (r.slug, r.visibility == Visibility.MEMBERS)
        await changes.record("network", network.id, using=self.conn)
        self.report.created["network"] += 1

    async def membership(self, line: int, r: MembershipRecord) -> None:
        label = f"membership of {_q(r.user)} in {_q(r.network)}"
        network_id = await self._ref(line, label, self.networks, "network", r.network, "a network")
        user_id = await self._ref(line, label, self.users, "user", r.user, "a user")
        key = (network_id, user_id)
        if key in self.memberships:
            raise self._duplicate(line, label, "this membership")
        self.memberships.add(key)
        exists = (
            await Membership.filter(network_id=network_id, user_id=user_id)
            .using_db(self.conn)
            .exists()
        )
        if exists:
            self._exists(line, label, "membership")
            return
        slug, members_only = await self._network(network_id)
        existing_account = user_id not in self.new_users
        existing_network = network_id not in self.new_networks
        grant = Grant(
            line=line,
            user=r.user,
            role=Role(r.role).value,
            network=slug,
            members_only=members_only,
            existing_account=existing_account,
            existing_network=existing_network,
            reaches_existing=existing_account or existing_network,
        )
        await self._grant(line, label, grant, network_id)
        await Membership.create(
            network_id=network_id,
            user_id=user_id,
            role=r.role,
            created_at=utcnow(),
            using_db=self.conn,
        )
        if user_id not in self.new_users:
            await account_changed(user_id, using=self.conn)
        self.report.created["membership"] += 1

    async def thread(self, line: int, r: ThreadRecord) -> None:
        label = f"thread {_q(r.id)}"
        if r.id in self.threads.in_file:
            raise self._duplicate(line, label, f"id {_q(r.id)}")
        network_id = await self._ref(line, label, self.networks, "network", r.network, "a network")
        author_id = await self._author(line, label, r.author)
        existing = await self.threads.find(r.id, self.conn)
        if existing is not None:
            self._exists(line, label, "thread")
            self.threads.in_file[r.id] = existing
            return
        thread = await Thread.create(
            ref=r.id,
            network_id=network_id,
            title=r.title,
            slug=slugify(r.title),
            author_id=author_id,
            created_at=r.created,
            # Until its posts are in: see update_threads.
            last_activity_at=r.created,
            reply_count=0,
            pinned=r.pinned,
            locked=r.locked,
            using_db=self.conn,
        )
        if r.tags:
            await thread.tags.add(*await self._tags(r.tags), using_db=self.conn)
        self.threads.in_file[r.id] = thread.id
        self.thread_network[thread.id] = network_id
        await self._added(network_id, "thread")
        self.stats[thread.id] = _ThreadStats()
        await changes.record("thread", thread.id, using=self.conn)
        self.report.created["thread"] += 1

    async def _tags(self, slugs: tuple[str, ...]) -> list[Tag]:
        missing = [s for s in slugs if s not in self.tags]
        if missing:
            for tag in await Tag.filter(slug__in=missing).using_db(self.conn):
                self.tags[tag.slug] = tag
            for slug in missing:
                if slug not in self.tags:
                    self.tags[slug] = await Tag.create(slug=slug, using_db=self.conn)
        return [self.tags[s] for s in slugs]

    async def post(self, line: int, r: PostRecord) -> None:
        label = f"post {_q(r.id)}"
        if r.id in self.posts:
            raise self._duplicate(line, label, f"id {_q(r.id)}")
        thread_id = await self._ref(line, label, self.threads, "thread", r.thread, "a thread")
        author_id = await self._author(line, label, r.author)
        parent_id, parent_ref = None, None
        if r.parent is not None:
            parent_id, parent_ref = await self._parent(line, label, r, thread_id)
        if self.had_posts:
            rows = await Post.filter(ref=r.id).using_db(self.conn).values_list("id", "thread_id")
            if rows:
                self._exists(line, label, "post")
                self.posts[r.id] = _pack(*rows[0])
                return
        self.posts[r.id] = _pack(0, thread_id)
        await self._added(await self._network_of(thread_id), "post")
        stats = self.stats.get(thread_id)
        if stats is not None:
            stats.add(r.created, line, r.deleted)
        else:
            self.merged_threads.add(thread_id)
        self.report.created["post"] += 1
        await self._queue(
            _PendingPost(
                line=line,
                ref=r.id,
                thread_id=thread_id,
                author_id=author_id,
                parent_id=parent_id,
                parent_ref=parent_ref,
                body=r.body,
                created=r.created,
                edited=r.edited,
                deleted=r.deleted,
            )
        )

    async def _parent(
        self, line: int, label: str, r: PostRecord, thread_id: int
    ) -> tuple[int | None, str | None]:
        """(parent id, None), or (None, parent's archive id) while the parent waits in a batch.

        Raises ArchiveError unless the parent is an earlier post of the same thread.
        """
        assert r.parent is not None
        packed = self.posts.get(r.parent)
        if packed is not None:
            parent_id, parent_thread = _unpack(packed)
            if parent_thread == thread_id:
                return (parent_id, None) if parent_id else (None, r.parent)
        elif self.had_posts:
            rows = (
                await Post.filter(ref=r.parent, thread_id=thread_id)
                .using_db(self.conn)
                .values_list("id", flat=True)
            )
            if rows:
                return int(rows[0]), None  # type: ignore[call-overload]
        raise ArchiveError(
            f"line {line}: {label}: parent {_q(r.parent)} is not an earlier post "
            f"of thread {_q(r.thread)}"
        )

    async def summary(self, line: int, r: SummaryRecord) -> None:
        label = f"summary of thread {_q(r.thread)}"
        thread_id = await self._ref(line, label, self.threads, "thread", r.thread, "a thread")
        author_id = await self._author(line, label, r.author)
        if thread_id in self.summaries:
            raise self._duplicate(line, label, f"a summary of thread {_q(r.thread)}")
        self.summaries.add(thread_id)
        if await Summary.filter(thread_id=thread_id).using_db(self.conn).exists():
            self._exists(line, label, "summary")
            return
        self.report.created["summary"] += 1
        await self._added(await self._network_of(thread_id), "summary")
        await self._queue(
            _PendingSummary(
                line=line,
                thread_ref=r.thread,
                thread_id=thread_id,
                author_id=author_id,
                body=r.body,
                created=r.created,
                updated=r.updated,
            )
        )

    # -- batches of posts and summaries

    async def _queue(self, item: _Pending) -> None:
        self.batch.append(item)
        if len(self.batch) >= BATCH_SIZE:
            await self.flush()

    async def flush(self, *, final: bool = False) -> None:
        """Send the current batch to be rendered; write the batches whose rendering is done
        (all of them if `final`), oldest first, so that parents are written before replies."""
        if self.batch:
            batch, self.batch = self.batch, []
            self.in_flight.append((batch, self.renderer.render([i.body for i in batch])))
        while self.in_flight and (final or len(self.in_flight) > self.renderer.depth):
            batch, rendering = self.in_flight.popleft()
            try:
                rendered = await rendering
            except Exception as exc:  # a worker that died, or could not start
                raise _batch_error(batch, "cannot render the bodies", exc) from None
            try:
                await self._write(batch, rendered)
            except ArchiveError:
                raise
            except Exception as exc:  # see _Importer.add_line
                raise _batch_error(batch, "the database refused the bodies", exc) from None

    async def _write(self, batch: list[_Pending], rendered: list[_Rendering]) -> None:
        posts: list[Post] = []
        pending_posts: list[_PendingPost] = []
        summaries: list[Summary] = []
        for item, rendering in zip(batch, rendered, strict=True):
            if isinstance(rendering, str):
                raise _unrenderable(item.line, _pending_label(item), "body", rendering)
            html, text = rendering
            if isinstance(item, _PendingSummary):
                summaries.append(
                    Summary(
                        thread_id=item.thread_id,
                        author_id=item.author_id,
                        body=item.body,
                        body_html=html,
                        body_text=text,
                        created_at=item.created,
                        updated_at=item.updated,
                    )
                )
                continue
            if item.parent_ref is not None:
                # Written in an earlier batch by now, or else in this one (set below).
                parent_id = _unpack(self.posts[item.parent_ref])[0]
                if parent_id:
                    item.parent_id, item.parent_ref = parent_id, None
            pending_posts.append(item)
            posts.append(
                Post(
                    ref=item.ref,
                    thread_id=item.thread_id,
                    author_id=item.author_id,
                    parent_id=item.parent_id,
                    body=item.body,
                    body_html=html,
                    body_text=text,
                    created_at=item.created,
                    edited_at=item.edited,
                    deleted=item.deleted,
                    deleted_at=(item.edited or item.created) if item.deleted else None,
                )
            )
        if posts:
            await self._write_posts(pending_posts, posts)
        if summaries:
            await Summary.bulk_create(summaries, using_db=self.conn)
            thread_ids = [s.thread_id for s in summaries]
            ids = await (
                Summary.filter(thread_id__in=thread_ids)
                .using_db(self.conn)
                .values_list("id", flat=True)
            )
            await self._record("summary", ids)  # type: ignore[arg-type]

    async def _write_posts(self, items: list[_PendingPost], posts: list[Post]) -> None:
        await Post.bulk_create(posts, using_db=self.conn)
        # bulk_create does not return ids; the archive ids are unique, so ask for them.
        rows = await (
            Post.filter(ref__in=[i.ref for i in items]).using_db(self.conn).values_list("ref", "id")
        )
        ids: dict[str, int] = {str(ref): int(pk) for ref, pk in rows}
        for item in items:
            self.posts[item.ref] = _pack(ids[item.ref], item.thread_id)
        # Replies to a post of the same batch: their parent has an id only now.
        late = [
            Post(id=ids[i.ref], parent_id=_unpack(self.posts[i.parent_ref])[0])
            for i in items
            if i.parent_ref is not None
        ]
        if late:
            await Post.bulk_update(late, fields=["parent_id"], using_db=self.conn)
        await self._record("post", [ids[i.ref] for i in items])

    async def _record(self, kind: str, ids: list[int]) -> None:
        """Add the batch to the change log in one `bulk_create`: a `record` per row was a third
        of the database time of an import."""
        await changes.record_many(kind, ids, using=self.conn)

    # -- after the last line

    async def write_audit(self) -> None:
        """One `archive.import` entry for the whole import: what it created and skipped, the
        roles it granted and what it added to networks that were already in the forum."""
        report = self.report
        listed = report.grant_lines()
        after: dict[str, object] = {
            "file": self.name,
            "created": {k: n for k, n in report.created.items() if n},
            "skipped": {k: n for k, n in report.skipped.items() if n},
            "grants": listed,
        }
        if len(report.grants) > len(listed):
            after["grants_not_listed"] = len(report.grants) - len(listed)
        if report.added_to_existing:
            after["added_to_existing_networks"] = {
                slug: ", ".join(f"{n:,} {_plural(kind, n)}" for kind, n in counts.items())
                for slug, counts in sorted(report.added_to_existing.items())
            }
        options = [
            flag
            for flag, on in (
                ("--skip-existing", self.skip_existing),
                ("--grant-roles", self.grant_roles),
            )
            if on
        ]
        after["options"] = " ".join(options) or "(none)"
        await audit.record(actor=None, action="archive.import", using=self.conn, after=after)

    async def update_threads(self) -> None:
        """Set each touched thread's reply count and last activity from its posts."""
        for thread_id, stats in self.stats.items():
            if stats.opening is None:
                continue  # no posts: as created
            assert stats.last is not None
            await (
                Thread.filter(id=thread_id)
                .using_db(self.conn)
                .update(
                    reply_count=_counts(stats.live, stats.opening_deleted),
                    last_activity_at=stats.last,
                )
            )
        for thread_id in sorted(self.merged_threads):
            # Posts merged into a thread that was already there: count from the database.
            rows = await (
                Post.filter(thread_id=thread_id)
                .using_db(self.conn)
                .order_by("created_at", "id")
                .values_list("created_at", "deleted")
            )
            merged = _ThreadStats()
            for order, (created, deleted) in enumerate(rows):
                merged.add(created, order, bool(deleted))
            assert merged.last is not None
            await (
                Thread.filter(id=thread_id)
                .using_db(self.conn)
                .update(
                    reply_count=_counts(merged.live, merged.opening_deleted),
                    last_activity_at=merged.last,
                )
            )
