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
from urllib.parse import parse_qsl, urlencode, urlsplit

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
    tmp = _private(target.with_name(target.name + ".partial"))
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


def _private(path: Path) -> Path:
    """`path` created empty, readable by its owner only, whatever the umask: a backup holds
    password hashes and sessions. (SQLite and pg_dump write into the file as it is.)"""
    path.unlink(missing_ok=True)  # a .partial left by a backup that was killed
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    return path


# Of the forum URL's query, what libpq understands too (a Unix socket's folder, TLS).
_LIBPQ_PARAMETERS = ("host", "sslmode")


def _dsn(url: str) -> str:
    """A libpq URL from the forum's postgres:// URL (the password passed in the environment);
    `?host=/var/run/postgresql`, a Unix socket, is kept."""
    parts = urlsplit(url.replace("postgres://", "postgresql://", 1))
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    kept = [(k, v) for k, v in parse_qsl(parts.query) if k in _LIBPQ_PARAMETERS]
    query = f"?{urlencode(kept)}" if kept else ""
    return f"postgresql://{netloc or 'localhost'}{parts.path}{query}"


def _postgres(url: str, target: Path) -> None:
    password = urlsplit(url.replace("postgres://", "postgresql://", 1)).password
    env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    tmp = target.with_name(target.name + ".partial")
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump is not installed (Debian: apt-get install postgresql-client)")
    _private(tmp)
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
