"""Time `forum import` and `forum export` on a synthetic archive.

    .venv/bin/python bench/import_posts.py [--posts 20000] [--database-url URL] [--keep]

Writes an archive of N posts (N/20 threads, multi-paragraph Markdown bodies, nested replies,
edits, deletions and summaries: bench/corpus.py) into a temporary folder, migrates a fresh database
(SQLite in the same folder unless --database-url is given; that database must be empty), then
imports and exports it and prints the figures. Peak RSS is the largest the process has been,
so run one size per process when checking that memory does not grow with the file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from forum import db, markdown
from forum.archive import export_archive, import_archive
from forum.config import load_settings

from corpus import Shape, body, write_archive


def _cpu_seconds() -> tuple[float, float]:
    """CPU time (user + system) of this process and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def peak_rss_mb() -> float:
    """Peak resident memory of this process (not its render workers), in MB.

    getrusage's figure never goes down, and importing the forum's modules alone peaks at about
    100 MB on the way; on Linux the peak is reset (see reset_peak) and read from /proc instead.
    """
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        # ru_maxrss is in KiB on Linux, bytes on macOS.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kib) / 1024


def reset_peak() -> None:
    """Start measuring the peak from the current size (Linux; elsewhere a no-op)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


async def run(posts: int, database_url: str | None, folder: Path) -> None:
    archive = folder / "archive.jsonl"
    started = time.perf_counter()
    write_archive(archive, Shape.for_posts(posts))
    size = archive.stat().st_size
    print(f"archive      {archive} ({size / 1e6:.1f} MB, {time.perf_counter() - started:.1f} s)")
    reset_peak()
    print(f"rss          {peak_rss_mb():.0f} MB before the import")

    # The floor under any import: rendering every body once, in one process.
    sample_rng = random.Random(2)
    sample = [body(sample_rng, ["someone"]) for _ in range(300)]
    markdown.render(sample[0])  # load the highlighter's lexers before timing
    started = time.perf_counter()
    for text in sample:
        markdown.render(text)
    per_body = (time.perf_counter() - started) / len(sample)
    print(f"render       {per_body * 1000:.2f} ms per body with markdown.render in one process")

    url = database_url or f"sqlite://{folder}/bench.sqlite3"
    settings = load_settings(
        env={
            "FORUM_DATABASE_URL": url,
            "FORUM_SECURITY_DATA_DIR": str(folder / "data"),
            "FORUM_SEARCH_INDEX_DIR": str(folder / "index"),
        }
    )
    await db.upgrade(settings)
    async with db.opened(settings):
        started = time.perf_counter()
        cpu = _cpu_seconds()
        report = await import_archive(archive)
        seconds = time.perf_counter() - started
        after = _cpu_seconds()
        main_cpu, workers_cpu = after[0] - cpu[0], after[1] - cpu[1]
        created = report.created["post"]
        print(
            f"import       {created} posts, {report.created['thread']} threads, "
            f"{report.lines} lines in {seconds:.1f} s = {created / seconds:.0f} posts/s"
        )
        print(f"cpu          {main_cpu:.1f} s here, {workers_cpu:.1f} s in render workers")
        print(f"rss          {peak_rss_mb():.0f} MB peak after import")
        exported = folder / "export.jsonl.gz"
        started = time.perf_counter()
        counts = await export_archive(exported)
        seconds = time.perf_counter() - started
        print(
            f"export       {counts.counts['post']} posts in {seconds:.1f} s = "
            f"{counts.counts['post'] / seconds:.0f} posts/s "
            f"({exported.stat().st_size / 1e6:.1f} MB gzipped)"
        )
        print(f"rss          {peak_rss_mb():.0f} MB peak after export")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="forum-bench-"))
    try:
        asyncio.run(run(args.posts, args.database_url, folder))
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)


# The guard matters: the importer renders in worker processes started with "spawn", which
# import this file again.
if __name__ == "__main__":
    main()
