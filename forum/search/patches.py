"""One fix to Whoosh, applied when the search package is imported.

Whoosh's segment reader caches the column of field lengths it finds, but not the absence of
one: every posting of a field without lengths (ids, tags, dates) asks the filesystem again
whether the column file exists. Writing a segment does that once per posting, about a tenth
of a rebuild's time. A segment's files never change once written, so remembering "no such
column" is safe.
"""

from __future__ import annotations

from typing import Any

from whoosh.codec import whoosh3


def _cached_reader(self: Any, fieldname: str, column: Any) -> Any:
    try:
        return self._readers[fieldname]
    except KeyError:
        reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
        self._readers[fieldname] = reader
        return reader


def apply() -> None:
    whoosh3.W3PerDocReader._cached_reader = _cached_reader
