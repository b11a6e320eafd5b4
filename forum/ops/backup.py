"""Backups of the database: the search index is never backed up (it is rebuilt from the
database with `forum search rebuild`).

- SQLite: SQLite's online backup API copies a consistent snapshot while the forum keeps
  running (a plain file copy during a write could be torn).
- PostgreSQL: `pg_dump --format=custom`, restored with `pg_restore`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from forum.config import Settings


class BackupError(Exception):
    """The backup could not be made; the message says why."""


def sqlite_path(settings: Settings) -> Path:
    return Path(settings.database_url.removeprefix("sqlite://").partition("?")[0])


def backup(settings: Settings, target: Path) -> Path:
    """Write a backup of the database to `target` (a new file). Returns its path."""
    target = target.resolve()
    if target.exists():
        raise BackupError(f"{target} already exists: choose a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    if settings.is_sqlite:
        _sqlite(sqlite_path(settings), target)
    else:
        _postgres(settings.database_url, target)
    return target


def _sqlite(source: Path, target: Path) -> None:
    if not source.exists():
        raise BackupError(f"no database at {source}")
    tmp = target.with_name(target.name + ".partial")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(tmp, target)


def _dsn(url: str) -> str:
    """A libpq URL from the forum's postgres:// URL (the password passed in the environment)."""
    parts = urlsplit(url.replace("postgres://", "postgresql://", 1))
    netloc = parts.hostname or "localhost"
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return f"postgresql://{netloc}{parts.path}"


def _postgres(url: str, target: Path) -> None:
    password = urlsplit(url.replace("postgres://", "postgresql://", 1)).password
    env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    tmp = target.with_name(target.name + ".partial")
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump is not installed (Debian: apt-get install postgresql-client)")
    # Fixed arguments; the URL is the operator's own setting.
    result = subprocess.run(  # noqa: S603
        [pg_dump, "--format=custom", "--no-owner", "--file", str(tmp), _dsn(url)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    os.replace(tmp, target)
