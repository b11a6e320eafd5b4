"""The archive: import (all or nothing, every line checked), export, and the round trip."""

from __future__ import annotations

import gzip
import json
import re
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from forum import markdown
from forum.accounts.models import Organisation, Session, User
from forum.archive import ArchiveError, export_archive, import_archive
from forum.archive import exporter as exporter_module
from forum.archive import importer as importer_module
from forum.archive.exporter import parents_first
from forum.archive.records import Bounds
from forum.audit.models import AuditEntry
from forum.changes import Change
from forum.config import LimitSettings
from forum.networks.models import Membership, Network, Role, Visibility
from forum.permissions import viewer_for
from forum.threads import curation as curate
from forum.threads import services as threads
from forum.threads.models import Post, PostRevision, Summary, Tag, Thread
from tests.factories import (
    make_member,
    make_network,
    make_org,
    make_reply,
    make_thread,
    make_user,
)
from tests.hostile_archives import HOSTILE, LINE_MAX, merge_into_secret
from tests.hostile_archives import base as hostile_base

FIXTURE = Path(__file__).parent / "fixtures" / "archive_small.jsonl"
HEADER = {"type": "forum-archive", "version": 1, "exported_at": "2026-11-23T12:00:00Z"}
FIXTURE_COUNTS = {
    "organisation": 2,
    "user": 4,
    "network": 2,
    "membership": 5,
    "thread": 3,
    "post": 12,
    "summary": 1,
}


def read_lines(path: Path) -> list[str]:
    opener: Callable[..., Any] = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        text: str = fh.read()
    assert text.endswith("\n")
    return text.removesuffix("\n").split("\n")


def records(path: Path) -> list[dict[str, Any]]:
    """Every record of an archive, the header left out."""
    header, *rest = [json.loads(line) for line in read_lines(path)]
    assert header["type"] == "forum-archive" and header["version"] == 1
    return rest


def fixture_records() -> list[dict[str, Any]]:
    return records(FIXTURE)


def write_archive(path: Path, rows: list[dict[str, Any] | str], *, header: bool = True) -> Path:
    lines = [json.dumps(HEADER)] if header else []
    lines += [row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def table_counts() -> dict[str, int]:
    return {
        "organisation": await Organisation.all().count(),
        "user": await User.all().count(),
        "network": await Network.all().count(),
        "membership": await Membership.all().count(),
        "thread": await Thread.all().count(),
        "post": await Post.all().count(),
        "summary": await Summary.all().count(),
        "tag": await Tag.all().count(),
        "change": await Change.all().count(),
    }


EMPTY = dict.fromkeys([*FIXTURE_COUNTS, "tag", "change"], 0)


async def wipe() -> None:
    """Delete everything, children before parents."""
    await Change.all().delete()
    await PostRevision.all().delete()
    await Summary.all().delete()
    await Post.all().update(parent_id=None)  # replies restrict deleting the posts they answer
    await Post.all().delete()
    for thread in await Thread.all():
        await thread.tags.clear()
    await Thread.all().delete()
    await Tag.all().delete()
    await Session.all().delete()
    await Membership.all().delete()
    await User.all().delete()
    await Network.all().delete()
    await Organisation.all().delete()
    assert await table_counts() == EMPTY


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


# ----------------------------------------------------------------------------- importing


async def test_import_creates_every_record_of_the_fixture(db: str) -> None:
    report = await import_archive(FIXTURE)

    assert report.created == FIXTURE_COUNTS
    assert report.skipped == dict.fromkeys(FIXTURE_COUNTS, 0)
    assert report.lines == 30
    counts = await table_counts()
    assert counts["tag"] == 4
    # The search indexer learns of every new network, thread, post and summary; what keeps
    # the organisations (for the filters) of each new organisation.
    kinds = await Change.all().values_list("kind", flat=True)
    assert sorted(set(kinds)) == ["network", "organisation", "post", "summary", "thread"]
    assert len(kinds) == 2 + 2 + 3 + 12 + 1


async def test_imported_users_cannot_log_in_and_keep_their_organisation(db: str) -> None:
    await import_archive(FIXTURE)

    alice = await User.get(username="alice").select_related("organisation")
    assert alice.password_hash == ""
    assert alice.organisation is not None and alice.organisation.slug == "camden"
    assert alice.created_at == at("2021-03-01T09:00:00Z")
    zoe = await User.get(username="zoe.d")
    assert zoe.is_admin and zoe.organisation_id is None and zoe.display_name == "Zoë Dubois"
    hackney = await Organisation.get(slug="hackney")
    assert hackney.email_domains == ["hackney.gov.uk", "learning-trust.co.uk"]


async def test_imported_networks_keep_visibility_roles_and_rendered_description(db: str) -> None:
    await import_archive(FIXTURE)

    leaders = await Network.get(slug="data-leaders")
    governance = await Network.get(slug="info-governance")
    assert leaders.visibility == Visibility.PUBLIC
    assert governance.visibility == Visibility.MEMBERS
    assert "<strong>monthly</strong>" in leaders.description_html
    carol = await Membership.get(network_id=leaders.id, user__username="carol")
    assert carol.role == Role.FACILITATOR


async def test_imported_threads_have_tags_flags_counts_and_last_activity(db: str) -> None:
    await import_archive(FIXTURE)

    t1 = await Thread.get(ref="t-1").prefetch_related("tags")
    assert t1.slug == "how-is-your-data-team-structured"
    assert sorted(t.slug for t in t1.tags) == ["data-teams", "structure"]
    assert t1.pinned and not t1.locked
    # Six posts: the opening post and one deleted reply do not count.
    assert t1.reply_count == 4
    assert t1.last_activity_at == at("2022-07-26T13:00:00Z")
    t2 = await Thread.get(ref="t-2")
    assert t2.locked and t2.reply_count == 2
    assert t2.last_activity_at == at("2022-08-02T09:00:00Z")


async def test_imported_posts_keep_parents_edits_and_soft_deletes(db: str) -> None:
    await import_archive(FIXTURE)

    posts = {p.ref: p for p in await Post.all()}
    assert posts["p-1"].parent_id is None
    assert posts["p-3"].parent_id == posts["p-2"].id
    assert posts["p-6"].parent_id == posts["p-1"].id
    assert posts["p-9"].thread_id == (await Thread.get(ref="t-2")).id
    assert posts["p-4"].edited_at == at("2022-07-26T11:30:00Z")
    assert posts["p-4"].edited_by_id is None
    assert posts["p-6"].deleted and posts["p-6"].deleted_at == at("2022-07-26T13:00:00Z")
    assert not posts["p-5"].deleted and posts["p-5"].deleted_at is None
    # Rendered exactly as a post written in the browser.
    for post in posts.values():
        assert post.body_html == markdown.render(post.body).html
        assert post.body_text == markdown.render(post.body).text
    mention = HTMLParser(posts["p-3"].body_html).css_first("a.mention")
    assert mention is not None and mention.attributes["href"] == "/u/bob"
    summary = await Summary.get(thread__ref="t-1").select_related("author")
    assert summary.author.username == "carol"
    assert "<strong>hub and spoke</strong>" in summary.body_html
    assert summary.updated_at == at("2022-07-28T08:00:00Z")


async def test_markdown_bodies_are_sanitised_on_import(db: str, tmp_path: Path) -> None:
    rows: list[Any] = fixture_records()[:14]  # up to the first thread, t-1
    hostile = "<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    rows.append(
        {
            "type": "post",
            "id": "p-1",
            "thread": "t-1",
            "author": "alice",
            "created": "2022-07-26T09:30:00Z",
            "body": hostile,
        }
    )
    await import_archive(write_archive(tmp_path / "hostile.jsonl", rows))

    post = await Post.get(ref="p-1")
    tree = HTMLParser(post.body_html)
    assert tree.css("script") == [] and tree.css("img") == []
    assert "&lt;script&gt;" in post.body_html
    for link in tree.css("a"):
        assert not (link.attributes.get("href") or "").lower().startswith("javascript")


