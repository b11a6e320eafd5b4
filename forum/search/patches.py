"""Three fixes to Whoosh and one hook, applied when the search package is imported.

1. Whoosh opens each file inside a segment (a compound file, memory-mapped) as a
   `BufferFile`, which wrapped the mapped bytes in `io.BytesIO`: a copy of the whole file.
   Opening a reader on an index of two million posts copied gigabytes (the server's memory
   went from 70 MB to over 8 GB for a few seconds at start, and again each time a reader was
   opened). `_ViewFile` reads the mapped bytes in place, and the pickle at the head of every
   block of postings is loaded from a small copy of what follows it (`pickle.load` on a
   Python file would make a call for every few bytes).

2. Whoosh's segment reader caches the column of field lengths it finds, but not the absence of
one: every posting of a field without lengths (ids, tags, dates) asks the filesystem again
whether the column file exists. Writing a segment does that once per posting, about a tenth
of a rebuild's time. A segment's files never change once written, so remembering "no such
column" is safe.

3. A term's `all_ids()` (every document it is in: counting matches, the documents an
   exclusion takes away, the permission bit sets) went through Whoosh's generic loop, three
   method calls per posting; postings come in blocks of ids already decoded, so they are
   given a block at a time (a third of the time for a common word).

4. (A hook, not a fix.) Every block of postings a matcher reads first asks `budget.check()`
   whether the search in this thread still has time: a search stops within one block of
   any matcher once its time budget is spent (see `forum.search.budget`).
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from whoosh.codec import whoosh3
from whoosh.filedb import structfile

from forum.search import budget


class _ViewFile:
    """A read-only file over a memoryview: reads copy only what they return."""

    def __init__(self, buf: Any) -> None:
        self._view = memoryview(buf).cast("B")
        self._pos = 0

    def read(self, size: int | None = -1) -> bytes:
        start, length = self._pos, len(self._view)
        end = length if size is None or size < 0 else min(length, start + size)
        self._pos = max(start, end)
        return self._view[start:end].tobytes()

    def readline(self, size: int | None = -1) -> bytes:
        view, start = self._view, self._pos
        end = len(view) if size is None or size < 0 else min(len(view), start + size)
        at = start
        while at < end:  # look a little at a time: the rest of the file may be gigabytes
            chunk = view[at : min(end, at + 4096)].tobytes()
            found = chunk.find(b"\n")
            if found >= 0:
                return self.read(at + found + 1 - start)
            at += len(chunk)
        return self.read(end - start)

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def getvalue(self) -> bytes:
        return self._view.tobytes()

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def _read_pickle(self: Any) -> Any:
    """StructFile.read_pickle for a `_ViewFile`: Whoosh keeps a pickle at the head of every
    block of postings, and `pickle.load` on a Python file makes a call per few bytes; load
    from a small in-memory copy of what follows instead, and move on by what it used."""
    f = self.file
    if not isinstance(f, _ViewFile):
        return pickle.load(f)  # noqa: S301 - the index's own files, as Whoosh reads them
    size = 1024
    while True:
        start = f._pos
        chunk = io.BytesIO(f._view[start : start + size])
        try:
            found = pickle.load(chunk)  # noqa: S301 - as above
        except (EOFError, pickle.UnpicklingError):
            if start + size >= len(f._view):
                raise
            size *= 16
            continue
        f._pos = start + chunk.tell()
        return found


def _buffer_file_init(self: Any, buf: Any, name: str | None = None, onclose: Any = None) -> None:
    self._buf = buf
    self._name = name
    self.file = _ViewFile(buf)
    self.onclose = onclose
    self.is_real = False
    self.is_closed = False


def _cached_reader(self: Any, fieldname: str, column: Any) -> Any:
    try:
        return self._readers[fieldname]
    except KeyError:
        reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
        self._readers[fieldname] = reader
        return reader


_goto = whoosh3.W3LeafMatcher._goto


def _budgeted_goto(self: Any, position: int) -> None:
    budget.check()
    _goto(self, position)


def _all_ids(self: Any) -> Any:
    while self.is_active():
        if self._ids is None:
            self._read_ids()
        yield from self._ids[self._i : self._blocklength]
        self._i = self._blocklength - 1
        self.next()  # on to the next block (through _goto: the budget is checked)


def apply() -> None:
    structfile.BufferFile.__init__ = _buffer_file_init
    structfile.BufferFile.read_pickle = _read_pickle
    whoosh3.W3PerDocReader._cached_reader = _cached_reader
    whoosh3.W3LeafMatcher._goto = _budgeted_goto
    whoosh3.W3LeafMatcher.all_ids = _all_ids
