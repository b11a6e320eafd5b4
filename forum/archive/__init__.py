"""The forum archive: `forum import` and `forum export` (format: docs/archive-format.md).

`import_archive` reads an archive into the forum in one transaction, or raises ArchiveError
naming the line and writes nothing; `export_archive` writes the whole forum to one.
"""

from forum.archive.exporter import ExportReport, export_archive
from forum.archive.importer import ImportReport, import_archive
from forum.archive.records import ArchiveError

__all__ = ["ArchiveError", "ExportReport", "ImportReport", "export_archive", "import_archive"]