async def test_a_file_may_end_without_a_newline(db: str, tmp_path: Path) -> None:
    path = tmp_path / "no-newline.jsonl"
    path.write_text(FIXTURE.read_text(encoding="utf-8").rstrip("\n"), encoding="utf-8")
    report = await import_archive(path)
    assert report.created == FIXTURE_COUNTS


async def test_progress_reports_bytes_read_up_to_the_file_size(db: str) -> None:
    seen: list[int] = []
    await import_archive(FIXTURE, progress=seen.append)
    assert seen and seen == sorted(seen) and seen[-1] == FIXTURE.stat().st_size


# ------------------------------------------------------------------ all or nothing, errors


async def test_an_invalid_line_imports_nothing_and_names_the_line_and_field(
    db: str, tmp_path: Path
) -> None:
    rows: list[dict[str, Any] | str] = list(fixture_records())
    assert isinstance(rows[7], dict) and rows[7]["slug"] == "info-governance"  # line 9
    del rows[7]["name"]

    with pytest.raises(ArchiveError) as caught:
        await import_archive(write_archive(tmp_path / "bad.jsonl", rows))

    assert str(caught.value) == 'line 9: network "info-governance": missing required field "name"'
    assert await table_counts() == EMPTY


async def test_an_error_on_the_last_line_rolls_back_every_post(db: str, tmp_path: Path) -> None:
    rows: list[dict[str, Any] | str] = list(fixture_records())
    rows.append({**fixture_records()[-1], "id": "p-13", "parent": "p-1"})  # p-1: other thread

    with pytest.raises(ArchiveError, match=r"^line 31: post \"p-13\": parent \"p-1\""):
        await import_archive(write_archive(tmp_path / "bad.jsonl", rows))

    assert await table_counts() == EMPTY


def _set(index: int, **changes: Any) -> Callable[[list[Any]], None]:
    def mutate(rows: list[Any]) -> None:
        rows[index] = {**rows[index], **changes}

    return mutate


def _drop(index: int, name: str) -> Callable[[list[Any]], None]:
    def mutate(rows: list[Any]) -> None:
        rows[index] = {k: v for k, v in rows[index].items() if k != name}

    return mutate


