"""The indexer: follows the change log from the database into the index.

Only the indexer writes the index. It reads the changes after the index's cursor in batches,
rebuilds the affected documents from the database, and commits them together with the new
cursor. Killed at any point, it picks up where the last commit left off; the index can always
be rebuilt from the database (`rebuild`), and `check` compares the two.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index

from forum.changes import Change, SearchCursor, position, read_settled
from forum.search import documents
from forum.search.index import (
    IndexUnavailable,
    current_name,
    cursor_doc,
    ensure_index,
    indexer_lock,
    new_generation,
    read_cursor,
    swap_in,
    write_batch,
)
from forum.threads.models import Post, Summary, Thread
from forum.timeutil import utcnow

log = logging.getLogger("forum.search")

BATCH = 500
CHUNK = 1000
WRITE_MAX = 5000  # documents held before a Whoosh commit, when one batch touches more
# A missing change id may be a transaction that has not committed yet (PostgreSQL hands out
# ids before commit): wait this long for it before treating the gap as a rollback.
GAP_WAIT = timedelta(seconds=3)
# Changes older than this are pruned even if some index has not read them; an index that far
# behind rebuilds itself.
RETENTION = timedelta(days=7)
# How long a rebuild waits for the log to settle before it starts (`_start`).
SETTLE_WAIT = 10.0
PRUNED_MARK = "__pruned__"
PRUNE_BATCH = 5_000  # change-log rows deleted per statement


@dataclass
class Work:
    post_ids: set[int] = field(default_factory=set)
    summary_thread_ids: set[int] = field(default_factory=set)


async def pending_changes(cursor: int, limit: int = BATCH) -> list[Change]:
    """Changes after `cursor`, stopping before a gap that may still be filling."""
    rows = await Change.filter(id__gt=cursor).order_by("id").limit(limit)
    out: list[Change] = []
    expected = cursor + 1
    recent = utcnow() - GAP_WAIT
    for row in rows:
        if row.id != expected and row.created_at > recent:
            break
        out.append(row)
        expected = row.id + 1
    return out


async def _ids(queryset: Any, field: str) -> set[int]:
    rows: list[Any] = await queryset.values_list(field, flat=True)
    return {int(i) for i in rows}


async def expand(changes: list[Change]) -> Work:
    """Which documents a batch of changes touches. A network's are read through the network
    (never as a list of its threads: at large scale tens of thousands, past the drivers'
    32,767 parameters)."""
    work = Work()
    by_kind: dict[str, set[int]] = {}
    for change in changes:
        by_kind.setdefault(change.kind, set()).add(change.object_id)
    work.post_ids |= by_kind.get("post", set())
    threads = set(by_kind.get("thread", set())) | by_kind.get("summary", set())
    if by_kind.get("thread"):
        moved = list(by_kind["thread"])
        work.post_ids |= await _ids(Post.filter(thread_id__in=moved), "id")
    if by_kind.get("network"):
        networks = list(by_kind["network"])
        threads |= await _ids(Thread.filter(network_id__in=networks), "id")
        work.post_ids |= await _ids(Post.filter(thread__network_id__in=networks), "id")
    if by_kind.get("user"):
        users = list(by_kind["user"])
        work.post_ids |= await _ids(Post.filter(author_id__in=users), "id")
        threads |= await _ids(Summary.filter(author_id__in=users), "thread_id")
    work.summary_thread_ids |= threads
    return work


async def _documents(work: Work) -> AsyncIterator[tuple[list[dict[str, Any]], list[str]]]:
    """The work's documents to write and ids to delete, CHUNK objects at a time."""
    post_ids = sorted(work.post_ids)
    for start in range(0, len(post_ids), CHUNK):
        yield await documents.post_documents(post_ids[start : start + CHUNK])
    thread_ids = sorted(work.summary_thread_ids)
    for start in range(0, len(thread_ids), CHUNK):
        yield await documents.summary_documents(thread_ids[start : start + CHUNK])


def index_name(root: Path) -> str:
    return f"{socket.gethostname()}:{root.resolve()}"[:255]


async def _note_cursor(root: Path, cursor: int) -> None:
    await SearchCursor.update_or_create(
        name=index_name(root), defaults={"cursor": cursor, "updated_at": utcnow()}
    )


@dataclass
class _Open:
    """An index open for writing, with the cursor read from it."""

    root: Path
    name: str
    ix: Any
    cursor: int


