"""The synthetic archive the benchmarks load: one deterministic generator, in the archive format.

    from corpus import FixedThread, Shape, write_archive

    written = write_archive(path, Shape(threads=2_000, posts=20_000, users=100, networks=10))

Bodies are Markdown as people write them (paragraphs, sometimes a quote, a list, a link, a
code block or a mention) over a small vocabulary of the networks' work; replies mostly answer
one of the last few posts. The same shape and seed always give the same file.

`Shape.fixed` adds threads whose content does not depend on the shape: the same authors,
bodies and replies at every scale (they are drawn from their own seed and from the first 40
users, which every scale has), so that a page showing one of them compares across scales.
`Shape.bench_users` adds accounts `bench00`, `bench01`, … that are members of every network,
for the benchmarks that log in.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from forum.archive.records import (
    VERSION,
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
from forum.networks.models import Role, Visibility

VOCABULARY = (
    "data team hub spoke governance borough council analytics pipeline model ethics "
    "procurement sensor street inclusion digital service research open source package "
    "sandbox repository retention schedule records information rights officer network "
    "dashboard warehouse quality standard metadata catalogue partnership funding pilot "
    "resident outcome evidence budget contract supplier licence cloud security review"
)
WORDS = VOCABULARY.split()
NETWORKS = [
    ("data-leaders", "Data Leaders Network", Visibility.PUBLIC),
    ("data-science", "Data Science Network", Visibility.PUBLIC),
    ("digital-inclusion", "Digital Inclusion", Visibility.PUBLIC),
    ("info-governance", "Information Governance", Visibility.MEMBERS),
    ("smart-streets", "Smart Streets and IoT", Visibility.PUBLIC),
    ("digital-procurement", "Digital Procurement", Visibility.MEMBERS),
    ("ai-ethics", "AI and Data Ethics", Visibility.PUBLIC),
    ("open-data", "Open Data", Visibility.PUBLIC),
    ("cyber-security", "Cyber Security", Visibility.MEMBERS),
    ("geospatial", "Geospatial and Mapping", Visibility.PUBLIC),
]
TAGS = ["data", "ethics", "iot", "procurement", "r"]
ORGANISATIONS = 12
# Threads start evenly over ten years whatever their number, so that a larger forum is a
# denser one (more threads a month), not one that runs into the future.
START = datetime(2016, 1, 4, 9, 0, tzinfo=UTC)
SPAN = timedelta(days=10 * 365)
# The fixed threads' authors: users every shape has (see Shape.users).
FIXED_AUTHORS = 40
BENCH_PREFIX = "bench"


@dataclass(frozen=True)
class FixedThread:
    """A thread of exactly `posts` posts, identical at every scale, in the first network."""

    ref: str  # the archive's id, kept by the forum as Thread.ref
    posts: int
    summary: bool = True


@dataclass(frozen=True)
class Shape:
    """How much to write. `threads`, `posts` and `users` are totals: the fixed threads and
    the bench users are among them."""

    threads: int
    posts: int
    users: int
    networks: int = 7
    fixed: tuple[FixedThread, ...] = ()
    bench_users: int = 0

    def __post_init__(self) -> None:
        regular_threads = self.threads - len(self.fixed)
        regular_posts = self.posts - sum(f.posts for f in self.fixed)
        if not 1 <= self.networks <= len(NETWORKS):
            raise ValueError(f"networks: 1 to {len(NETWORKS)}")
        if self.users - self.bench_users < FIXED_AUTHORS:
            raise ValueError(f"at least {FIXED_AUTHORS} users besides the bench users")
        if regular_threads < 1 or regular_posts < regular_threads:
            raise ValueError("at least one post for every thread besides the fixed ones")

    @classmethod
    def for_posts(cls, posts: int) -> Shape:
        """About 20 posts a thread and 100 posts a user (at least 40), in seven networks."""
        return cls(threads=max(1, posts // 20), posts=posts, users=max(40, posts // 100))


@dataclass
class Written:
    """What an archive holds: records by type, deleted posts, the bench users."""

    counts: Counter[str] = field(default_factory=Counter)
    deleted: int = 0
    bench_users: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)


def sentence(rng: random.Random, low: int = 8, high: int = 24) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    if rng.random() < 0.3:
        words[rng.randrange(len(words))] = f"**{rng.choice(WORDS)}**"
    return " ".join(words).capitalize() + "."


def body(rng: random.Random, usernames: list[str]) -> str:
    """A post as people write them: paragraphs, sometimes a quote, list, link, code or mention."""
    parts = [" ".join(sentence(rng) for _ in range(rng.randint(2, 4))) for _ in range(2, 5)]
    if rng.random() < 0.25:
        parts.insert(0, "> " + sentence(rng))
    if rng.random() < 0.3:
        parts.append("\n".join(f"- {sentence(rng, 3, 8)}" for _ in range(rng.randint(2, 5))))
    if rng.random() < 0.2:
        parts.append(f"Thanks @{rng.choice(usernames)}, see [the guide](https://example.org/g).")
    if rng.random() < 0.1:
        parts.append("```python\nimport pandas as pd\n\ndf = pd.read_csv('x.csv')\n```")
    if rng.random() < 0.1:
        parts.append("More at https://www.example.gov.uk/data/standards")
    return "\n\n".join(parts)


def thread_sizes(rng: random.Random, threads: int, posts: int) -> list[int]:
    """`threads` sizes of at least 1 that add up to exactly `posts`: exponentially
    distributed (many short threads, a few long ones), then nudged to the total."""
    mean_extra = posts / threads - 1
    if mean_extra <= 0:
        return [1] * threads
    sizes = [1 + int(rng.expovariate(1 / mean_extra)) for _ in range(threads)]
    extra = sum(sizes) - threads
    want = posts - threads
    if extra:
        sizes = [1 + (s - 1) * want // extra for s in sizes]
    short = posts - sum(sizes)  # rounding down leaves a few posts to hand out
    for _ in range(short):
        sizes[rng.randrange(threads)] += 1
    return sizes


class _Writer:
    """Writes records one a line and counts them by type ("post", "thread", …)."""

    def __init__(self, out: TextIO, written: Written) -> None:
        self.out = out
        self.written = written

    def put(self, record: Record | Header) -> None:
        self.out.write(dumps(record) + "\n")
        if not isinstance(record, Header):
            self.written.counts[type(record).__name__.removesuffix("Record").lower()] += 1


def _thread(
    archive: _Writer,
    rng: random.Random,
    *,
    ref: str,
    network: str,
    people: list[str],
    mentionable: list[str],
    created: datetime,
    size: int,
    post_prefix: str,
    first_post: int,
    summary: bool,
    plain: bool = False,
) -> None:
    """One thread, its posts and perhaps its summary. `plain`: never pinned, locked or
    with deleted replies (the fixed threads, which benchmarks read and reply to)."""
    tags = tuple(sorted(rng.sample(TAGS, 2)))
    pinned = not plain and rng.random() < 0.05
    locked = not plain and rng.random() < 0.05
    title = sentence(rng, 4, 10).rstrip(".") + "?"
    archive.put(
        ThreadRecord(ref, network, title, rng.choice(people), created, tags, pinned, locked)
    )
    refs: list[str] = []
    when = created
    for i in range(size):
        post_ref = f"{post_prefix}{first_post + i}"
        parent = None
        if refs and rng.random() < 0.7:
            # Mostly answering one of the last few posts, sometimes an older one.
            parent = refs[-rng.randint(1, min(3, len(refs)))]
            if rng.random() < 0.2:
                parent = rng.choice(refs)
        edited = when + timedelta(minutes=30) if rng.random() < 0.05 else None
        deleted = i > 0 and rng.random() < 0.02 and not plain
        archive.written.deleted += deleted
        author = rng.choice(people)
        archive.put(
            PostRecord(post_ref, ref, author, when, body(rng, mentionable), parent, edited, deleted)
        )
        refs.append(post_ref)
        when += timedelta(minutes=rng.randint(1, 240))
    if summary:
        archive.put(SummaryRecord(ref, people[0], when, body(rng, mentionable)))


def write_archive(path: Path, shape: Shape, seed: int = 1) -> Written:
    """Write the archive of `shape` to `path` (JSON Lines, version 1); say what it holds."""
    rng = random.Random(seed)
    n_bench = shape.bench_users
    usernames = [f"user{i:05d}" for i in range(shape.users - n_bench)]
    bench = [f"{BENCH_PREFIX}{i:02d}" for i in range(n_bench)]
    networks = NETWORKS[: shape.networks]
    written = Written(bench_users=bench, networks=[slug for slug, _, _ in networks])
    with path.open("w", encoding="utf-8") as out:
        archive = _Writer(out, written)
        archive.put(Header(version=VERSION, exported_at=START + SPAN + timedelta(days=365)))
        orgs = [f"borough-{i:02d}" for i in range(ORGANISATIONS)]
        for i, slug in enumerate(orgs):
            archive.put(OrganisationRecord(slug, f"London Borough {i}", (f"{slug}.gov.uk",)))
        for i, name in enumerate(usernames):
            org = orgs[i % len(orgs)]
            archive.put(UserRecord(name, f"User {i}", f"{name}@{org}.gov.uk", org, i == 0, START))
        for i, name in enumerate(bench):
            org = orgs[i % len(orgs)]
            archive.put(
                UserRecord(name, f"Bench Reader {i}", f"{name}@{org}.gov.uk", org, False, START)
            )
        for slug, name, visibility in networks:
            archive.put(NetworkRecord(slug, name, f"The *{name}*: {sentence(rng)}", visibility))
        members: dict[str, list[str]] = {}
        for slug, _, _ in networks:
            chosen = sorted(rng.sample(usernames, k=max(5, len(usernames) // 3)))
            members[slug] = chosen
            for i, name in enumerate(chosen):
                role = Role.FACILITATOR if i == 0 else Role.MEMBER
                archive.put(MembershipRecord(slug, name, role))
            for name in bench:
                archive.put(MembershipRecord(slug, name, Role.MEMBER))

        regular = shape.threads - len(shape.fixed)
        sizes = thread_sizes(rng, regular, shape.posts - sum(f.posts for f in shape.fixed))
        step = SPAN / regular
        written_posts = 0
        for thread_no, size in enumerate(sizes, start=1):
            network = rng.choice(networks)[0]
            created = (START + step * (thread_no - 1) + rng.random() * step).replace(microsecond=0)
            _thread(
                archive,
                rng,
                ref=f"t-{thread_no}",
                network=network,
                people=members[network],
                mentionable=usernames,
                created=created,
                size=size,
                post_prefix="p-",
                first_post=written_posts + 1,
                summary=rng.random() < 0.2,
            )
            written_posts += size

        # The fixed threads come last (the newest), each from its own seed.
        first = networks[0][0]
        authors = usernames[:FIXED_AUTHORS]
        for n, fixed in enumerate(shape.fixed):
            own = random.Random(f"{seed}:{fixed.ref}")
            _thread(
                archive,
                own,
                ref=fixed.ref,
                network=first,
                people=authors,
                mentionable=authors,
                created=START + SPAN + timedelta(days=n),
                size=fixed.posts,
                post_prefix=f"{fixed.ref}-p-",
                first_post=1,
                summary=fixed.summary,
                plain=True,
            )
    return written
