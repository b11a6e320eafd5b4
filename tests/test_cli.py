"""The `forum` command, run as a person runs it: a real process on a real SQLite file."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from forum import db
from forum.accounts import services
from forum.config import load_settings
from tests.hostile_archives import HEADER, HOSTILE, merge_into_secret

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


def test_import_help_gives_the_limits_the_grants_and_what_a_refusal_looks_like() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "forum", "import", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    for said in [
        "held to the forms' limits ([limits] in config.toml: title_max, body_max, tags_max",
        "is refused before the rest of it is read",
        "nothing is written, and the command exits 1 with one line naming the line",
        "a role over accounts or networks already in the forum needs --grant-roles",
        "--grant-roles allow memberships and facilitator roles",
        'forum: a.jsonl: line 6: thread "t-1": field "tags" has 5,000 tags; the limit is 8 '
        "(limits.tags_max in config.toml) Nothing was imported.",
    ]:
        assert said in text, said


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


# ------------------------------------------------------------- import: hostile archives
#
# Every archive of tests/hostile_archives.py, given to the command: it exits 1 with one line
# on stderr naming the line and the problem, prints no traceback and writes nothing. The
# whole table goes through the command's entry point (`forum.cli.main` with a real argv, in
# this process: the table is long); the issue's own cases also as a real process.

#: The most a refused import may hold in memory (its peak RSS; an import of the base archive
#: peaks near 65 MB): reading the 300 MB line whole would take at least 300 MB.
IMPORT_RSS_MAX = 160 * 1024 * 1024


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database with the schema, made once by `forum db upgrade`, to copy."""
    where = tmp_path_factory.mktemp("migrated")
    path = where / "config.toml"
    path.write_text('[database]\nurl = "sqlite://forum.sqlite3"\n[security]\ndata_dir = "data"\n')
    upgraded = forum(path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    return where / "forum.sqlite3"


@pytest.fixture
def fresh(config: Path, migrated: Path) -> Path:
    """The `config` fixture's forum, migrated and empty."""
    shutil.copyfile(migrated, config.parent / "forum.sqlite3")
    return config


def table_rows(config: Path) -> dict[str, int]:
    """Rows in every table of the forum's SQLite file: what an import could have written."""
    with closing(sqlite3.connect(config.parent / "forum.sqlite3")) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        # Table names from sqlite_master, not from input.
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608


def audit_actions(config: Path) -> list[tuple[str, dict[str, Any]]]:
    with closing(sqlite3.connect(config.parent / "forum.sqlite3")) as conn:
        return [
            (action, json.loads(after))
            for action, after in conn.execute('SELECT action, "after" FROM audit_log ORDER BY id')
        ]


def refusal(path: Path, message: str) -> str:
    """What the command's one line of stderr must match for an archive refused with `message`
    (a regular expression)."""
    return re.escape(f"forum: {path}: ") + message + re.escape(" Nothing was imported.")


def assert_one_line_refusal(out: str, err: str, path: Path, message: str) -> None:
    assert "Traceback" not in out + err, err
    assert out == ""
    assert "\x1b" not in err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert re.fullmatch(refusal(path, message), err.removesuffix("\n")), err


@pytest.mark.parametrize("case", list(HOSTILE))
def test_the_command_refuses_every_hostile_archive_in_one_line_writing_nothing(
    fresh: Path,
    tmp_path: Path,
    case: str,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from forum import cli

    monkeypatch.setenv("FORUM_CONFIG", str(fresh))  # main() sets it: put back after the test
    monkeypatch.setattr("forum.app.configure_logging", lambda: None)  # global: not for a test
    hostile = HOSTILE[case]
    path = hostile.write(tmp_path / "hostile.jsonl")
    before = table_rows(fresh)

    status = cli.main(["--config", str(fresh), "import", str(path)])

    out, err = capfd.readouterr()
    assert status == 1
    assert_one_line_refusal(out, err, path, hostile.message)
    assert table_rows(fresh) == before


#: Runs the command given after the file name and writes its exit status and peak RSS (in
#: kB) to that file. A small process of its own: a child's peak RSS counts what it shared
#: with its parent before `exec`, and pytest's own can be large.
MEASURE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def forum_measured(config: Path, *args: str) -> tuple[int, str, str, int]:
    """`forum` run as a process: its exit status, stdout, stderr and peak RSS in bytes."""
    with tempfile.TemporaryDirectory() as where:
        measured = Path(where) / "measured"
        command = [sys.executable, "-m", "forum", "--config", str(config), *args]
        result = subprocess.run(
            [sys.executable, "-c", MEASURE, str(measured), *command],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        status, peak_kb = map(int, measured.read_text().split())
    return status, result.stdout, result.stderr, peak_kb * 1024


#: The issue's own cases, each run as a person runs the command.
ISSUE_CASES = [
    "8 MB body (a line too long to read)",
    "a 300 MB line",
    "a gzip bomb: one line unpacking to 60 MB",
    "5,000 tags",
    "500-character title",
    "year 9999 with an offset (past the last time there is)",
    "year 9999 in UTC",
    "year 0",
    "month 13, day 45",
    "a time zone name",
    "a time as a 19-digit number",
    "invalid UTF-8",
    "a JSON nesting bomb of objects",
    "a line that is a list",
    "a duplicate post id",
    "an unknown record type",
]


@pytest.mark.parametrize("case", ISSUE_CASES)
def test_forum_import_refuses_the_reviews_archives_in_bounded_memory(
    fresh: Path, tmp_path: Path, case: str
) -> None:
    hostile = HOSTILE[case]
    path = hostile.write(tmp_path / "hostile.jsonl")
    before = table_rows(fresh)

    status, out, err, peak = forum_measured(fresh, "import", str(path))

    assert status == 1
    assert_one_line_refusal(out, err, path, hostile.message)
    assert table_rows(fresh) == before
    # The 300 MB line (and the bomb's 60 MB) are refused by the bounded readline after
    # 665,536 bytes: never read whole.
    assert peak < IMPORT_RSS_MAX, peak


def test_a_300_mb_line_is_refused_before_it_is_read(fresh: Path, tmp_path: Path) -> None:
    path = HOSTILE["a 300 MB line"].write(tmp_path / "long.jsonl")
    assert path.stat().st_size > 300_000_000
    assert path.stat().st_blocks * 512 < 1_000_000  # sparse: the test wrote almost nothing

    status, _, err, peak = forum_measured(fresh, "import", str(path))

    assert status == 1 and "line 7: longer than 665,536 bytes" in err
    assert peak < IMPORT_RSS_MAX, peak


def test_forum_import_grants_a_role_over_existing_records_only_with_grant_roles(
    fresh: Path, tmp_path: Path
) -> None:
    """The review's case: --skip-existing made an existing account facilitator of a
    members-only network and added a thread to it, unaudited."""
    records = [HEADER, *merge_into_secret()]
    first = tmp_path / "first.jsonl"
    first.write_text("".join(json.dumps(r) + "\n" for r in records[:3]))
    assert forum(fresh, "import", str(first)).returncode == 0
    merge = tmp_path / "merge.jsonl"
    merge.write_text("".join(json.dumps(r) + "\n" for r in records))
    before = table_rows(fresh)
    what = (
        'alice: facilitator of "secret" (members only; the account was already in the forum; '
        "the network was already in the forum)"
    )

    status, out, err, _ = forum_measured(fresh, "import", "--skip-existing", str(merge))

    assert status == 1
    assert_one_line_refusal(
        out,
        err,
        merge,
        re.escape(
            f'line 4: membership of "alice" in "secret": grants a role over what was already '
            f"in the forum ({what}); import with --grant-roles to allow that (--dry-run lists "
            "every grant first)"
        ),
    )
    assert table_rows(fresh) == before

    dry = forum(fresh, "import", "--skip-existing", "--grant-roles", "--dry-run", str(merge))
    assert dry.returncode == 0, dry.stderr
    assert f"  line 4: {what}\n" in dry.stdout
    assert "Dry run: nothing was written." in dry.stdout
    assert table_rows(fresh) == before

    done = forum(fresh, "import", "--skip-existing", "--grant-roles", str(merge))

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "Skipped (already present): 1 user, 1 network" in done.stdout
    assert (
        "Roles granted (1 facilitator, 1 reaching existing records):\n"
        f"  line 4: {what}\n"
        "Added to network 'secret', already in the forum: 1 thread, 1 post\n"
        "Recorded in the audit log: /admin/audit?action=archive.import\n"
    ) in done.stdout
    *_, (added, grant), (imported, entry) = audit_actions(fresh)
    assert (added, grant) == (
        "member.add",
        {"user": "alice", "role": "facilitator", "how": "imported"},
    )
    assert imported == "archive.import"
    assert entry["grants"] == [f"line 4: {what}"]
    assert entry["options"] == "--skip-existing --grant-roles"
    assert entry["added_to_existing_networks"] == {"secret": "1 thread, 1 post"}