async def _open(root: Path) -> _Open:
    """Open the index for following the log. Rebuilds first when it is unusable (missing its
    history, damaged, of another schema version, or behind pruned changes)."""
    try:
        name, ix = await asyncio.to_thread(ensure_index, root)
        cursor = await asyncio.to_thread(read_cursor, ix)
    except IndexUnavailable as exc:
        log.warning("search index unusable (%s): rebuilding from the database", exc)
        await rebuild(root)
        name, ix = await asyncio.to_thread(ensure_index, root)
        cursor = await asyncio.to_thread(read_cursor, ix)
    pruned = await SearchCursor.get_or_none(name=PRUNED_MARK)
    if pruned is not None and cursor < pruned.cursor:
        log.warning("search index is behind pruned changes: rebuilding from the database")
        await rebuild(root)
        name, ix = await asyncio.to_thread(ensure_index, root)
        cursor = await asyncio.to_thread(read_cursor, ix)
    return _Open(root, name, ix, cursor)


async def _apply_pending(index: _Open, batch: int = BATCH) -> int:
    """Apply the changes after the index's cursor, a batch per Whoosh commit."""
    applied = 0
    while True:
        changes = await pending_changes(index.cursor, batch)
        if not changes:
            break
        work = await expand(changes)
        docs: list[dict[str, Any]] = []
        deletes: list[str] = []
        async for more, gone in _documents(work):
            docs += more
            deletes += gone
            if len(docs) + len(deletes) >= WRITE_MAX:
                # A change that touches a whole network: written a part at a time, with the
                # cursor where it was until the last part (killed between parts, the batch
                # is applied again from the start).
                await asyncio.to_thread(write_batch, index.ix, docs, deletes, index.cursor)
                docs, deletes = [], []
        cursor = changes[-1].id
        await asyncio.to_thread(write_batch, index.ix, docs, deletes, cursor)
        index.cursor = cursor
        applied += len(changes)
    if applied:
        await _note_cursor(index.root, index.cursor)
    return applied


async def catch_up(root: Path, *, batch: int = BATCH) -> int:
    """Apply every pending change to the index in `root`; returns how many were applied.

    Rebuilds first when the index is unusable (see `_open`).
    """
    return await _apply_pending(await _open(root), batch)


async def prune() -> int:
    """Delete changes every known index has applied, and any older than RETENTION; but
    never the newest, whose id is where the log stands for the pages that keep counts until
    it moves (`changes.UntilChanged`): an empty log would say nothing."""
    cutoff = utcnow() - RETENTION
    live = await SearchCursor.filter(updated_at__gte=cutoff).exclude(name=PRUNED_MARK)
    floor = min((c.cursor for c in live), default=0)
    oldest_kept: list[Any] = (
        await Change.filter(created_at__lt=cutoff)
        .order_by("-id")
        .limit(1)
        .values_list("id", flat=True)
    )
    old_max = int(oldest_kept[0]) if oldest_kept else 0
    at = await position()
    through = min(max(floor, old_max), at[0] - 1 if at else 0)
    if through <= 0:
        return 0
    # In batches, each its own short statement: after an import of millions of posts one
    # DELETE would hold the database (and this process's connection) for a long while.
    deleted = 0
    first: list[Any] = await Change.all().order_by("id").limit(1).values_list("id", flat=True)
    start = int(first[0]) if first else through + 1
    while start <= through:
        end = min(through, start + PRUNE_BATCH - 1)
        deleted += int(await Change.filter(id__gte=start, id__lte=end).delete())
        start = end + 1
        await asyncio.sleep(0)
    if min(old_max, through) > floor:
        await SearchCursor.update_or_create(
            name=PRUNED_MARK, defaults={"cursor": min(old_max, through), "updated_at": utcnow()}
        )
    return deleted


async def _start(settle_wait: float) -> int:
    """Where a new generation starts following the log: every entry at or below it must be
    in the tables the rebuild reads next. The newest entry, once the log is settled (no
    entry below it in flight: `changes.APPENDING`). If it does not settle within
    `settle_wait` seconds (writers without a pause), the newest entry older than GAP_WAIT,
    `pending_changes`' own bound on an entry in flight: the entries after it are applied
    again, which changes nothing they had already put in."""
    at, settled = await read_settled(settle_wait)
    if at is None or settled:
        return at[0] if at else 0
    older: list[Any] = (
        await Change.filter(created_at__lt=utcnow() - GAP_WAIT)
        .order_by("-id")
        .limit(1)
        .values_list("id", flat=True)
    )
    return int(older[0]) if older else 0