def _replace(index: int, text: str) -> Callable[[list[Any]], None]:
    def mutate(rows: list[Any]) -> None:
        rows[index] = text

    return mutate


def _insert(index: int, text: str) -> Callable[[list[Any]], None]:
    def mutate(rows: list[Any]) -> None:
        rows.insert(index, text)

    return mutate


# Index i of the fixture's records is line i + 2 (line 1 is the header).
BAD_LINES = {
    "parent in another thread": (
        _set(23, parent="p-1"),
        'line 25: post "p-8": parent "p-1" is not an earlier post of thread "t-2"',
    ),
    "parent later in the file": (
        _set(15, parent="p-3"),
        'line 17: post "p-2": parent "p-3" is not an earlier post of thread "t-1"',
    ),
    "post replying to itself": (
        _set(15, parent="p-2"),
        'line 17: post "p-2": parent "p-2" is not an earlier post of thread "t-1"',
    ),
    "unknown author": (
        _set(18, author="mallory"),
        'line 20: post "p-5": author "mallory" is not a user on an earlier line or in the forum',
    ),
    "unknown thread": (
        _set(18, thread="t-9"),
        'line 20: post "p-5": thread "t-9" is not a thread on an earlier line or in the forum',
    ),
    "thread in an unknown network": (
        _set(13, network="nowhere"),
        'line 15: thread "t-1": network "nowhere" is not a network on an earlier line or in '
        "the forum",
    ),
    "membership of a user defined later": (
        _set(8, user="nobody"),
        'line 10: membership of "nobody" in "data-leaders": user "nobody" is not a user on '
        "an earlier line or in the forum",
    ),
    "user of an unknown organisation": (
        _set(2, organisation="islington"),
        'line 4: user "alice": organisation "islington" is not an organisation on an earlier '
        "line or in the forum",
    ),
    "missing field": (
        _drop(22, "body"),
        'line 24: post "p-7": missing required field "body"',
    ),
    "null required field": (
        _set(22, author=None),
        'line 24: post "p-7": field "author" must not be null',
    ),
    "time without offset": (
        _set(21, created="2022-08-01T08:00:00"),
        'line 23: thread "t-2": field "created" must be an ISO 8601 time with a UTC offset '
        '(like 2022-07-26T09:30:00Z), got "2022-08-01T08:00:00"',
    ),
    "time that is not a time": (
        _set(4, created="last Tuesday"),
        'line 6: user "carol": field "created" must be an ISO 8601 time with a UTC offset '
        '(like 2022-07-26T09:30:00Z), got "last Tuesday"',
    ),
    "wrong type": (
        _set(13, pinned="yes"),
        'line 15: thread "t-1": field "pinned" must be true or false, got "yes"',
    ),
    "unknown field": (
        _set(16, parent_id="p-1"),
        'line 18: post "p-3": unknown field "parent_id"',
    ),
    "bad visibility": (
        _set(6, visibility="secret"),
        'line 8: network "data-leaders": field "visibility" must be "public" or "members", '
        'got "secret"',
    ),
    "bad username": (
        _set(3, username="bob smith"),
        'line 5: user "bob smith": field "username" must be a username (1 to 40 letters, '
        'digits, underscores, dots or hyphens), got "bob smith"',
    ),
    "bad tag": (
        _set(13, tags=["Data Teams"]),
        'line 15: thread "t-1": field "tags": "Data Teams" is not a tag slug',
    ),
    "duplicate post id": (
        _set(24, id="p-8"),
        'line 26: post "p-8": id "p-8" appears on an earlier line too',
    ),
    "duplicate username": (
        _set(3, username="alice", email="alice2@camden.gov.uk"),
        'line 5: user "alice": username "alice" appears on an earlier line too',
    ),
    "duplicate email": (
        _set(3, email="ALICE@camden.gov.uk"),
        'line 5: user "bob": email "ALICE@camden.gov.uk" appears on an earlier line too',
    ),
    "second summary for a thread": (
        _insert(21, json.dumps(fixture_records()[20])),
        'line 23: summary of thread "t-1": a summary of thread "t-1" appears on an earlier '
        "line too",
    ),
    "unknown type": (
        _set(18, type="comment"),
        'line 20: unknown record type "comment" (expected one of organisation, user, network, '
        "membership, thread, post, summary)",
    ),
    "invalid JSON": (
        _replace(10, '{"type": "membership", "network": "data-leaders", "user": "carol"'),
        "line 12: not valid JSON: Expecting ',' delimiter (column 66)",
    ),
    "not an object": (
        _replace(10, '["membership"]'),
        "line 12: expected a JSON object, got a list",
    ),
    "blank line": (
        _insert(3, ""),
        "line 5: blank line (the format has one JSON object per line)",
    ),
    "second header": (
        _insert(3, json.dumps(HEADER)),
        'line 5: a "forum-archive" header may only be the first line',
    ),
}


@pytest.mark.parametrize("case", list(BAD_LINES))
async def test_each_kind_of_invalid_line_is_refused_by_line_and_field(
    db: str, tmp_path: Path, case: str
) -> None:
    mutate, message = BAD_LINES[case]
    rows: list[Any] = fixture_records()
    mutate(rows)

    with pytest.raises(ArchiveError) as caught:
        await import_archive(write_archive(tmp_path / "bad.jsonl", rows))

    assert str(caught.value) == message
    assert await table_counts() == EMPTY


