"""The `forum` command, run as a person runs it: a real process on a real SQLite file."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from forum import db
from forum.accounts import services
from forum.config import load_settings

COMMANDS = [
    [],
    ["serve"],
    ["db"],
    ["db", "upgrade"],
    ["demo"],
    ["user"],
    ["user", "create"],
    ["user", "set-password"],
    ["import"],
    ["export"],
    ["mail"],
    ["mail", "send"],
    ["backup"],
]


def forum(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "forum", "--config", str(config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[database]\nurl = "sqlite://forum.sqlite3"\n'
        '[security]\ndata_dir = "data"\n'
        '[search]\nindex_dir = "index"\n'
    )
    return path


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "forum")
def test_every_command_has_help(command: list[str], tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "forum", *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: forum" in result.stdout


def test_a_bad_setting_stops_start_up_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[server]\nport = "eighty"\n')
    result = forum(path, "db", "upgrade")
    assert result.returncode == 2
    assert "server.port" in result.stderr


async def test_upgrade_create_user_and_set_password(config: Path) -> None:
    assert forum(config, "db", "upgrade").returncode == 0
    created = forum(
        config,
        "user",
        "create",
        "--username",
        "Alice",
        "--email",
        "alice@example.org",
        "--display-name",
        "Alice Adams",
        "--admin",
        stdin="first password 123\n",
    )
    assert created.returncode == 0, created.stderr
    assert "admin user 'alice'" in created.stdout
    duplicate = forum(
        config,
        "user",
        "create",
        "--username",
        "alice",
        "--email",
        "other@example.org",
        "--display-name",
        "A",
        stdin="first password 123\n",
    )
    assert duplicate.returncode == 1 and "taken" in duplicate.stderr
    short = forum(config, "user", "set-password", "alice", stdin="short\n")
    assert short.returncode == 1 and "at least" in short.stderr
    changed = forum(config, "user", "set-password", "alice", stdin="second password 456\n")
    assert changed.returncode == 0, changed.stderr
    unknown = forum(config, "user", "set-password", "nobody", stdin="second password 456\n")
    assert unknown.returncode == 1

    settings = replace(load_settings(config, env={}))
    async with db.opened(settings):
        assert await services.authenticate(login="alice", password="second password 456")
        assert not await services.authenticate(login="alice", password="first password 123")


def test_import_of_a_missing_file_says_so(config: Path) -> None:
    assert forum(config, "db", "upgrade").returncode == 0
    result = forum(config, "import", "nope.jsonl")
    assert result.returncode == 1
    assert "no such file" in result.stderr


def test_demo_loads_once_and_export_import_round_trips(config: Path, tmp_path: Path) -> None:
    assert forum(config, "db", "upgrade").returncode == 0
    first = forum(config, "demo", "--if-empty")
    assert first.returncode == 0, first.stderr
    assert "demo-password-2026" in first.stdout and "admin" in first.stdout
    again = forum(config, "demo", "--if-empty")
    assert again.returncode == 0 and "not loaded again" in again.stdout
    assert forum(config, "demo").returncode == 1

    exported = forum(config, "export", str(tmp_path / "a.jsonl.gz"))
    assert exported.returncode == 0, exported.stderr
    assert "summaries" in exported.stdout
    assert "Exported" in exported.stdout

    other = tmp_path / "other.toml"
    other.write_text('[database]\nurl = "sqlite://other.sqlite3"\n[security]\ndata_dir = "d2"\n')
    assert forum(other, "db", "upgrade").returncode == 0
    imported = forum(other, "import", str(tmp_path / "a.jsonl.gz"))
    assert imported.returncode == 0, imported.stderr
    assert "Imported" in imported.stdout
    twice = forum(other, "import", str(tmp_path / "a.jsonl.gz"))
    assert twice.returncode == 1 and "Nothing was imported" in twice.stderr
    skipped = forum(other, "import", "--skip-existing", str(tmp_path / "a.jsonl.gz"))
    assert skipped.returncode == 0 and "Skipped" in skipped.stdout
    assert forum(other, "export", str(tmp_path / "b.jsonl.gz")).returncode == 0

    import gzip
    import json

    def records(name: str) -> list[dict[str, object]]:
        with gzip.open(tmp_path / name, "rt", encoding="utf-8") as fh:
            return [json.loads(line) for line in fh][1:]

    assert records("a.jsonl.gz") == records("b.jsonl.gz")


def test_export_to_an_unwritable_place_says_so(config: Path) -> None:
    assert forum(config, "db", "upgrade").returncode == 0
    result = forum(config, "export", "/nonexistent-dir/x.jsonl")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr


def test_search_rebuild_and_check(config: Path, tmp_path: Path) -> None:
    assert forum(config, "db", "upgrade").returncode == 0
    assert forum(config, "demo").returncode == 0  # brings the index up to date before returning
    checked = forum(config, "search", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "matches the database" in checked.stdout
    rebuilt = forum(config, "search", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "swapped in" in rebuilt.stdout
    # Damage the index behind the indexer's back: check notices and says so.
    index = tmp_path / "index"
    current = (index / "CURRENT").read_text()
    import whoosh.index

    ix = whoosh.index.open_dir(str(index / current))
    with ix.searcher() as searcher:
        victim = next(d["doc_id"] for d in searcher.all_stored_fields() if d.get("kind") == "post")
    writer = ix.writer()
    writer.delete_by_term("doc_id", victim)
    writer.commit()
    damaged = forum(config, "search", "check")
    assert damaged.returncode == 1
    assert f"missing from the index: {victim}" in damaged.stdout
    assert forum(config, "search", "rebuild").returncode == 0
    assert forum(config, "search", "check").returncode == 0


async def test_the_indexer_process_follows_the_log_and_stops_cleanly(
    config: Path, tmp_path: Path
) -> None:
    import asyncio
    import signal

    from forum.search.service import SearchService
    from tests.factories import make_member, make_network, make_thread

    assert forum(config, "db", "upgrade").returncode == 0
    process = subprocess.Popen(  # noqa: ASYNC220 (a long-running process, not awaited)
        [sys.executable, "-m", "forum", "--config", str(config), "indexer"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    settings = load_settings(config, env={})
    search = SearchService(settings.index_dir)
    try:
        # A post written by another process while the indexer runs becomes searchable.
        async with db.opened(settings):
            network = await make_network("dl")
            await make_thread(network, await make_member(network), body="capybara")
        for _ in range(120):
            page = await search.search("capybara", network_ids=[network.id])
            if page.total == 1:
                break
            await asyncio.sleep(0.5)
        else:
            raise AssertionError("the indexer did not pick up the new post")
    finally:
        search.close()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err


async def test_mail_send_writes_the_outbox_to_the_mail_folder(config: Path) -> None:
    """The default backend needs no mail server: each message becomes an .eml file."""
    assert forum(config, "db", "upgrade").returncode == 0
    settings = load_settings(config, env={})
    async with db.opened(settings):
        from forum.mail import services as mail

        await mail.queue(
            to="ada@example.org", subject="Hello", text="Open http://127.0.0.1:8000/verify/abc"
        )
    result = forum(config, "mail", "send")
    assert result.returncode == 0, result.stderr
    assert "sent 1, failed 0" in result.stdout
    files = list((config.parent / "data" / "mail").glob("*.eml"))
    assert len(files) == 1
    text = files[0].read_text()
    assert "To: ada@example.org" in text and "/verify/abc" in text
    assert "http://127.0.0.1:8000/verify/abc" in result.stderr  # the link is logged
    again = forum(config, "mail", "send")
    assert "sent 0, failed 0" in again.stdout
