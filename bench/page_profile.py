"""Where a page's time goes: requests one page in-process, without HTTP, and profiles it.

    .venv/bin/python bench/page_profile.py DIR PAGE [--requests N] [--login] [--sql] [--cold]
                                                   [--profile]

DIR is a folder `bench/data.py` loaded (its manifest names the database, the index and the
pages); PAGE is one of the manifest's pages (home, network, thread_50, thread_500, kb, search)
or a path. The forum app runs in this process behind httpx's ASGI transport, one request at a
time, with its background loops off. Prints the mean milliseconds per request, the CPU
milliseconds of this process (aiosqlite's thread included), PostgreSQL's (when the database is
a PostgreSQL server on this machine) and the SQL queries per request; with --sql, one
request's statements; with --cold, each request as the first after a write (nothing kept
until the change log moves); with --profile, cProfile's top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import os
import pstats
import time
from pathlib import Path

import httpx

from serving import postgres_cpu, postgres_cpu_since


def settings_env(manifest: dict[str, object], folder: Path) -> None:
    os.environ["FORUM_DATABASE_URL"] = str(manifest["database_url"])
    os.environ["FORUM_SEARCH_INDEX_DIR"] = str(manifest["index_dir"])
    os.environ["FORUM_SEARCH_RUN_INDEXER"] = "no"
    os.environ["FORUM_SECURITY_DATA_DIR"] = str(folder / "profile-data")
    os.environ["FORUM_SECURITY_SECRET_KEY"] = "page-profile-not-secret-" + "x" * 16


class QueryCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        self.statements.append(record.getMessage())


async def run(args: argparse.Namespace) -> None:
    manifest = json.loads((args.data / "manifest.json").read_text())
    settings_env(manifest, args.data)
    from forum import db
    from forum.app import create_app, settle_gc
    from forum.changes import forget_everything_kept
    from forum.config import load_settings

    settings = load_settings()
    path = manifest["pages"].get(args.page, args.page)
    if args.page == "search":
        path += "?q=dashboard"
    await db.init(settings)
    app = create_app(settings, manage_db=False)
    if not args.default_gc:
        settle_gc()  # as `forum serve` does once started
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        if args.login:
            form = await client.get("/login")
            token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
            data = {"csrf_token": token, "login": "bench00", "password": manifest["password"]}
            await client.post("/login", data=data)
        for _ in range(3):  # warm caches (templates, search reader)
            response = await client.get(path)
            response.raise_for_status()
        counter = QueryCounter()
        sql_log = logging.getLogger("tortoise.db_client")
        sql_log.setLevel(logging.DEBUG)
        sql_log.addHandler(counter)
        await client.get(path)
        sql_log.removeHandler(counter)
        sql_log.setLevel(logging.WARNING)
        profiler = cProfile.Profile() if args.profile else None
        started, cpu, database = time.perf_counter(), time.process_time(), postgres_cpu()
        if profiler:
            profiler.enable()
        for _ in range(args.requests):
            if args.cold:
                forget_everything_kept()
            await client.get(path)
        if profiler:
            profiler.disable()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        database_ms = postgres_cpu_since(database) * 1000 / args.requests
    await db.close()
    print(
        f"{path}: {elapsed * 1000 / args.requests:.1f} ms per request, "
        f"{cpu * 1000 / args.requests:.1f} ms of CPU ({args.requests} requests), "
        f"{counter.count} queries, {len(response.content):,} bytes"
        + (
            f", PostgreSQL {database_ms:.2f} CPU ms"
            if "postgres" in manifest["database_url"]
            else ""
        )
    )
    if args.sql:
        for statement in counter.statements:
            print("  " + " ".join(statement.split())[:400])
    if profiler:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("page")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--login", action="store_true", help="as bench00")
    parser.add_argument("--default-gc", action="store_true", help="not as `forum serve` tunes it")
    parser.add_argument("--sql", action="store_true", help="print one request's statements")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="forget what is kept until the change log moves before each request (as after "
        "a write)",
    )
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=40)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
