"""The index folder: generations, the atomic swap, the one writer and the shared reader.

Layout of the folder (default `search_index/`):

    CURRENT          name of the generation in use ("gen-20261123T120000-ab12")
    gen-…/           a Whoosh index; a rebuild writes a new one beside it, then swaps CURRENT
    indexer.lock     held (flock) by the one indexer process following the change log

The last change-log id applied is stored *inside* the index, on a document of its own,
in the same Whoosh commit as the documents it produced: the index and its cursor can never
disagree, whatever happens to the process.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import secrets
import shutil
import threading
import warnings
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.index import Index
from whoosh.searching import Searcher

from forum.search.schema import CURSOR_DOC, SCHEMA_VERSION, make_schema

CURRENT = "CURRENT"
LOCK = "indexer.lock"


class IndexUnavailable(Exception):
    """The folder holds no usable index (missing, or unreadable): rebuild it."""


def current_name(root: Path) -> str | None:
    """The name of the generation in use, if any."""
    return _read_current(root)


def _read_current(root: Path) -> str | None:
    try:
        name = (root / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def new_generation(root: Path) -> Path:
    """Create an empty index in a fresh generation folder (not yet current)."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = root / f"gen-{stamp}-{secrets.token_hex(3)}"
    path.mkdir()
    whoosh_index.create_in(str(path), make_schema())
    return path


def swap_in(root: Path, generation: Path) -> None:
    """Make `generation` the current index atomically, then remove older generations.

    Readers that still hold files of an old generation keep reading them (unlinked files stay
    readable while open) until they notice the swap and reopen.
    """
    tmp = root / f".{CURRENT}.{secrets.token_hex(4)}"
    tmp.write_text(generation.name, encoding="utf-8")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, root / CURRENT)
    for old in root.glob("gen-*"):
        if old.name != generation.name and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


def open_current(root: Path) -> tuple[str, Index]:
    """The current generation's name and index. Raises IndexUnavailable."""
    name = _read_current(root)
    if name is None:
        raise IndexUnavailable(f"{root}: no index yet")
    # Whoosh leaves a file of a damaged index open when it fails to read it: let it be
    # closed here, quietly, rather than warn at some later garbage collection.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            return name, whoosh_index.open_dir(str(root / name))
        except Exception as exc:  # any damage at all means: rebuild
            message = f"{root / name}: {exc}"
        gc.collect()
    raise IndexUnavailable(message)


def ensure_index(root: Path) -> tuple[str, Index]:
    """Open the current index, creating an empty one (cursor 0) if there is none."""
    try:
        return open_current(root)
    except IndexUnavailable:
        if _read_current(root) is not None:
            raise  # damaged: the indexer decides to rebuild, never silently start empty
        generation = new_generation(root)
        swap_in(root, generation)
        return open_current(root)


def read_cursor(ix: Index) -> int:
    """The last change applied (0 for a new index). Raises IndexUnavailable for an index
    written by another schema version: it must be rebuilt."""
    with ix.searcher() as searcher:
        doc = searcher.document(doc_id=CURSOR_DOC)
    if not doc:
        return 0
    if doc.get("version") != SCHEMA_VERSION:
        raise IndexUnavailable(f"index has schema version {doc.get('version')}")
    return int(doc["cursor"])


def cursor_doc(cursor: int) -> dict[str, Any]:
    return {"doc_id": CURSOR_DOC, "kind": "cursor", "cursor": cursor, "version": SCHEMA_VERSION}


def write_batch(
    ix: Index, upserts: Iterable[dict[str, Any]], deletes: Iterable[str], cursor: int
) -> None:
    """Apply documents and deletions and move the cursor, in one Whoosh commit."""
    writer = ix.writer(timeout=30)
    try:
        for doc_id in deletes:
            writer.delete_by_term("doc_id", doc_id)
        for doc in upserts:
            writer.update_document(**doc)
        writer.update_document(**cursor_doc(cursor))
    except BaseException:
        writer.cancel()
        raise
    writer.commit()


@contextlib.contextmanager
def indexer_lock(root: Path, *, wait: bool = False) -> Iterator[bool]:
    """Hold the folder's indexer lock; yields False (without waiting) if another holds it."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class Reader:
    """Searchers shared by the requests of one process, refreshed when the index changes.

    Whoosh calls block, so callers run `use` in a worker thread. A Whoosh searcher is not
    for two threads at once, so each `use` has a searcher of its own: an idle one of the
    current index generation, or a new one (searches run a few at a time, see
    forum.search.turns, so only a few are ever open). A searcher of an older generation is
    closed when its search is done.
    """

    IDLE_KEPT = 4

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._name: str | None = None
        self._ix: Index | None = None
        self._generation = -1
        self._idle: list[Searcher] = []
        self._closed = False

    def _current(self) -> tuple[str | None, int]:
        # Cheap: one small file read and Whoosh's check of its table of contents. A new
        # commit or a swapped-in generation is seen by the next search.
        name = _read_current(self.root)
        if self._ix is None or name != self._name:
            new_name, ix = open_current(self.root)
            self._name, self._ix = new_name, ix
            self._generation = ix.latest_generation()
            self._close_idle()
        else:
            # Searcher.refresh() can miss a commit made through another Index object, so
            # compare generations ourselves.
            generation = self._ix.latest_generation()
            if generation != self._generation:
                self._generation = generation
                self._close_idle()
        return self._name, self._generation

    def _close_idle(self) -> None:
        for searcher in self._idle:
            searcher.close()
        self._idle = []

    def _take(self) -> tuple[tuple[str | None, int], Searcher]:
        with self._lock:
            key = self._current()
            if self._idle:
                return key, self._idle.pop()
            assert self._ix is not None
            return key, self._ix.searcher()

    def _give_back(self, key: tuple[str | None, int], searcher: Searcher) -> None:
        with self._lock:
            current = (self._name, self._generation)
            if not self._closed and key == current and len(self._idle) < self.IDLE_KEPT:
                self._idle.append(searcher)
                return
        searcher.close()

    @contextlib.contextmanager
    def use(self) -> Iterator[Searcher]:
        """A searcher of the current index, for this thread alone while the block runs.
        Raises IndexUnavailable when there is no usable index."""
        key, searcher = self._take()
        try:
            yield searcher
        finally:
            self._give_back(key, searcher)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._close_idle()