BAD_HEADERS: dict[str, tuple[dict[str, Any], str]] = {
    "newer version": (
        {"type": "forum-archive", "version": 2},
        "line 1: this is a version 2 archive; this forum reads version 1",
    ),
    "no version": (
        {"type": "forum-archive"},
        'line 1: header: missing required field "version"',
    ),
    "not a header": (
        {"type": "organisation", "slug": "camden", "name": "Camden"},
        'line 1: expected the archive header {"type": "forum-archive", "version": 1, ...}, '
        'got a record of type "organisation"',
    ),
    "bad export time": (
        {"type": "forum-archive", "version": 1, "exported_at": "2026-11-23"},
        'line 1: header: field "exported_at" must be an ISO 8601 time with a UTC offset '
        '(like 2022-07-26T09:30:00Z), got "2026-11-23"',
    ),
}


@pytest.mark.parametrize("case", list(BAD_HEADERS))
async def test_a_bad_header_is_refused(db: str, tmp_path: Path, case: str) -> None:
    header, message = BAD_HEADERS[case]
    path = write_archive(tmp_path / "bad.jsonl", [header, *fixture_records()], header=False)

    with pytest.raises(ArchiveError) as caught:
        await import_archive(path)

    assert str(caught.value) == message
    assert await table_counts() == EMPTY


