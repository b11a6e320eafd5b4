"""Pages per second through a real server: reads, writes, memory, the limit, processes, growth.

    .venv/bin/python bench/http_load.py [--scale small] [--database sqlite|postgres]
                                        [--workers 1 2] [--seconds 10]
    .venv/bin/python bench/http_load.py --growth [--scales small medium large]

(Not bench/http.py: the scripts' folder comes first on sys.path, where a module named `http`
would hide the standard library's package of that name from every script in bench/.)

Loads the scale's corpus with bench/data.py (once: it is kept under --data and reused), then
for each --workers count starts `forum serve --workers N` from this checkout on a fresh copy
of that database and index, and measures with async httpx clients at --concurrency (16), for
--seconds each after a short warm-up, requests/s and p50/p99 latency of:

    home page · network page · thread page of 50 posts · of 500 posts · knowledge base ·
    search API (a fixed mix of queries)

logged out, then logged in (each client logs in once, through the form, as its own member of
every network). Then replies posted per second by 16 concurrent writers into one thread,
counted in the database after the server has stopped (no error, no lost post), and the peak
resident memory (VmHWM) of the server's processes.

Against the limit: beside the forum, bench/bare.py serves the same thread pages from a bare
Starlette app (no database, no middleware; the forum's template and the same objects, loaded
once); it is measured right after the forum's own logged-out thread page, and the forum's
throughput is reported as a share of it (target: at least 50%). With --workers 1 2, the ratio
of 2 workers to 1 (target: at least 1.6x on 2 cores).

--growth measures the network page, the 50-post thread page and the search API (logged out,
1 worker) at each of --scales (default small and medium) and prints how much slower each is
than at the first scale (target: at most 30% slower).

The load generator shares the machine with the server: each line shows the CPU it used
("client", in cores) beside the server's ("server"), so that a figure limited by the client
is visible as such. docs/performance.md says how to read the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import httpx

from forum import db
from forum.config import ROOT
from forum.threads.models import Post

from data import SCALES, create_database, drop_database, is_postgres, settings_for
from serving import (
    Memory,
    cpu_seconds,
    free_port,
    machine,
    peak_rss,
    percentile,
    postgres_cpu,
    postgres_cpu_since,
    process_tree,
    reset_peak,
    start_server,
    stop_server,
    wait_until_up,
)

PAGES = {
    "home": "home page",
    "network": "network page",
    "thread_50": "thread, 50 posts",
    "thread_500": "thread, 500 posts",
    "kb": "knowledge base",
    "search": "search API",
}
THREAD_PAGES = ("thread_50", "thread_500")
GROWTH_PAGES = ("network", "thread_50", "search")
# The search API's requests take these in turn: a word, two words, a phrase, three words.
QUERIES = ("dashboard", "retention schedule", '"open source"', "budget supplier contract")
# Replies per account are limited (forum.ratelimit.POSTS_PER_ACCOUNT: 30 in 10 minutes).
MAX_REPLIES = 30
TARGET_BARE = 0.5  # our thread page's throughput, as a share of the bare app's
TARGET_GROWTH = 1.3  # p50 at the largest scale over p50 at the first, at most
TARGET_WORKERS = 1.6  # 2 workers' throughput over 1's, at least
HERE = Path(__file__).resolve().parent
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# ---------------------------------------------------------------------------------- the data


@dataclass
class Loaded:
    """A corpus loaded by bench/data.py and kept for later runs: never served itself (each
    run serves a fresh copy), only read by the bare app."""

    scale: str
    database: str
    folder: Path
    manifest: dict[str, Any]

    @property
    def pages(self) -> dict[str, str]:
        return dict(self.manifest["pages"])

    @property
    def url(self) -> str:
        return str(self.manifest["database_url"])


async def exists(url: str) -> bool:
    """Whether the PostgreSQL database `url` names is there (and answers)."""
    try:
        conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


def pg_url(base: str, name: str) -> str:
    """Database `name` on the server `base` names (its query, a socket's ?host=, kept)."""
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


# PostgreSQL on this machine: through its Unix socket where there is one (Debian's), as a
# forum on the database's own host should connect (docs/deployment.md): a query through
# the socket cost both processes about a quarter less CPU than through 127.0.0.1.
LOCAL_SOCKETS = Path("/var/run/postgresql")
DEFAULT_PG = (
    f"postgresql://postgres@/?host={LOCAL_SOCKETS}"
    if (LOCAL_SOCKETS / ".s.PGSQL.5432").exists()
    else "postgresql://postgres@127.0.0.1:5432"
)


def ensure_loaded(scale: str, database: str, args: argparse.Namespace) -> Loaded:
    """The corpus of `scale` in a `database` of its own, loaded by bench/data.py unless an
    earlier run left one (its manifest is the proof that the load finished)."""
    folder = (args.data / f"{scale}-{database}").resolve()
    manifest_file = folder / "manifest.json"
    url = pg_url(args.pg_url, f"bench_{scale}") if database == "postgres" else None
    if manifest_file.exists() and not args.fresh and (not url or asyncio.run(exists(url))):
        manifest = json.loads(manifest_file.read_text())
        print(f"data         {scale} corpus loaded {manifest['loaded_at']}, reused ({folder})")
        return Loaded(scale, database, folder, manifest)
    shutil.rmtree(folder, ignore_errors=True)
    if url:
        asyncio.run(drop_database(url))
    print(f"data         loading the {scale} corpus into {url or 'SQLite'} (bench/data.py)")
    command = [sys.executable, str(HERE / "data.py"), "--scale", scale, "--out", str(folder)]
    subprocess.run([*command, *(["--database-url", url] if url else [])], check=True)
    return Loaded(scale, database, folder, json.loads(manifest_file.read_text()))


@dataclass
class Copy:
    """A fresh copy of a loaded corpus for one server run: database and search index."""

    url: str
    folder: Path

    def env(self) -> dict[str, str]:
        return {
            "FORUM_DATABASE_URL": self.url,
            "FORUM_SEARCH_INDEX_DIR": str(self.folder / "index"),
            "FORUM_SECURITY_DATA_DIR": str(self.folder / "data"),
            "FORUM_SECURITY_SECRET_KEY": secrets.token_urlsafe(32),
        }


def fresh_copy(loaded: Loaded, args: argparse.Namespace, name: str = "run") -> Copy:
    """Every run starts from the state data.py left: writes and sessions of an earlier run
    (and the rate limit on replies) do not carry over. `name`: copies side by side."""
    folder = loaded.folder / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    shutil.copytree(loaded.manifest["index_dir"], folder / "index")
    if loaded.database == "postgres":
        url = pg_url(args.pg_url, f"bench_{loaded.scale}_{name}")
        asyncio.run(drop_database(url))
        asyncio.run(create_database(url, template=f"bench_{loaded.scale}"))
    else:
        source = loaded.url.removeprefix("sqlite://")
        target = folder / "forum.sqlite3"
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
        url = f"sqlite://{target}"
    return Copy(url, folder)


async def settle(copy: Copy) -> None:
    """Put the copy in a forum's steady state before the server starts, so that the pages
    are not measured during work a running forum does once: everyone's weekly digest marked
    as sent just now (a fresh copy of a corpus, where no one has had one yet, would start
    the week's digests at once: 5,000 people's worth at large scale), and the change log the
    index has applied pruned (the import wrote a row per post; a running forum prunes every
    hour)."""
    from forum.accounts.models import User
    from forum.notifications.models import Preferences
    from forum.search.indexer import prune
    from forum.timeutil import utcnow

    async with db.opened(settings_for(copy.url, copy.folder)):
        await prune()
        have = set(await Preferences.all().values_list("user_id", flat=True))
        missing = [u for u in await User.all().values_list("id", flat=True) if u not in have]
        await Preferences.bulk_create([Preferences(user_id=u) for u in missing], batch_size=500)
        await Preferences.all().update(digest_sent_at=utcnow())


def drop_copy(copy: Copy) -> None:
    if is_postgres(copy.url):
        asyncio.run(drop_database(copy.url))
    shutil.rmtree(copy.folder, ignore_errors=True)


async def count_replies(copy: Copy, thread_id: int, marker: str) -> int:
    async with db.opened(settings_for(copy.url, copy.folder)):
        return await Post.filter(thread_id=thread_id, body__startswith=marker).count()


# ------------------------------------------------------------------------------ measurement


@dataclass
class Sample:
    """One page measured: successful requests, their latency, and what they cost."""

    seconds: float
    requests: int = 0  # answered 200
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    errors: Counter[str] = field(default_factory=Counter)
    body_bytes: int = 0  # (wrk: with the headers)
    client_cpu: float = 0.0  # CPU seconds of the load generator
    server_cpu: float = 0.0  # CPU seconds of the server's processes
    database_cpu: float = 0.0  # CPU seconds of this machine's PostgreSQL processes
    server_peak_mb: float = 0.0  # their peak RSS so far, added up, when this page ended

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def ms(self, q: int) -> float:
        return {50: self.p50_ms, 99: self.p99_ms}[q]

    def cpu_ms(self) -> float:
        """Server CPU per successful request: what a page costs, whatever else the machine
        was doing (unlike req/s, which falls when other work takes the cores)."""
        return self.server_cpu * 1000 / self.requests if self.requests else float("nan")

    def database_cpu_ms(self) -> float:
        """PostgreSQL's CPU per successful request (when it runs on this machine)."""
        return self.database_cpu * 1000 / self.requests if self.requests else float("nan")

    def as_dict(self) -> dict[str, Any]:
        n = self.requests
        return {
            "requests": n,
            "seconds": round(self.seconds, 2),
            "rps": round(self.rps, 1),
            "p50_ms": round(self.ms(50), 1),
            "p99_ms": round(self.ms(99), 1),
            "errors": dict(self.errors),
            "kb_per_page": round(self.body_bytes / n / 1024, 1) if n else None,
            "server_cpu_ms_per_request": round(self.cpu_ms(), 2),
            "server_cores": round(self.server_cpu / self.seconds, 2),
            "postgres_cpu_ms_per_request": round(self.database_cpu_ms(), 2),
            "postgres_cores": round(self.database_cpu / self.seconds, 2),
            "client_cores": round(self.client_cpu / self.seconds, 2),
            "server_peak_mb": round(self.server_peak_mb),
        }


async def get_retrying(client: httpx.AsyncClient, path: str) -> httpx.Response:
    """A GET that survives one closed keep-alive connection (uvicorn closes idle ones after
    5 s, and a client may have waited longer than that between two pages)."""
    try:
        return await client.get(path)
    except httpx.TransportError:
        return await client.get(path)


async def hammer(
    clients: Sequence[httpx.AsyncClient],
    path_of: Callable[[int], str],
    seconds: float,
    server_pids: Sequence[int],
    warmup: int = 3,
) -> Sample:
    """Every client requests path_of(n) in a loop, one request at a time, for `seconds`
    (after `warmup` untimed requests each): as many requests in flight as clients."""

    async def warm(i: int, client: httpx.AsyncClient) -> None:
        for k in range(warmup):
            (await get_retrying(client, path_of(i + k * len(clients)))).raise_for_status()

    await asyncio.gather(*(warm(i, c) for i, c in enumerate(clients)))
    sample = Sample(seconds)
    server_cpu, client_cpu = cpu_seconds(server_pids), time.process_time()
    database_cpu = postgres_cpu()
    started = time.perf_counter()
    deadline = started + seconds

    latencies: list[float] = []

    async def run(i: int, client: httpx.AsyncClient) -> None:
        n = i
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            try:
                response = await client.get(path_of(n))
            except httpx.HTTPError as exc:
                sample.errors[type(exc).__name__] += 1
                await asyncio.sleep(0.05)  # a server that is down must not spin the loop
                continue
            if response.status_code == 200:
                latencies.append(time.perf_counter() - sent)
                sample.body_bytes += len(response.content)
            else:
                sample.errors[str(response.status_code)] += 1
            n += len(clients)

    await asyncio.gather(*(run(i, c) for i, c in enumerate(clients)))
    sample.seconds = time.perf_counter() - started
    sample.client_cpu = time.process_time() - client_cpu
    sample.server_cpu = cpu_seconds(server_pids) - server_cpu
    sample.database_cpu = postgres_cpu_since(database_cpu)
    sample.requests = len(latencies)
    if latencies:
        sample.p50_ms, sample.p99_ms = (percentile(latencies, q) * 1000 for q in (50, 99))
    sample.server_peak_mb = sum(m.peak_mb for pid in server_pids for m in peak_rss(pid, tree=False))
    return sample


# wrk (Debian's package `wrk`, C): the load generator when installed. The httpx clients cost
# about 1.5 ms of CPU per request, on the same two cores as the server: with two workers the
# client took the share a second worker needed. wrk costs a few microseconds a request.
# Its Lua script takes the paths and each client's cookies in turn, asks for a new
# connection for every request (as the httpx clients do, and nginx), and prints a summary.
WRK_SCRIPT = """
local paths = {%(paths)s}
local cookies = {%(cookies)s}
local n = 0
request = function()
  n = n + 1
  local headers = {["Connection"] = "close"}
  if #cookies > 0 then headers["Cookie"] = cookies[(n %% #cookies) + 1] end
  return wrk.format("GET", paths[(n %% #paths) + 1], headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %%d, "duration_us": %%d, "bytes": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "status": %%d, "timeout": %%d, "p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def _lua(values: Sequence[str]) -> str:
    return ", ".join(json.dumps(v) for v in values)  # a JSON string is a Lua string here


def cookie_header(client: httpx.AsyncClient) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def run_wrk(
    base: str, paths: Sequence[str], cookies: Sequence[str], seconds: float, concurrency: int
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT % {"paths": _lua(paths), "cookies": _lua(cookies)})
        script.flush()
        command = [
            "wrk",
            "-t1",
            f"-c{concurrency}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "60s",
        ]
        command += ["-s", script.name, base]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("WRK "))
    summary: dict[str, Any] = json.loads(line.removeprefix("WRK "))
    return summary


def hammer_wrk(
    base: str,
    paths: Sequence[str],
    cookies: Sequence[str],
    seconds: float,
    server_pids: Sequence[int],
    concurrency: int,
) -> Sample:
    """As `hammer`, with wrk: `concurrency` connections, each a request at a time."""
    run_wrk(base, paths, cookies, 1, concurrency)  # warm-up
    server_cpu, database_cpu = cpu_seconds(server_pids), postgres_cpu()
    children = os.times()
    got = run_wrk(base, paths, cookies, seconds, concurrency)
    after = os.times()
    sample = Sample(got["duration_us"] / 1e6)
    sample.server_cpu = cpu_seconds(server_pids) - server_cpu
    sample.database_cpu = postgres_cpu_since(database_cpu)
    sample.client_cpu = (after.children_user + after.children_system) - (
        children.children_user + children.children_system
    )
    sample.requests = got["requests"] - got["status"]
    sample.p50_ms, sample.p99_ms = got["p50_us"] / 1000, got["p99_us"] / 1000
    sample.body_bytes = got["bytes"]
    for kind in ("connect", "read", "write", "status", "timeout"):
        if got[kind]:
            sample.errors[kind] += got[kind]
    sample.server_peak_mb = sum(m.peak_mb for pid in server_pids for m in peak_rss(pid, tree=False))
    return sample


async def measure_page(
    clients: Sequence[httpx.AsyncClient],
    base: str,
    path_of: Callable[[int], str],
    seconds: float,
    server_pids: Sequence[int],
    tool: str,
) -> Sample:
    """One page, by the clients (httpx), or by wrk with their cookies."""
    if tool == "httpx":
        return await hammer(clients, path_of, seconds, server_pids)
    for client in clients:  # a first page: the CSRF cookie a browser would send back
        (await get_retrying(client, path_of(0))).raise_for_status()
    paths = [path_of(n) for n in range(len(QUERIES))]
    cookies = [cookie_header(c) for c in clients]
    return await asyncio.to_thread(
        hammer_wrk, base, paths, cookies, seconds, server_pids, len(clients)
    )


def page_path(pages: dict[str, str], key: str) -> Callable[[int], str]:
    if key == "search":
        return lambda n: f"{pages['search']}?q={quote(QUERIES[n % len(QUERIES)])}"
    path = pages[key]
    return lambda n: path


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    if page.status_code != 200 or not found:
        raise RuntimeError(f"GET {page.url.path}: {page.status_code}, no CSRF token in the form")
    return found.group(1)


async def log_in(client: httpx.AsyncClient, username: str, password: str) -> None:
    """Through the form, as a browser does: the login page, then the form posted."""
    token = csrf_of(await client.get("/login"))
    response = await client.post(
        "/login",
        data={"login": username, "password": password, "csrf_token": token, "next": "/"},
    )
    if response.status_code != 303 or "forum_session" not in client.cookies:
        raise RuntimeError(f"logging in as {username}: {response.status_code}")


@dataclass
class Writes:
    writers: int
    attempted: int
    seconds: float
    latencies: list[float]
    errors: Counter[str]
    marker: str
    stored: int | None = None  # counted in the database afterwards

    def as_dict(self) -> dict[str, Any]:
        return {
            "attempted": self.attempted,
            "accepted": len(self.latencies),
            "stored": self.stored,
            "seconds": round(self.seconds, 2),
            "replies_per_s": round(len(self.latencies) / self.seconds, 1),
            "p50_ms": round(percentile(self.latencies, 50) * 1000, 1) if self.latencies else None,
            "p99_ms": round(percentile(self.latencies, 99) * 1000, 1) if self.latencies else None,
            "errors": dict(self.errors),
        }


async def post_replies(clients: Sequence[httpx.AsyncClient], path: str, replies: int) -> Writes:
    """Each client posts `replies` replies to the thread at `path`, one after another,
    all clients at once; each reply starts with the run's marker, to be counted later."""
    tokens = [csrf_of(await get_retrying(c, f"{path}/reply")) for c in clients]
    marker = f"benchwrite{secrets.token_hex(4)}"
    latencies: list[float] = []
    errors: Counter[str] = Counter()

    async def writer(i: int, client: httpx.AsyncClient, token: str) -> None:
        for k in range(replies):
            body = (
                f"{marker} from writer {i}, reply {k}. We piloted the **shared catalogue** "
                "last quarter; happy to share the data sharing agreement template."
            )
            sent = time.perf_counter()
            try:
                response = await client.post(
                    f"{path}/reply", data={"csrf_token": token, "body": body}
                )
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] += 1
                continue
            if response.status_code == 303:
                latencies.append(time.perf_counter() - sent)
            else:
                errors[str(response.status_code)] += 1

    started = time.perf_counter()
    await asyncio.gather(
        *(writer(i, c, t) for i, (c, t) in enumerate(zip(clients, tokens, strict=True)))
    )
    seconds = time.perf_counter() - started
    return Writes(len(clients), len(clients) * replies, seconds, latencies, errors, marker)


