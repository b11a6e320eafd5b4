"""Load a benchmark corpus into a forum database through the archive importer.

    .venv/bin/python bench/data.py --scale small --out DIR [--database-url URL]
    .venv/bin/python bench/data.py --scale small --out DIR --reindex   # the index only, again

Writes the archive of the scale (bench/corpus.py: deterministic, the same file every time)
to DIR/archive.jsonl, migrates the database (default: a new SQLite file DIR/forum.sqlite3; a
PostgreSQL URL names a database that is created if it does not exist, and must be empty),
imports the archive with `forum.archive.import_archive` (bodies rendered, change log written,
as `forum import` does), gives the bench users a password, rebuilds the search index into
DIR/index, and writes DIR/manifest.json: what was written, how long each step took, and the
pages and accounts the HTTP benchmark uses. It prints the same.

| scale  | threads | posts     | users | networks |
| ------ | ------: | --------: | ----: | -------: |
| tiny   | 200     | 2,000     | 56    | 10       |  (for trying the scripts out)
| small  | 2,000   | 20,000    | 100   | 10       |
| medium | 20,000  | 200,000   | 500   | 10       |
| large  | 200,000 | 2,000,000 | 5,000 | 10       |

Every scale includes three fixed threads in the first network (data-leaders), identical at
every scale: `t-bench-50` (50 posts), `t-bench-500` (500 posts) and `t-bench-writes` (one
post, for the write benchmark), and 16 accounts `bench00`…`bench15` (members of every
network) whose password is in the manifest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from forum import db
from forum.accounts import services as accounts
from forum.accounts.models import User
from forum.archive import import_archive
from forum.config import Settings, load_settings
from forum.networks.models import Network
from forum.search import indexer
from forum.threads.models import Thread
from forum.web.urls import thread_url

from corpus import FixedThread, Shape, write_archive

FIXED = (
    FixedThread("t-bench-50", 50),
    FixedThread("t-bench-500", 500),
    FixedThread("t-bench-writes", 1, summary=False),
)
BENCH_USERS = 16
# Only for the bench accounts of a benchmark database; never a real forum's.
PASSWORD = "bench-readers-load-the-pages-7q"


def _shape(threads: int, posts: int, users: int) -> Shape:
    return Shape(
        threads=threads,
        posts=posts,
        users=users,
        networks=10,
        fixed=FIXED,
        bench_users=BENCH_USERS,
    )


SCALES = {
    "tiny": _shape(200, 2_000, 56),
    "small": _shape(2_000, 20_000, 100),
    "medium": _shape(20_000, 200_000, 500),
    "large": _shape(200_000, 2_000_000, 5_000),
}


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://", "asyncpg://"))


def _asyncpg_url(url: str, database: str | None = None) -> str:
    parts = urlsplit(url)
    path = f"/{database}" if database is not None else parts.path
    return urlunsplit(("postgresql", parts.netloc, path, parts.query, ""))


def _database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name or not all(c.isalnum() or c == "_" for c in name):
        raise SystemExit(f"data.py: {url!r}: expected a database name of letters, digits and _")
    return name


async def create_database(url: str, *, template: str | None = None) -> bool:
    """Create the PostgreSQL database `url` names (from `template` if given) unless it
    exists; True if it was created."""
    name = _database_name(url)
    conn = await asyncpg.connect(_asyncpg_url(url, "postgres"))
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        extra = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{extra}')
        return True
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    """Drop the PostgreSQL database `url` names, if it exists."""
    conn = await asyncpg.connect(_asyncpg_url(url, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{_database_name(url)}" WITH (FORCE)')
    finally:
        await conn.close()


def settings_for(database_url: str, folder: Path) -> Settings:
    return load_settings(
        env={
            "FORUM_DATABASE_URL": database_url,
            "FORUM_SEARCH_INDEX_DIR": str(folder / "index"),
            "FORUM_SECURITY_DATA_DIR": str(folder / "data"),
        }
    )


def _progress(size: int, label: str) -> Callable[[int], None]:
    shown = 0  # tenths reported so far

    def report(done: int) -> None:
        nonlocal shown
        if done * 10 // size > shown:
            shown = done * 10 // size
            print(f"  {label} {shown * 10}%", file=sys.stderr, flush=True)

    return report


async def load(
    scale: str, database_url: str, folder: Path, *, reindex: bool = False
) -> dict[str, object]:
    """Write, import and index the corpus of `scale`; return the manifest (also written).
    With `reindex`, the database already holds the corpus (an earlier load, or one stopped
    after its import): write the archive again (the same file), then only index it anew."""
    shape = SCALES[scale]
    timings: dict[str, float] = {}
    archive = folder / "archive.jsonl"
    started = time.perf_counter()
    written = write_archive(archive, shape)
    timings["archive"] = time.perf_counter() - started
    counts = dict(written.counts)
    print(
        f"archive      {archive} ({archive.stat().st_size / 1e6:.1f} MB in "
        f"{timings['archive']:.1f} s): {counts['thread']:,} threads, {counts['post']:,} posts "
        f"({written.deleted:,} deleted), {counts['summary']:,} summaries, {counts['user']:,} "
        f"users, {counts['network']} networks, {counts['membership']:,} memberships",
        flush=True,
    )

    if is_postgres(database_url) and await create_database(database_url):
        print(f"database     created {_database_name(database_url)}")
    settings = settings_for(database_url, folder)
    await db.upgrade(settings)
    async with db.opened(settings):
        if reindex:
            if not await User.exists():
                raise SystemExit(f"data.py --reindex: {database_url} holds no corpus")
        elif await User.exists():
            raise SystemExit(f"data.py: {database_url} is not empty: load into a new database")
        else:
            started = time.perf_counter()
            size = archive.stat().st_size
            report = await import_archive(archive, progress=_progress(size, "imported"))
            timings["import"] = time.perf_counter() - started
            created = report.created
            print(
                f"import       {created['post']:,} posts, {created['thread']:,} threads, "
                f"{created['summary']:,} summaries in {timings['import']:.1f} s "
                f"= {created['post'] / timings['import']:,.0f} posts/s",
                flush=True,
            )

        started = time.perf_counter()
        for name in written.bench_users:
            user = await User.get(username=name)
            await accounts.set_password(user=user, password=PASSWORD)
        timings["passwords"] = time.perf_counter() - started

        started = time.perf_counter()
        shutil.rmtree(settings.index_dir, ignore_errors=True)
        await indexer.rebuild(settings.index_dir)
        timings["index"] = time.perf_counter() - started
        print(f"index        rebuilt in {timings['index']:.1f} s ({settings.index_dir})")

        first = await Network.get(slug=written.networks[0])
        threads = {t.ref: t for t in await Thread.filter(ref__in=[f.ref for f in FIXED]).all()}
        pages = {
            "home": "/",
            "network": f"/n/{first.slug}",
            "thread_50": thread_url(threads["t-bench-50"], first),
            "thread_500": thread_url(threads["t-bench-500"], first),
            "kb": "/kb",
            "search": "/api/v1/search",
        }
        writes = threads["t-bench-writes"]
    total = sum(timings.values())
    print(f"load         {total:.1f} s in all (archive, import, passwords, index)")
    manifest: dict[str, object] = {
        "scale": scale,
        "shape": asdict(shape),
        "database_url": database_url,
        "index_dir": str(settings.index_dir),
        "written": counts,
        "deleted": written.deleted,
        "seconds": {k: round(v, 2) for k, v in timings.items()},
        "bench_users": written.bench_users,
        "password": PASSWORD,
        "pages": pages,
        "writes": {"thread_id": writes.id, "network": first.slug},
        "loaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=list(SCALES), default="small")
    parser.add_argument("--out", type=Path, required=True, help="a new or empty folder")
    parser.add_argument(
        "--database-url",
        help="an empty database (default: a new SQLite file in --out); a PostgreSQL "
        "database is created if it does not exist",
    )
    parser.add_argument(
        "--reindex",
        action="store_true",
        help="--out holds this scale's database already: build its search index again (after a "
        "change to how the index is written) and write the manifest",
    )
    args = parser.parse_args()
    if not args.reindex and args.out.exists() and any(args.out.iterdir()):
        parser.error(f"--out {args.out}: the folder must be new or empty")
    args.out.mkdir(parents=True, exist_ok=True)
    folder = args.out.resolve()
    url = args.database_url or f"sqlite://{folder}/forum.sqlite3"
    asyncio.run(load(args.scale, url, folder, reindex=args.reindex))


# The guard matters: the importer renders in worker processes started with "spawn", which
# import this file again.
if __name__ == "__main__":
    main()