async def test_an_empty_or_damaged_file_is_refused(db: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(ArchiveError, match=r"^line 1: the file is empty"):
        await import_archive(empty)

    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes(FIXTURE.read_bytes().replace("Zoë".encode(), "Zoë".encode("latin-1")))
    with pytest.raises(ArchiveError, match=r"^line 7: not valid UTF-8"):
        await import_archive(latin1)

    truncated = tmp_path / "truncated.jsonl.gz"
    truncated.write_bytes(gzip.compress(FIXTURE.read_bytes())[:-40])
    with pytest.raises(ArchiveError, match="cannot read the file"):
        await import_archive(truncated)
    assert await table_counts() == EMPTY


async def test_a_user_whose_email_is_taken_in_the_forum_is_refused(db: str, tmp_path: Path) -> None:
    await make_user("alice2")  # alice2@example.org
    rows: list[Any] = fixture_records()[:3]
    rows[2] = dict(rows[2], email="Alice2@example.org")
    with pytest.raises(ArchiveError) as caught:
        await import_archive(write_archive(tmp_path / "a.jsonl", rows))
    assert str(caught.value) == (
        'line 4: user "alice": email "Alice2@example.org" belongs to another user in the forum'
    )


# ------------------------------------------------------------------------ hostile records


@pytest.mark.parametrize("case", list(HOSTILE))
async def test_a_hostile_record_is_refused_in_one_line_naming_it_and_imports_nothing(
    db: str, tmp_path: Path, case: str
) -> None:
    hostile = HOSTILE[case]
    path = hostile.write(tmp_path / "hostile.jsonl")

    with pytest.raises(ArchiveError) as caught:
        await import_archive(path)

    message = str(caught.value)
    assert re.fullmatch(hostile.message, message), message
    assert "\n" not in message and "\x1b" not in message and len(message) < 400
    assert await table_counts() == EMPTY
    assert await AuditEntry.all().count() == 0


async def test_the_hostile_cases_spoil_an_archive_that_imports(db: str, tmp_path: Path) -> None:
    """Each case above fails for its one spoilt field, not for something in the base."""
    report = await import_archive(write_archive(tmp_path / "base.jsonl", list(hostile_base())))
    assert report.created == dict.fromkeys(FIXTURE_COUNTS, 1)


async def test_a_record_at_every_limit_imports_whatever_its_json_escaping(
    db: str, tmp_path: Path
) -> None:
    """The longest line a valid record can need fits under the line limit: bodies of the
    widest characters (outside the BMP, written as two \\u escapes by json.dumps' default)."""
    limits = LimitSettings()
    rows = hostile_base()
    rows[4] = {**rows[4], "title": "T" * limits.title_max, "tags": [f"t{i}" for i in range(8)]}
    rows[5] = {**rows[5], "body": "\U0001f600" * limits.body_max}
    rows[6] = {**rows[6], "body": "\x01" * limits.body_max}
    rows[2] = {**rows[2], "description": "\U0001f600" * 5000}
    path = tmp_path / "widest.jsonl"
    lines = [json.dumps(HEADER), *(json.dumps(row) for row in rows)]  # ensure_ascii: escapes
    assert max(len(line) for line in lines) > 500_000
    path.write_text("\n".join(lines) + "\n", encoding="ascii")

    report = await import_archive(path)

    assert report.created["post"] == 1 and report.created["summary"] == 1
    assert len((await Post.get(ref="p-1")).body) == limits.body_max


async def test_the_limits_are_the_configured_ones(db: str, tmp_path: Path) -> None:
    rows = hostile_base()
    rows[4] = {**rows[4], "title": "Eleven char", "tags": ["a", "b", "c"]}
    path = write_archive(tmp_path / "a.jsonl", list(rows))
    tight = LimitSettings(title_max=10, tags_max=2, body_max=5)

    with pytest.raises(ArchiveError) as caught:
        await import_archive(path, limits=tight)
    assert str(caught.value) == (
        'line 6: thread "t-1": field "title" is 11 characters long; the limit is 10 '
        "(limits.title_max in config.toml)"
    )
    # The line limit follows the body limit: 12 bytes a character, and room for the rest.
    assert Bounds(limits=tight).line_bytes_max == 12 * 5000 + 64 * 1024  # the description's
    assert Bounds().line_bytes_max == LINE_MAX == 12 * 50_000 + 64 * 1024


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzipped"])
async def test_an_over_long_line_is_refused_before_it_is_read_into_memory(
    db: str, tmp_path: Path, gzipped: bool
) -> None:
    line = b'{"type": "post", "body": "' + b"x" * 40_000_000 + b'"}'
    data = json.dumps(HEADER).encode() + b"\n" + line + b"\n"
    path = tmp_path / ("long.jsonl.gz" if gzipped else "long.jsonl")
    path.write_bytes(gzip.compress(data, compresslevel=1) if gzipped else data)
    del data, line

    tracemalloc.start()
    try:
        with pytest.raises(ArchiveError, match=r"^line 2: longer than 665,536 bytes"):
            await import_archive(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Reading the line whole would hold 40 MB (twice, decoded); a bounded read holds one
    # line's worth.
    assert peak < 8_000_000, peak


# ------------------------------------------------------------- the renderer failing on a line

#: Where each field the importer renders is in the hostile base archive.
RENDERED_FIELDS = {
    "network description": (4, 'network "n"', "description", "About *n*."),
    "post body": (7, 'post "p-1"', "body", "Hello."),
    "summary body": (8, 'summary of thread "t-1"', "body", "Said hello."),
}


def _failing_render(monkeypatch: pytest.MonkeyPatch, source: str, exc: BaseException) -> list[str]:
    """markdown.render raising `exc` for `source` (a body refused as too large or too
    costly, or a bug): whatever it raises, the importer must say which line it was."""
    real = markdown.render
    seen: list[str] = []

    def render(text: str, *, max_html_bytes: int | None = None) -> markdown.Rendered:
        seen.append(text)
        if text == source:
            raise exc
        return real(text, max_html_bytes=max_html_bytes)

    monkeypatch.setattr(markdown, "render", render)
    return seen


@pytest.mark.parametrize("field", list(RENDERED_FIELDS))
@pytest.mark.parametrize(
    "exc",
    [
        ValueError("this body expands past the most a post may hold"),
        RecursionError("maximum recursion depth exceeded"),
        MemoryError(),
        TimeoutError("render budget of 2 s spent"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_a_render_failure_is_reported_with_its_line_and_imports_nothing(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str, exc: BaseException
) -> None:
    line, label, name, source = RENDERED_FIELDS[field]
    seen = _failing_render(monkeypatch, source, exc)
    path = write_archive(tmp_path / "a.jsonl", list(hostile_base()))

    with pytest.raises(ArchiveError) as caught:
        await import_archive(path)

    assert source in seen
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    assert str(caught.value) == (
        f'line {line}: {label}: field "{name}" cannot be rendered as Markdown ({reason})'
    )
    assert await table_counts() == EMPTY
    assert await AuditEntry.all().count() == 0


async def test_a_batch_whose_rendering_fails_names_its_lines(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker process that dies takes its whole batch: the message names the batch's lines."""
    from concurrent.futures.process import BrokenProcessPool

    def broken(self: object, bodies: list[str]) -> Any:
        async def fail() -> Any:
            raise BrokenProcessPool("A process in the process pool was terminated abruptly")

        return fail()

    monkeypatch.setattr(importer_module._Renderer, "render", broken)
    path = write_archive(tmp_path / "a.jsonl", list(hostile_base()))

    with pytest.raises(ArchiveError) as caught:
        await import_archive(path)

    assert str(caught.value) == (
        "line 7: cannot render the bodies of lines 7 to 8 (BrokenProcessPool: A process in "
        "the process pool was terminated abruptly)"
    )
    assert await table_counts() == EMPTY


async def test_anything_else_going_wrong_on_a_line_is_reported_with_its_line(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What no check foresaw, failing while a record is written, is still one line naming
    the record's line, and the import is rolled back."""

    def slugify(value: str) -> str:
        raise RuntimeError(f"no slug for {value!r}")

    monkeypatch.setattr(importer_module, "slugify", slugify)
    path = write_archive(tmp_path / "a.jsonl", list(hostile_base()))

    with pytest.raises(ArchiveError) as caught:
        await import_archive(path)

    assert str(caught.value) == (
        "line 6: cannot import this record (RuntimeError: no slug for 'T')"
    )
    assert await table_counts() == EMPTY


# ---------------------------------------------------------------------------------- merging


async def test_importing_the_same_file_twice_is_refused_unless_skipping(db: str) -> None:
    await import_archive(FIXTURE)
    before = await table_counts()

    with pytest.raises(ArchiveError) as caught:
        await import_archive(FIXTURE)
    assert str(caught.value) == (
        'line 2: organisation "camden": already exists in the forum '
        "(import with --skip-existing to skip records that are already there)"
    )
    assert await table_counts() == before

    report = await import_archive(FIXTURE, skip_existing=True)
    assert report.created == dict.fromkeys(FIXTURE_COUNTS, 0)
    assert report.skipped == FIXTURE_COUNTS
    assert await table_counts() == before


async def test_merge_adds_new_records_that_refer_to_existing_ones(db: str, tmp_path: Path) -> None:
    await import_archive(FIXTURE)
    old = fixture_records()
    # Refers to users, networks, threads and posts that are only in the forum, not the file.
    rows: list[Any] = [
        {"type": "membership", "network": "info-governance", "user": "alice"},
        old[13],  # thread t-1: already there, skipped
        old[14],  # post p-1: already there, skipped
        {
            "type": "post",
            "id": "p-13",
            "thread": "t-1",
            "author": "alice",
            "created": "2022-07-29T10:00:00Z",
            "body": "Late to this, but federated works for us.",
            "parent": "p-4",
        },
        {
            "type": "post",
            "id": "p-14",
            "thread": "t-1",
            "author": "bob",
            "created": "2022-07-29T11:00:00Z",
            "body": "Interesting!",
            "parent": "p-13",
        },
        {
            "type": "summary",
            "thread": "t-3",
            "author": "bob",
            "created": "2022-09-07T10:00:00Z",
            "body": "Six years, mostly.",
        },
    ]
    path = write_archive(tmp_path / "more.jsonl", rows)

    with pytest.raises(ArchiveError, match=r'^line 3: thread "t-1": already exists'):
        await import_archive(path, grant_roles=True)

    report = await import_archive(path, skip_existing=True, grant_roles=True)
    assert report.created == {
        **dict.fromkeys(FIXTURE_COUNTS, 0),
        "membership": 1,
        "post": 2,
        "summary": 1,
    }
    assert report.skipped == {**dict.fromkeys(FIXTURE_COUNTS, 0), "thread": 1, "post": 1}
    p4, p13, p14 = [await Post.get(ref=ref) for ref in ("p-4", "p-13", "p-14")]
    assert (p13.parent_id, p14.parent_id) == (p4.id, p13.id)
    t1 = await Thread.get(ref="t-1")
    assert t1.reply_count == 6
    assert t1.last_activity_at == at("2022-07-29T11:00:00Z")
    assert await Summary.filter(thread__ref="t-3").exists()


# --------------------------------------------------------------------- roles and the audit


async def audit_entries(action: str) -> list[AuditEntry]:
    return list(await AuditEntry.filter(action=action).order_by("id"))


async def test_an_import_lists_every_role_it_grants_and_is_audited(db: str) -> None:
    report = await import_archive(FIXTURE)

    # Into an empty forum nothing was there before: every grant is within the archive.
    assert [g.describe() for g in report.grants] == [
        "line 7: zoe.d: admin of the forum",
        'line 10: alice: member of "data-leaders" (public)',
        'line 11: bob: member of "data-leaders" (public)',
        'line 12: carol: facilitator of "data-leaders" (public)',
        'line 13: bob: facilitator of "info-governance" (members only)',
        'line 14: zoe.d: member of "info-governance" (members only)',
    ]
    assert not any(g.reaches_existing for g in report.grants)
    [entry] = await audit_entries("archive.import")
    assert entry.actor_id is None
    assert entry.after == {
        "file": "archive_small.jsonl",
        "created": FIXTURE_COUNTS,
        "skipped": {},
        "grants": [g.describe() for g in report.grants],
        "options": "(none)",
    }
    assert await AuditEntry.all().count() == 1


async def _an_existing_members_only_network() -> tuple[User, Network]:
    alice = await make_user("alice")
    secret = await make_network("secret", visibility=Visibility.MEMBERS, name="Secret")
    return alice, secret


def _merge_into_secret(path: Path) -> Path:
    """What the review sent: records already there (skipped with --skip-existing), then a
    facilitator role for the existing account and a thread in the existing network."""
    return write_archive(path, merge_into_secret())


async def test_a_merge_gives_an_existing_account_a_role_only_when_allowed(
    db: str, tmp_path: Path
) -> None:
    alice, secret = await _an_existing_members_only_network()
    path = _merge_into_secret(tmp_path / "merge.jsonl")
    audited = await AuditEntry.all().count()

    with pytest.raises(ArchiveError) as caught:
        await import_archive(path, skip_existing=True)

    assert str(caught.value) == (
        'line 4: membership of "alice" in "secret": grants a role over what was already in '
        'the forum (alice: facilitator of "secret" (members only; the account was already in '
        "the forum; the network was already in the forum)); import with --grant-roles to "
        "allow that (--dry-run lists every grant first)"
    )
    assert not await Membership.filter(network=secret, user=alice).exists()
    assert not await Thread.filter(ref="t-new").exists()
    assert await AuditEntry.all().count() == audited

    report = await import_archive(path, skip_existing=True, grant_roles=True)

    membership = await Membership.get(network=secret, user=alice)
    assert membership.role == Role.FACILITATOR
    [grant] = report.grants
    assert (grant.existing_account, grant.existing_network, grant.reaches_existing) == (
        True,
        True,
        True,
    )
    assert report.added_to_existing == {"secret": {"thread": 1, "post": 1}}
    [added] = await audit_entries("member.add")
    assert added.network_id == secret.id and added.actor_id is None
    assert added.after == {"user": "alice", "role": "facilitator", "how": "imported"}
    [entry] = await audit_entries("archive.import")
    assert entry.after["grants"] == [grant.describe()]
    assert entry.after["added_to_existing_networks"] == {"secret": "1 thread, 1 post"}
    assert entry.after["options"] == "--skip-existing --grant-roles"
    assert entry.after["skipped"] == {"user": 1, "network": 1}


async def test_a_new_account_gets_no_role_in_an_existing_network_unless_allowed(
    db: str, tmp_path: Path
) -> None:
    # An imported account can be taken over by a password reset to its address: a role in a
    # network that was already there is a way in.
    _, secret = await _an_existing_members_only_network()
    rows: list[Any] = [
        {"type": "user", "username": "mallory", "display_name": "M", "email": "m@evil.example"},
        {"type": "membership", "network": "secret", "user": "mallory"},
    ]
    path = write_archive(tmp_path / "a.jsonl", rows)

    with pytest.raises(ArchiveError, match=r'^line 3: membership of "mallory" in "secret": '):
        await import_archive(path)
    assert not await User.filter(username="mallory").exists()

    report = await import_archive(path, grant_roles=True)
    assert [g.what for g in report.grants] == [
        'mallory: member of "secret" (members only; the network was already in the forum)'
    ]
    assert await Membership.filter(network=secret, user__username="mallory").exists()


async def test_a_new_admin_needs_consent_once_the_forum_has_accounts(
    db: str, tmp_path: Path
) -> None:
    await make_user("alice")
    rows: list[Any] = [
        {
            "type": "user",
            "username": "root",
            "display_name": "R",
            "email": "r@x.org",
            "is_admin": True,
        }
    ]
    path = write_archive(tmp_path / "a.jsonl", rows)

    with pytest.raises(ArchiveError) as caught:
        await import_archive(path)
    assert str(caught.value) == (
        'line 2: user "root": grants a role over what was already in the forum (root: admin '
        "of the forum (the forum already had accounts)); import with --grant-roles to allow "
        "that (--dry-run lists every grant first)"
    )
    assert not await User.filter(username="root").exists()

    await import_archive(path, grant_roles=True)
    assert (await User.get(username="root")).is_admin
    [entry] = await audit_entries("user.admin")
    assert entry.after == {"user": "root", "admin": True, "how": "imported"}


async def test_a_dry_run_lists_what_it_would_grant_and_writes_nothing(
    db: str, tmp_path: Path
) -> None:
    await _an_existing_members_only_network()
    path = _merge_into_secret(tmp_path / "merge.jsonl")
    before = await table_counts()
    audited = await AuditEntry.all().count()

    report = await import_archive(path, skip_existing=True, grant_roles=True, dry_run=True)

    assert report.dry_run
    assert [g.what for g in report.grants] == [
        'alice: facilitator of "secret" (members only; the account was already in the forum; '
        "the network was already in the forum)"
    ]
    assert report.created["thread"] == 1 and report.created["post"] == 1
    assert await table_counts() == before
    assert await AuditEntry.all().count() == audited


# ------------------------------------------------------------------------------ round trip


async def test_round_trip_gives_the_same_records(db: str, tmp_path: Path) -> None:
    await import_archive(FIXTURE)
    exported = tmp_path / "a.jsonl"
    seen: list[int] = []

    report = await export_archive(exported, progress=seen.append)

    # The fixture is written in the exporter's canonical form: same records, same order.
    assert records(exported) == fixture_records()
    assert report.counts == FIXTURE_COUNTS
    assert seen[-1] == sum(FIXTURE_COUNTS.values())
    header = json.loads(read_lines(exported)[0])
    assert set(header) == {"type", "version", "exported_at"}
    assert not (tmp_path / "a.jsonl.partial").exists()


async def test_gzip_round_trip(db: str, tmp_path: Path) -> None:
    await import_archive(FIXTURE)
    packed = tmp_path / "a.jsonl.gz"
    await export_archive(packed)
    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    await wipe()

    report = await import_archive(packed)

    assert report.created == FIXTURE_COUNTS
    await export_archive(tmp_path / "b.jsonl")
    assert records(tmp_path / "b.jsonl") == fixture_records()


async def test_export_of_native_content_survives_a_round_trip(db: str, tmp_path: Path) -> None:
    camden = await make_org("Camden")
    public = await make_network("data-leaders")
    private = await make_network("info-gov", visibility=Visibility.MEMBERS)
    alice = await make_member(public, await make_user("alice", organisation=camden))
    bob = await make_member(public, await make_user("bob"), role=Role.FACILITATOR)
    await make_member(private, bob, role=Role.FACILITATOR)
    thread = await make_thread(public, alice, tags="Data teams, governance")
    a = await make_reply(thread, bob, "Hub and *spoke*.")
    b = await make_reply(thread, alice, "Why?", parent=a)
    await make_reply(thread, bob, "Scale.", parent=b)
    gone = await make_reply(thread, alice, "Oops")
    bob_viewer = await viewer_for(bob)  # after joining both networks
    await threads.edit_post(viewer=bob_viewer, post=a, network=public, body="Hub and **spoke**.")
    await threads.delete_post(viewer=await viewer_for(alice), post=gone, network=public)
    await curate.set_pinned(viewer=bob_viewer, thread=thread, pinned=True)
    secret = await make_thread(private, bob, title="Retention", body="Six years?")
    await curate.set_locked(viewer=bob_viewer, thread=secret, locked=True)
    rendered = markdown.render("Most chose **hub and spoke**.")
    await Summary.create(
        thread=thread,
        author=bob,
        body="Most chose **hub and spoke**.",
        body_html=rendered.html,
        body_text=rendered.text,
        created_at=thread.created_at,
    )
    first = tmp_path / "a.jsonl"
    await export_archive(first)
    await wipe()

    await import_archive(first)
    second = tmp_path / "b.jsonl"
    await export_archive(second)

    assert records(second) == records(first)
    a_records = records(first)
    assert [r["slug"] for r in a_records if r["type"] == "network"] == ["data-leaders", "info-gov"]
    assert not any("password" in json.dumps(r) for r in a_records)
    posts = [r for r in a_records if r["type"] == "post"]
    assert [p["deleted"] for p in posts].count(True) == 1
    assert sum("edited" in p for p in posts) == 1
    t1 = await Thread.get(ref=thread.ref)
    assert t1.reply_count == 3 and t1.pinned


async def test_a_large_import_resolves_parents_across_batches(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small batches: replies meet parents written in an earlier batch, in the same batch,
    # and still being rendered; with more than one CPU the batches go to worker processes.
    monkeypatch.setattr(importer_module, "BATCH_SIZE", 7)
    rows: list[Any] = fixture_records()[:13]
    parents: dict[str, str | None] = {}
    for t in range(3):
        rows.append(dict(fixture_records()[13], id=f"t-{t}", tags=[]))
        for n in range(40):
            ref = f"p-{t}-{n}"
            # Replies to the post just before, to one a few back, and new top-level posts.
            parent = None if n % 5 == 0 else f"p-{t}-{max(0, n - 1 - n % 3)}"
            parents[ref] = parent
            post = {
                "type": "post",
                "id": ref,
                "thread": f"t-{t}",
                "author": "bob",
                "created": f"2023-01-0{t + 1}T10:{n:02d}:00Z",
                "body": f"Post *{n}*",
                "deleted": n == 7,
            }
            if parent:
                post["parent"] = parent
            rows.append(post)
    path = write_archive(tmp_path / "big.jsonl", rows)

    report = await import_archive(path)

    assert report.created["post"] == 120
    by_id = {pk: ref for pk, ref in await Post.all().values_list("id", "ref")}
    for ref, parent_id in await Post.all().values_list("ref", "parent_id"):
        assert (by_id[parent_id] if parent_id else None) == parents[ref]
    assert [t.reply_count for t in await Thread.all().order_by("ref")] == [38, 38, 38]
    await export_archive(tmp_path / "out.jsonl")
    assert records(tmp_path / "out.jsonl") == records(path)


async def test_an_export_that_cannot_be_written_says_so(db: str, tmp_path: Path) -> None:
    target = tmp_path / "no-such-folder" / "a.jsonl"
    with pytest.raises(ArchiveError, match=r"^cannot write .*a\.jsonl: No such file or directory"):
        await export_archive(target)


async def test_a_failed_export_leaves_no_file_behind(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await import_archive(FIXTURE)

    async def fail(*args: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(exporter_module, "_write_all", fail)
    with pytest.raises(RuntimeError):
        await export_archive(tmp_path / "a.jsonl")
    assert not (tmp_path / "a.jsonl").exists()
    assert not (tmp_path / "a.jsonl.partial").exists()


async def test_export_pages_through_every_table(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pages of two rows: every keyset query continues from the row before, including threads
    # created in the same second (the fixture's t-1..t-3 are moved to one time below).
    monkeypatch.setattr(exporter_module, "PAGE_SIZE", 2)
    monkeypatch.setattr(exporter_module, "THREAD_PAGE_SIZE", 2)
    await import_archive(FIXTURE)
    await Thread.all().update(created_at=at("2022-07-26T09:30:00Z"))

    await export_archive(tmp_path / "a.jsonl")

    expected = fixture_records()
    for record in expected:
        if record["type"] == "thread":
            record["created"] = "2022-07-26T09:30:00Z"
    assert records(tmp_path / "a.jsonl") == expected


def test_parents_come_before_their_replies_in_an_export() -> None:
    # (id, parent id) in (created, id) order; 3 answers 4, created in the same second.
    assert parents_first([(1, None), (3, 4), (2, 1), (4, 1), (5, 3)]) == [1, 2, 4, 3, 5]
    assert parents_first([(1, None), (2, 9)]) == [1, 2]  # a parent elsewhere: left as is