# -------------------------------------------------------------------------------- one run


@dataclass
class Run:
    """The figures of one server run (one database, one number of workers)."""

    label: str
    workers: int
    concurrency: int
    pages: dict[str, dict[str, Sample]] = field(default_factory=dict)  # state → page → sample
    bare: dict[str, Sample] = field(default_factory=dict)  # page → the bare app's sample
    same_html: dict[str, str] = field(default_factory=dict)  # page → the comparison's verdict
    writes: Writes | None = None
    login_seconds: float = 0.0  # 16 clients logging in at once
    login_peak_mb: float = 0.0  # the server's processes' peak RSS, added up, after that
    memory: list[Memory] = field(default_factory=list)
    log: str = ""


def _clients(base: str, n: int) -> list[httpx.AsyncClient]:
    """One client per simulated visitor, each with a new connection for every request, as
    nginx (deploy/nginx.conf) connects to uvicorn: with kept-alive connections the kernel
    hands each one to a single worker for good, and whichever worker accepted first served
    every logged-out client while the other idled."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=0)
    return [httpx.AsyncClient(base_url=base, timeout=120, limits=limits) for _ in range(n)]


def _normalised(html: str) -> str:
    return CSRF.sub('name="csrf_token" value=""', html)


async def compare_html(ours: str, bare: str, path: str) -> str:
    """Whether the bare app renders what the forum serves (CSRF tokens aside)."""
    async with httpx.AsyncClient(base_url=ours) as a, httpx.AsyncClient(base_url=bare) as b:
        mine, theirs = (await a.get(path)).text, (await b.get(path)).text
    if _normalised(mine) == _normalised(theirs):
        return f"identical HTML ({len(mine.encode()):,} bytes)"
    return f"DIFFERENT HTML: forum {len(mine.encode()):,} bytes, bare {len(theirs.encode()):,}"


async def page_and_limit(
    run: Run,
    state: str,
    key: str,
    clients: Sequence[httpx.AsyncClient],
    base: str,
    server_pids: Sequence[int],
    paths: dict[str, str],
    args: argparse.Namespace,
    bare: tuple[str, list[int]] | None,
    bare_clients: Sequence[httpx.AsyncClient],
) -> tuple[Sample, Sample | None]:
    """One page measured into `run`; a thread page logged out, with `bare`, then the bare
    app's (right after the forum's, so that load elsewhere falls on both alike)."""
    sample = await measure_page(
        clients, base, page_path(paths, key), args.seconds, server_pids, args.client
    )
    run.pages.setdefault(state, {})[key] = sample
    if not (bare and state == "out" and key in THREAD_PAGES):
        return sample, None
    run.same_html[key] = await compare_html(base, bare[0], paths[key])
    limit = await measure_page(
        bare_clients, bare[0], page_path(paths, key), args.seconds, bare[1], args.client
    )
    run.bare[key] = limit
    return sample, limit


async def measure(
    run: Run,
    base: str,
    server_pids: list[int],
    loaded: Loaded,
    args: argparse.Namespace,
    *,
    pages: Sequence[str],
    states: Sequence[str],
    bare: tuple[str, list[int]] | None,
    writes: bool,
) -> None:
    paths = loaded.pages
    users = loaded.manifest["bench_users"][: args.concurrency]
    anonymous = _clients(base, args.concurrency)
    members = _clients(base, args.concurrency)
    bare_clients = _clients(bare[0], args.concurrency) if bare else []
    try:
        if "in" in states or writes:
            password = loaded.manifest["password"]
            started = time.perf_counter()
            await asyncio.gather(
                *(log_in(c, u, password) for c, u in zip(members, users, strict=True))
            )
            run.login_seconds = time.perf_counter() - started
        # Logging in hashes passwords (argon2: 64 MiB each, several at once). That peak is
        # reported on its own, and the pages' peak counted from here.
        run.login_peak_mb = sum(m.peak_mb for pid in server_pids for m in peak_rss(pid, tree=False))
        reset_peak(server_pids)
        for state in states:
            clients = anonymous if state == "out" else members
            for key in pages:
                sample, limit = await page_and_limit(
                    run, state, key, clients, base, server_pids, paths, args, bare, bare_clients
                )
                line = f"  {state:<3} {PAGES[key]:<18} {sample.rps:7.1f} req/s"
                if limit is not None:
                    line += f"   bare {limit.rps:7.1f} req/s"
                print(line, flush=True)
        if writes:
            thread = loaded.manifest["writes"]
            path = f"/n/{thread['network']}/t/{thread['thread_id']}"
            run.writes = await post_replies(members, path, args.replies)
            print(f"  writes {len(run.writes.latencies)} replies accepted", flush=True)
    finally:
        for client in [*anonymous, *members, *bare_clients]:
            await client.aclose()


def serve_and_measure(
    loaded: Loaded,
    workers: int,
    args: argparse.Namespace,
    *,
    pages: Sequence[str] = tuple(PAGES),
    states: Sequence[str] = ("out", "in"),
    bare: tuple[str, int] | None = None,
    writes: bool = True,
    note: str = "",
) -> Run:
    """Start the forum on a fresh copy of `loaded`, measure, stop it, count the replies."""
    label = f"{loaded.scale}, {loaded.database}, {workers} worker{'s' if workers > 1 else ''}"
    label += f", {note}" if note else ""
    print(f"\nrun          {label}", flush=True)
    served = _serve(loaded, workers, args, name="run")
    run = Run(label, workers, args.concurrency, log=served.log)
    try:
        bare_arg = (bare[0], process_tree(bare[1])) if bare else None
        asyncio.run(
            measure(
                run,
                served.base,
                served.pids,
                loaded,
                args,
                pages=pages,
                states=states,
                bare=bare_arg,
                writes=writes,
            )
        )
        run.memory = peak_rss(served.server.pid)
    finally:
        stop_server(served.server)
    try:
        if run.writes is not None:
            thread_id = int(loaded.manifest["writes"]["thread_id"])
            run.writes.stored = asyncio.run(
                count_replies(served.copy, thread_id, run.writes.marker)
            )
    finally:
        drop_copy(served.copy)
    return run


@dataclass
class Served:
    """One of the servers `serve_paired` keeps up side by side."""

    workers: int
    copy: Copy
    server: subprocess.Popen[bytes]
    base: str
    pids: list[int]
    log: str


def _serve(loaded: Loaded, workers: int, args: argparse.Namespace, name: str) -> Served:
    """`forum serve --workers N` on a fresh copy (`name`) of `loaded`, answering."""
    copy = fresh_copy(loaded, args, name=name)
    asyncio.run(settle(copy))
    logs = args.data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_name = f"server-{loaded.scale}-{loaded.database}-{workers}-{name}.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(logs, port, copy.env(), workers=workers, log_name=log_name)
    try:
        with httpx.Client(base_url=base, timeout=30) as probe:
            wait_until_up(probe, server, 120)
            probe.get("/api/v1/search", params={"q": "data"}).raise_for_status()
        if workers > 1:
            time.sleep(3)  # the first answer came from one worker; let the others start too
    except BaseException:
        stop_server(server)
        drop_copy(copy)
        raise
    return Served(workers, copy, server, base, process_tree(server.pid), str(logs / log_name))


def serve_paired(
    loaded: Loaded, args: argparse.Namespace, bare: tuple[str, int] | None
) -> list[Run]:
    """Every --workers count's server up at once, each on its own copy, and each page
    measured on one, then the next, then again, --rounds times: the figures of a pair are
    seconds apart, not minutes, on a machine whose speed drifts. One `Run` per server and
    round (the writes, the logins and the memory on its first round's)."""
    servers: list[Served] = []
    runs: list[Run] = []
    try:
        for workers in args.workers:
            print(f"\nserver       {workers} worker{'s' if workers > 1 else ''}", flush=True)
            servers.append(_serve(loaded, workers, args, name=f"paired{workers}"))
        bare_arg = (bare[0], process_tree(bare[1])) if bare else None
        runs = asyncio.run(_measure_paired(servers, loaded, args, bare_arg))
        for served in servers:
            first = next(r for r in runs if r.workers == served.workers)
            first.memory = peak_rss(served.server.pid)
    finally:
        for served in servers:
            stop_server(served.server)
    try:
        thread_id = int(loaded.manifest["writes"]["thread_id"])
        for served in servers:
            first = next(r for r in runs if r.workers == served.workers)
            if first.writes is not None:
                first.writes.stored = asyncio.run(
                    count_replies(served.copy, thread_id, first.writes.marker)
                )
    finally:
        for served in servers:
            drop_copy(served.copy)
    return runs


async def _measure_paired(
    servers: Sequence[Served],
    loaded: Loaded,
    args: argparse.Namespace,
    bare: tuple[str, list[int]] | None,
) -> list[Run]:
    paths = loaded.pages
    users = loaded.manifest["bench_users"][: args.concurrency]
    password = loaded.manifest["password"]
    label = f"{loaded.scale}, {loaded.database}"
    runs = {
        (s.workers, n): Run(
            f"{label}, {s.workers} worker{'s' if s.workers > 1 else ''}, paired round "
            f"{n} of {args.rounds}",
            s.workers,
            args.concurrency,
            log=s.log,
        )
        for n in range(1, args.rounds + 1)
        for s in servers
    }
    anonymous = {s.workers: _clients(s.base, args.concurrency) for s in servers}
    members = {s.workers: _clients(s.base, args.concurrency) for s in servers}
    bare_clients = _clients(bare[0], args.concurrency) if bare else []
    try:
        for s in servers:
            started = time.perf_counter()
            await asyncio.gather(
                *(log_in(c, u, password) for c, u in zip(members[s.workers], users, strict=True))
            )
            first = runs[(s.workers, 1)]
            first.login_seconds = time.perf_counter() - started
            first.login_peak_mb = sum(
                m.peak_mb for pid in s.pids for m in peak_rss(pid, tree=False)
            )
            reset_peak(s.pids)
        for n in range(1, args.rounds + 1):
            print(f"\nround        {n} of {args.rounds}", flush=True)
            for state in ("out", "in"):
                for key in PAGES:
                    line = f"  {state:<3} {PAGES[key]:<18}"
                    for s in servers:
                        clients = (anonymous if state == "out" else members)[s.workers]
                        sample, limit = await page_and_limit(
                            runs[(s.workers, n)],
                            state,
                            key,
                            clients,
                            s.base,
                            s.pids,
                            paths,
                            args,
                            bare if s is servers[0] else None,
                            bare_clients,
                        )
                        line += f" {s.workers}w {sample.rps:7.1f} req/s"
                        if limit is not None:
                            line += f" (bare {limit.rps:7.1f})"
                    print(line, flush=True)
        thread = loaded.manifest["writes"]
        path = f"/n/{thread['network']}/t/{thread['thread_id']}"
        for s in servers:
            first = runs[(s.workers, 1)]
            first.writes = await post_replies(members[s.workers], path, args.replies)
            print(f"  writes {s.workers}w: {len(first.writes.latencies)} accepted", flush=True)
    finally:
        for group in [*anonymous.values(), *members.values(), bare_clients]:
            for client in group:
                await client.aclose()
    return list(runs.values())


def start_bare(loaded: Loaded, args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], str]:
    """bench/bare.py on the loaded corpus (it reads it once at start, then closes it)."""
    port = free_port()
    paths = [loaded.pages[key] for key in THREAD_PAGES]
    logs = args.data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        "FORUM_DATABASE_URL": loaded.url,
        "FORUM_SEARCH_INDEX_DIR": str(loaded.manifest["index_dir"]),
        "FORUM_SECURITY_DATA_DIR": str(loaded.folder / "data"),
    }
    log = (logs / f"bare-{loaded.scale}-{loaded.database}.log").open("wb")
    command = [sys.executable, str(HERE / "bare.py"), "--port", str(port), *paths]
    process = subprocess.Popen(
        command, env={**os.environ, **env}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=30) as probe:
        wait_until_up(probe, process, 120, path="/healthz")
    return process, base