async def rebuild(
    root: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    settle_wait: float = SETTLE_WAIT,
) -> Path:
    """Index everything from the database into a new generation, then swap it in.

    Searches keep using the old generation until the swap. progress(done, total) is called
    as posts are indexed.

    Documents are written newest first, posts and summaries together by their dates (a
    summary's last edit): a very broad query reads only the newest part of each segment
    (`query._newest_part`), which is then its start, reached without reading the postings
    of the rest.
    """
    cursor = await _start(settle_wait)
    generation = await asyncio.to_thread(new_generation, root)
    ix = await asyncio.to_thread(whoosh_index.open_dir, str(generation))
    # Whoosh's multiprocess writer: each process builds its own segment (kept as is, not
    # merged), which roughly halves a rebuild on two cores.
    writer = await asyncio.to_thread(
        lambda: ix.writer(procs=max(1, min(4, os.cpu_count() or 1)), limitmb=128, multisegment=True)
    )
    try:
        order = await _newest_first()
        total = len(order)
        for start in range(0, total, CHUNK):
            chunk = order[start : start + CHUNK]
            posts, _ = await documents.post_documents([i for k, i in chunk if k == "p"])
            summaries, _ = await documents.summary_documents([i for k, i in chunk if k == "s"])
            docs = posts + summaries
            docs.sort(key=lambda doc: (doc["created"], -doc["rank"], doc["post_id"]), reverse=True)
            await asyncio.to_thread(_add_all, writer, docs)
            if progress:
                progress(min(start + CHUNK, total), total)
        await asyncio.to_thread(_add_all, writer, [cursor_doc(cursor)])
        await asyncio.to_thread(writer.commit)
    except BaseException:
        await asyncio.to_thread(writer.cancel)
        raise
    await asyncio.to_thread(swap_in, root, generation)
    await _note_cursor(root, cursor)
    return generation


async def _newest_first() -> list[tuple[str, int]]:
    """Every searchable post and every summary, newest first (a summary by its last edit):
    ("p", post id) or ("s", thread id)."""
    posts: list[Any] = (
        await documents.searchable_posts()
        .order_by("-created_at", "-id")
        .values_list("id", "created_at")
    )
    summaries = sorted(
        (
            (updated or created, int(thread_id))
            for thread_id, updated, created in await Summary.all().values_list(
                "thread_id", "updated_at", "created_at"
            )
        ),
        reverse=True,
    )
    merged = heapq.merge(
        (("p", int(i), at) for i, at in posts),
        (("s", i, at) for at, i in summaries),
        key=lambda item: item[2],
        reverse=True,
    )
    return [(kind, i) for kind, i, _ in merged]


def _add_all(writer: Any, docs: list[dict[str, Any]]) -> None:
    for doc in docs:
        writer.add_document(**doc)


async def check(root: Path) -> list[str]:
    """Differences between what the database says should be indexed and what is."""
    await catch_up(root)
    _, ix = await asyncio.to_thread(ensure_index, root)
    post_ids: list[Any] = await documents.searchable_posts().values_list("id", flat=True)
    summary_ids: list[Any] = await Summary.all().values_list("thread_id", flat=True)
    expected = {documents.post_doc_id(int(i)) for i in post_ids} | {
        documents.summary_doc_id(int(i)) for i in summary_ids
    }
    indexed = await asyncio.to_thread(_indexed_ids, ix)
    problems = [f"missing from the index: {d}" for d in sorted(expected - indexed)]
    problems += [f"in the index but not the database: {d}" for d in sorted(indexed - expected)]
    return problems


def _indexed_ids(ix: Any) -> set[str]:
    with ix.searcher() as searcher:
        return {
            doc["doc_id"]
            for doc in searcher.all_stored_fields()
            if doc.get("kind") in ("post", "summary")
        }


async def run(root: Path, stop: asyncio.Event, *, interval: float = 0.5) -> None:
    """Follow the change log until `stop` is set. Only one indexer per folder runs: if another
    process holds the folder's lock, this one waits for it to go away."""
    while not stop.is_set():
        with indexer_lock(root) as mine:
            if mine:
                await _follow(root, stop, interval)
                return
        await _sleep(stop, 5.0)


async def _follow(root: Path, stop: asyncio.Event, interval: float) -> None:
    # The index stays open between rounds: an idle round is one small database query and
    # one small file read (to notice a rebuild swapped in by `forum search rebuild`).
    index: _Open | None = None
    pruned_at = 0.0
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        applied = 0
        try:
            if index is None or await asyncio.to_thread(current_name, root) != index.name:
                index = await _open(root)
            applied = await _apply_pending(index)
            if loop.time() - pruned_at > 3600:
                await prune()
                pruned_at = loop.time()
        except Exception:  # keep following: the log keeps what was not applied
            log.exception("search indexer failed; retrying")
            index = None
        if not applied:
            await _sleep(stop, interval)


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
