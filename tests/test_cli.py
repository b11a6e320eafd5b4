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