# -------------------------------------------------------------------------------- reporting


def report_run(run: Run) -> None:
    print(f"\n{run.label}, concurrency {run.concurrency}")
    postgres = "postgres" in run.label
    print(
        "  page               who   req/s  p50 ms  p99 ms  KB/page  CPU ms/req  "
        "server cores  client cores  peak MB" + ("  PG CPU ms/req  PG cores" if postgres else "")
    )
    for key, label in PAGES.items():
        for state, who in (("out", "anon"), ("in", "user")):
            s = run.pages.get(state, {}).get(key)
            if s is None:
                continue
            n = s.requests
            line = (
                f"  {label:<18} {who:<4} {s.rps:7.1f} {s.ms(50):7.1f} {s.ms(99):7.1f} "
                f"{s.body_bytes / max(n, 1) / 1024:8.1f} {s.cpu_ms():11.1f} "
                f"{s.server_cpu / s.seconds:13.2f} {s.client_cpu / s.seconds:13.2f} "
                f"{s.server_peak_mb:8.0f}"
            )
            if postgres:
                line += f" {s.database_cpu_ms():15.2f} {s.database_cpu / s.seconds:9.2f}"
            if s.errors:
                line += f"  ERRORS {dict(s.errors)}"
            print(line)
    if run.writes:
        w = run.writes
        accepted = len(w.latencies)
        lost = "none lost" if w.stored == accepted else f"{w.stored} IN THE DATABASE"
        print(
            f"  writes: {accepted} of {w.attempted} replies accepted in {w.seconds:.1f} s by "
            f"{w.writers} writers = {accepted / w.seconds:.1f} replies/s (p50 "
            f"{percentile(w.latencies, 50) * 1000:.0f} ms, p99 "
            f"{percentile(w.latencies, 99) * 1000:.0f} ms); {w.stored} in the database "
            f"afterwards: {lost}; errors: {dict(w.errors) or 'none'}"
        )
    if run.login_seconds:
        print(
            f"  logins: {run.concurrency} at once in {run.login_seconds:.1f} s; the server's "
            f"peak RSS by then: {run.login_peak_mb:.0f} MB (argon2 takes 64 MiB per hash)"
        )
    if run.memory:
        total = sum(m.peak_mb for m in run.memory)
        parts = ", ".join(f"{m.command} {m.peak_mb:.0f} MB" for m in run.memory)
        since = "the logins" if run.login_seconds else "the server was up"
        print(f"  memory: peak RSS since {since}: {total:.0f} MB in all ({parts})")
    print(f"  server log: {run.log}")


def _over(a: float, b: float) -> float:
    """a / b, or NaN when no request was answered in the time (b is 0)."""
    return a / b if b else float("nan")


def _median(values: Sequence[float]) -> int:
    """The index of the median of `values` (the lower of the middle two for an even count)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    return order[(len(order) - 1) // 2]


def _rounds(values: Sequence[float], fmt: str) -> str:
    return "" if len(values) < 2 else f"; rounds: {', '.join(format(v, fmt) for v in values)}"


def report_limit(runs: Sequence[Run]) -> dict[str, Any]:
    """Each round's share (the forum's page and the bare app's were measured one after the
    other), and the round with the median share in full."""
    run = runs[0]
    print(f"\nagainst the limit ({run.label}, logged out): the forum's thread page as a share")
    print("of the same page rendered by a bare Starlette + Jinja2 app from memory")
    out: dict[str, Any] = {}
    for key in THREAD_PAGES:
        pairs = [(r.pages["out"].get(key), r.bare.get(key)) for r in runs]
        measured = [(a, b) for a, b in pairs if a is not None and b is not None]
        if not measured:
            continue
        shares = [_over(a.rps, b.rps) for a, b in measured]
        ours, bare = measured[_median(shares)]
        share = _over(ours.rps, bare.rps)
        by_cpu = _over(bare.cpu_ms(), ours.cpu_ms())
        out[key] = {"throughput": round(share, 3), "cpu": round(by_cpu, 3), "rounds": shares}
        print(
            f"  {PAGES[key]:<18} forum {ours.rps:7.1f} req/s (p50 {ours.ms(50):6.1f} ms, "
            f"{ours.cpu_ms():5.1f} CPU ms/req), bare {bare.rps:7.1f} req/s (p50 "
            f"{bare.ms(50):6.1f} ms, {bare.cpu_ms():5.1f} CPU ms/req): {share:.0%} of its "
            f"throughput, {by_cpu:.0%} by CPU per request "
            f"(target >= {TARGET_BARE:.0%}: {'met' if share >= TARGET_BARE else 'NOT met'})"
            f"{_rounds(shares, '.0%')}"
        )
        print(f"  {'':<18} {run.same_html.get(key, '')}")
    return out


def report_workers(ones: Sequence[Run], twos: Sequence[Run]) -> dict[str, Any]:
    """Each round's ratio (its two runs one after the other), and the round with the median
    ratio in full."""
    one = ones[0]
    rounds = f", the median of {len(ones)} rounds" if len(ones) > 1 else ""
    print(f"\nprocesses: throughput of 2 workers over 1{rounds} (target >= {TARGET_WORKERS}x)")
    out: dict[str, Any] = {}
    for state in ("out", "in"):
        for key, label in PAGES.items():
            pairs = [
                (x.pages.get(state, {}).get(key), y.pages.get(state, {}).get(key))
                for x, y in zip(ones, twos, strict=True)
            ]
            measured = [(a, b) for a, b in pairs if a is not None and b is not None]
            if not measured:
                continue
            ratios = [_over(b.rps, a.rps) for a, b in measured]
            a, b = measured[_median(ratios)]
            ratio = _over(b.rps, a.rps)
            out[f"{state}:{key}"] = round(ratio, 2)
            verdict = "met" if ratio >= TARGET_WORKERS else "NOT met"
            print(
                f"  logged {state:<3} {label:<18} {a.rps:7.1f} -> {b.rps:7.1f} req/s: "
                f"{ratio:.2f}x ({verdict}); server CPU {a.server_cpu / a.seconds:.1f} -> "
                f"{b.server_cpu / b.seconds:.1f} cores, client {a.client_cpu / a.seconds:.1f}"
                f" -> {b.client_cpu / b.seconds:.1f}{_rounds(ratios, '.2f')}"
            )
            if "postgres" in one.label:
                # One worker takes at most a core; PostgreSQL's work for it comes on top. Two
                # cores then hold at most 2 / (1 + its share) times that.
                share = a.database_cpu / a.server_cpu if a.server_cpu else float("nan")
                print(
                    f"  {'':<30} PostgreSQL {a.database_cpu / a.seconds:.1f} -> "
                    f"{b.database_cpu / b.seconds:.1f} cores; its CPU per request "
                    f"{share:.0%} of the forum's with 1 worker (the cores' ceiling "
                    f"{2 / (1 + share):.2f}x)"
                )
    for one, two in zip(ones, twos, strict=True):
        if one.writes and two.writes:
            a_rate = len(one.writes.latencies) / one.writes.seconds
            b_rate = len(two.writes.latencies) / two.writes.seconds
            print(
                f"  writes             {a_rate:7.1f} -> {b_rate:7.1f} replies/s: "
                f"{b_rate / a_rate:.2f}x"
            )
    return out


def report_growth(runs: list[Run], scales: list[str]) -> dict[str, Any]:
    first = scales[0]
    print(f"\ngrowth: logged out, 1 worker; each scale over {first}: p50 latency (the target:")
    print(f"no page more than {TARGET_GROWTH - 1:.0%} slower at the largest scale) and server CPU")
    print("per request (the same question, less moved by other work on the machine)")
    out: dict[str, Any] = {}
    for key in GROWTH_PAGES:
        base = runs[0].pages["out"][key]
        print(f"  {PAGES[key]}")
        for scale, run in zip(scales, runs, strict=True):
            s = run.pages["out"][key]
            p50, cpu = s.ms(50) / base.ms(50), s.cpu_ms() / base.cpu_ms()
            out[f"{key}:{scale}"] = {"p50": round(p50, 2), "cpu": round(cpu, 2)}
            print(
                f"    {scale:<7} {s.rps:7.1f} req/s  p50 {s.ms(50):7.1f} ms ({p50:.2f}x)  "
                f"{s.cpu_ms():6.1f} CPU ms/req ({cpu:.2f}x)"
            )
        last = runs[-1].pages["out"][key]
        p50, cpu = last.ms(50) / base.ms(50), last.cpu_ms() / base.cpu_ms()
        print(
            f"    {first} -> {scales[-1]}: p50 {p50:.2f}x "
            f"({'met' if p50 <= TARGET_GROWTH else 'NOT met'}), CPU per request {cpu:.2f}x "
            f"({'met' if cpu <= TARGET_GROWTH else 'NOT met'})"
        )
    return out


# ------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=list(SCALES), default="small")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1], help="one run for each (e.g. 1 2)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="per page and state")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every --workers count this many times, taking turns, and report the "
        "median round (for a machine whose speed drifts)",
    )
    parser.add_argument(
        "--paired",
        action="store_true",
        help="keep a server for each --workers count up at once and take turns page by page "
        "(each round's pair seconds apart rather than minutes)",
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--replies", type=int, default=25, help=f"per writer (at most {MAX_REPLIES})"
    )
    parser.add_argument("--growth", action="store_true", help="growth across --scales")
    parser.add_argument("--scales", nargs="+", choices=list(SCALES), default=["small", "medium"])
    parser.add_argument("--no-bare", action="store_true", help="skip the bare-Starlette limit")
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT / ".bench",
        help="where loaded corpora are kept between runs (default .bench/)",
    )
    parser.add_argument("--fresh", action="store_true", help="load the corpus again")
    parser.add_argument(
        "--pg-url",
        default=DEFAULT_PG,
        help="PostgreSQL server for --database postgres (databases bench_<scale>[_run]; "
        f"default {DEFAULT_PG})",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--client",
        choices=["wrk", "httpx"],
        default="wrk" if shutil.which("wrk") else "httpx",
        help="the load generator for the pages (default: wrk when installed)",
    )
    args = parser.parse_args()
    if not 1 <= args.replies <= MAX_REPLIES:
        parser.error(f"--replies: 1 to {MAX_REPLIES} (the forum's limit on replies per account)")
    if not 1 <= args.concurrency <= 16:
        parser.error("--concurrency: 1 to 16 (bench/data.py makes 16 accounts)")
    args.data = args.data.resolve()

    started = datetime.now(UTC)
    print(f"date         {started:%Y-%m-%d %H:%M} UTC")
    print(f"machine      {machine()}")
    print(f"command      {' '.join(sys.argv)}")
    print(f"client       {args.client} (the load generator, on the same machine)")
    if args.client == "httpx":
        print(
            "!!! the httpx clients take about 1.5 ms of CPU a request from the cores the server"
            " runs on:\n!!! two workers' figures are understated. Install wrk (apt-get install"
            " wrk) for figures to compare."
        )
    results: dict[str, Any] = {"date": started.isoformat(timespec="seconds"), "runs": {}}

    if args.growth:
        runs = []
        for scale in args.scales:
            loaded = ensure_loaded(scale, args.database, args)
            runs.append(
                serve_and_measure(
                    loaded, 1, args, pages=GROWTH_PAGES, states=("out",), writes=False
                )
            )
        for run in runs:
            report_run(run)
        results["growth"] = report_growth(runs, args.scales)
    else:
        loaded = ensure_loaded(args.scale, args.database, args)
        bare = None if args.no_bare else start_bare(loaded, args)
        runs = []
        try:
            if args.paired:
                runs = serve_paired(loaded, args, (bare[1], bare[0].pid) if bare else None)
            else:
                # Rounds take turns (1 worker, 2 workers, 1 worker, …), so that a machine
                # whose speed drifts over minutes weighs on every figure alike.
                for n in range(1, args.rounds + 1):
                    for workers in args.workers:
                        first = workers == args.workers[0]
                        with_bare = (bare[1], bare[0].pid) if bare and first else None
                        label = f"round {n} of {args.rounds}" if args.rounds > 1 else ""
                        runs.append(
                            serve_and_measure(loaded, workers, args, bare=with_bare, note=label)
                        )
            bare_memory = peak_rss(bare[0].pid) if bare else []
        finally:
            if bare:
                stop_server(bare[0])
        for run in runs:
            report_run(run)
        by_workers: dict[int, list[Run]] = {}
        for run in runs:
            by_workers.setdefault(run.workers, []).append(run)
        if bare:
            results["limit"] = report_limit(by_workers[args.workers[0]])
            print(f"  bare app: peak RSS {sum(m.peak_mb for m in bare_memory):.0f} MB")
        if 1 in by_workers and 2 in by_workers:
            results["workers"] = report_workers(by_workers[1], by_workers[2])
    for run in runs:
        results["runs"][run.label] = {
            "pages": {
                state: {key: s.as_dict() for key, s in samples.items()}
                for state, samples in run.pages.items()
            },
            "bare": {key: s.as_dict() for key, s in run.bare.items()},
            "writes": run.writes.as_dict() if run.writes else None,
            "login_seconds": round(run.login_seconds, 2),
            "login_peak_mb": round(run.login_peak_mb),
            "memory_mb": {f"{m.pid} {m.command}": round(m.peak_mb, 1) for m in run.memory},
        }
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nfigures written to {args.json}")


if __name__ == "__main__":
    main()
