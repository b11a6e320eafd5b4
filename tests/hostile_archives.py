"""Hostile archives: one per kind of field and of damage, each with the one-line error it
must give. Shared by the importer's tests (tests/test_archive.py, in-process) and the
command's (tests/test_cli.py, run as a person runs it), so that both hold for every case.

Every archive is the same eight lines with one thing wrong:

    1 header   2 organisation "o"   3 user "u"   4 network "n"   5 membership of u in n
    6 thread "t-1"   7 post "p-1"   8 summary of thread "t-1"
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forum.archive.records import Bounds
from forum.config import LimitSettings

LIMITS = LimitSettings()
LINE_MAX = Bounds().line_bytes_max
HEADER: dict[str, Any] = {"type": "forum-archive", "version": 1}


def base() -> list[dict[str, Any]]:
    """The valid archive every case spoils (the header left out)."""
    return [
        {"type": "organisation", "slug": "o", "name": "O", "email_domains": ["o.gov.uk"]},
        {"type": "user", "username": "u", "display_name": "U", "email": "u@o.gov.uk"},
        {"type": "network", "slug": "n", "name": "N", "description": "About *n*."},
        {"type": "membership", "network": "n", "user": "u", "role": "facilitator"},
        {
            "type": "thread",
            "id": "t-1",
            "network": "n",
            "title": "T",
            "author": "u",
            "created": "2022-07-26T09:30:00Z",
            "tags": ["a"],
        },
        {
            "type": "post",
            "id": "p-1",
            "thread": "t-1",
            "author": "u",
            "created": "2022-07-26T09:30:00Z",
            "body": "Hello.",
        },
        {
            "type": "summary",
            "thread": "t-1",
            "author": "u",
            "created": "2022-07-27T09:30:00Z",
            "body": "Said hello.",
        },
    ]


Writer = Callable[[Path], Path]


def _lines(rows: list[dict[str, Any]]) -> list[bytes]:
    return [json.dumps(r, ensure_ascii=False).encode() for r in [HEADER, *rows]]


def _save(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def setting(line: int, **changes: Any) -> Writer:
    """The record on `line` (2-8) with fields changed (a value of ... drops the field)."""

    def write(path: Path) -> Path:
        rows = base()
        row = {**rows[line - 2], **changes}
        rows[line - 2] = {k: v for k, v in row.items() if v is not ...}
        return _save(path, _lines(rows))

    return write


def adding(line: int, record: dict[str, Any]) -> Writer:
    """The base archive with `record` inserted as line `line`."""

    def write(path: Path) -> Path:
        rows = base()
        rows.insert(line - 2, record)
        return _save(path, _lines(rows))

    return write


def raw(line: int, text: bytes) -> Writer:
    """Line `line` replaced by these bytes, as they are."""

    def write(path: Path) -> Path:
        lines = _lines(base())
        lines[line - 1] = text
        return _save(path, lines)

    return write


def gzipped(inner: Writer) -> Writer:
    """The same archive, gzipped (named .jsonl.gz), written in pieces so that a bomb that
    unpacks to far more than the test's memory is cheap to make."""

    def write(path: Path) -> Path:
        plain = inner(path)
        target = path.with_name(path.name + ".gz")
        with plain.open("rb") as src, gzip.open(target, "wb", compresslevel=1) as out:
            while chunk := src.read(1 << 20):
                out.write(chunk)
        plain.unlink()
        return target

    return write


def sparse_line(length: int) -> Writer:
    """The base archive with line 7 a post whose body runs on, without a newline, to make
    the line `length` bytes long: a sparse file (the rest of the line reads as NUL bytes),
    so that a 300 MB line costs the test no disk, memory or time to write; only reading it
    whole would cost that."""

    def write(path: Path) -> Path:
        with path.open("wb") as out:
            out.write(b"\n".join(_lines(base())[:6]) + b"\n")
            start = out.tell()
            out.write(b'{"type": "post", "id": "p-1", "body": "')
            out.truncate(start + length)
        return path

    return write


def bomb(path: Path) -> Path:
    """A .jsonl.gz of about 60 KB whose line 7 unpacks to 60 MB with no newline."""
    target = path.with_name(path.name + ".jsonl.gz")
    with gzip.open(target, "wb", compresslevel=9) as out:
        out.write(b"\n".join(_lines(base())[:6]) + b"\n")
        out.write(b'{"type": "post", "body": "')
        block = b"a" * (1 << 20)
        for _ in range(60):
            out.write(block)
    return target


def merge_into_secret() -> list[dict[str, Any]]:
    """The review's --skip-existing case (the header left out): an account and a
    members-only network already in the forum, then a facilitator role for that account and
    a thread in that network. The first two records make the forum it is merged into."""
    return [
        {"type": "user", "username": "alice", "display_name": "A", "email": "a@x.org"},
        {"type": "network", "slug": "secret", "name": "Secret", "visibility": "members"},
        {"type": "membership", "network": "secret", "user": "alice", "role": "facilitator"},
        {
            "type": "thread",
            "id": "t-new",
            "network": "secret",
            "title": "Planted",
            "author": "alice",
            "created": "2022-07-26T09:30:00Z",
        },
        {
            "type": "post",
            "id": "p-new",
            "thread": "t-new",
            "author": "alice",
            "created": "2022-07-26T09:30:00Z",
            "body": "Planted.",
        },
    ]


@dataclass(frozen=True, slots=True)
class Hostile:
    write: Writer
    #: A regular expression the whole message must match.
    message: str


def _limit(line: int, label: str, field: str, length: int, limit: int, name: str = "") -> str:
    setting_note = f" \\(limits.{name} in config.toml\\)" if name else ""
    return (
        re.escape(
            f'line {line}: {label}: field "{field}" is {length:,} characters long; '
            f"the limit is {limit:,}"
        )
        + setting_note
    )


_TIME_RANGE = 'line 6: thread "t-1": field "created" must be a time between 1970-01-01 and now'
_NOT_A_TIME = (
    'line 6: thread "t-1": field "created" must be an ISO 8601 time with a UTC offset '
    "(like 2022-07-26T09:30:00Z), got "
)


def _not_a_time(value: str) -> str:
    return re.escape(_NOT_A_TIME + json.dumps(value))


def _thread_created(value: bytes) -> Writer:
    """Line 6 a thread whose "created" is this JSON, as it is."""
    return raw(
        6,
        b'{"type": "thread", "id": "t-1", "network": "n", "title": "T", "author": "u", '
        b'"created": ' + value + b"}",
    )


_NOT_AN_OBJECT = "line 6: expected a JSON object, got "
_TYPES = "organisation, user, network, membership, thread, post, summary"
_TOO_LONG_LINE = (
    rf"line 7: longer than {LINE_MAX:,} bytes, the most a record within the forum's limits "
    r"can take \(limits.body_max in config.toml sets them\)"
)
_BODY = LIMITS.body_max


def _too_large(line: int, label: str) -> str:
    return (
        rf'line {line}: {label}: field "body" cannot be rendered as Markdown \(TooLarge: the '
        rf"HTML would take [\d,]+ bytes or more; the limit is {LIMITS.max_html_bytes:,}\)"
    )


HOSTILE: dict[str, Hostile] = {
    # -- text over the forms' limits
    "post body over body_max": Hostile(
        setting(7, body="x" * (_BODY + 1)),
        _limit(7, 'post "p-1"', "body", _BODY + 1, _BODY, "body_max"),
    ),
    "summary body over body_max": Hostile(
        setting(8, body="x" * (_BODY + 1)),
        _limit(8, 'summary of thread "t-1"', "body", _BODY + 1, _BODY, "body_max"),
    ),
    # -- text within body_max that would expand past what a post may (limits.max_html_bytes)
    "post body expanding past max_html_bytes": Hostile(
        setting(7, body="@a " * (_BODY // 3)), _too_large(7, 'post "p-1"')
    ),
    "summary body expanding past max_html_bytes": Hostile(
        setting(8, body="@a " * (_BODY // 3)), _too_large(8, 'summary of thread "t-1"')
    ),
    "8 MB body (a line too long to read)": Hostile(
        setting(7, body="x" * 8_000_000), _TOO_LONG_LINE
    ),
    "title over title_max": Hostile(
        setting(6, title="T" * (LIMITS.title_max + 1)),
        _limit(6, 'thread "t-1"', "title", LIMITS.title_max + 1, LIMITS.title_max, "title_max"),
    ),
    "500-character title": Hostile(
        setting(6, title="T" * 500),
        _limit(6, 'thread "t-1"', "title", 500, LIMITS.title_max, "title_max"),
    ),
    "network description over its limit": Hostile(
        setting(4, description="d" * 5001), _limit(4, 'network "n"', "description", 5001, 5000)
    ),
    "organisation name over its limit": Hostile(
        setting(2, name="N" * 201), _limit(2, 'organisation "o"', "name", 201, 200)
    ),
    "network name over its limit": Hostile(
        setting(4, name="N" * 201), _limit(4, 'network "n"', "name", 201, 200)
    ),
    "display name over its limit": Hostile(
        setting(3, display_name="D" * 101), _limit(3, 'user "u"', "display_name", 101, 100)
    ),
    "username over 40 characters": Hostile(
        setting(3, username="u" * 41),
        r'line 3: user "u{41}": field "username" must be a username \(1 to 40 letters, '
        r'digits, underscores, dots or hyphens\), got "u{37}\.\.\."',
    ),
    "email over 254 characters": Hostile(
        setting(3, email="u@" + "o" * 250 + ".uk"),
        r'line 3: user "u": field "email" must be an email address like name@example\.org, '
        r'got "u@o{35}\.\.\."',
    ),
    "slug over 64 characters": Hostile(
        setting(4, slug="n" * 65),
        r'line 4: network "n{65}": field "slug" must be a slug \(lowercase letters, '
        r'digits and hyphens, starting with a letter or digit, at most 64\), got "n{37}\.\.\."',
    ),
    "id over 200 characters": Hostile(
        setting(7, id="p" * 201),
        r'line 7: post "p{77}\.\.\.": field "id" must be 1 to 200 characters without '
        r"control characters",
    ),
    # -- lists over the forms' limits
    "more tags than tags_max": Hostile(
        setting(6, tags=[f"t{i}" for i in range(LIMITS.tags_max + 1)]),
        re.escape(
            f'line 6: thread "t-1": field "tags" has {LIMITS.tags_max + 1} tags; the limit is '
            f"{LIMITS.tags_max} (limits.tags_max in config.toml)"
        ),
    ),
    "5,000 tags": Hostile(
        setting(6, tags=[f"t{i}" for i in range(5000)]),
        r'line 6: thread "t-1": field "tags" has 5,000 tags; the limit is \d+ '
        r"\(limits\.tags_max in config\.toml\)",
    ),
    "more email domains than the form allows": Hostile(
        setting(2, email_domains=[f"d{i}.gov.uk" for i in range(21)]),
        r'line 2: organisation "o": field "email_domains" has 21 domains; the limit is 20',
    ),
    "an email domain that is not one": Hostile(
        setting(2, email_domains=["not a domain"]),
        r'line 2: organisation "o": field "email_domains": "not a domain" is not a domain like '
        r"example\.gov\.uk",
    ),
    "an email domain of another organisation": Hostile(
        adding(
            3, {"type": "organisation", "slug": "o2", "name": "O2", "email_domains": ["O.gov.uk"]}
        ),
        r'line 3: organisation "o2": email domain "o\.gov\.uk" already belongs to organisation "o"',
    ),
    # -- times
    "year 9999 with an offset (past the last time there is)": Hostile(
        setting(6, created="9999-12-31T23:00:00-05:00"),
        re.escape(f'{_TIME_RANGE}, got "9999-12-31T23:00:00-05:00"'),
    ),
    "year 9999 in UTC": Hostile(
        setting(6, created="9999-12-31T23:59:59Z"),
        re.escape(f'{_TIME_RANGE}, got "9999-12-31T23:59:59Z"'),
    ),
    "year 1 with an offset (before the first time there is)": Hostile(
        setting(6, created="0001-01-01T00:00:00+01:00"),
        re.escape(f'{_TIME_RANGE}, got "0001-01-01T00:00:00+01:00"'),
    ),
    "a time before 1970": Hostile(
        setting(6, created="1969-12-31T23:59:59Z"),
        re.escape(f'{_TIME_RANGE}, got "1969-12-31T23:59:59Z"'),
    ),
    "an optional time in year 9999": Hostile(
        setting(7, edited="9999-12-31T23:59:59+14:00"),
        r'line 7: post "p-1": field "edited" must be a time between 1970-01-01 and now, got '
        r'"9999-12-31T23:59:59\+14:00"',
    ),
    "a header time in year 9999 with an offset": Hostile(
        raw(
            1,
            b'{"type": "forum-archive", "version": 1, "exported_at": "9999-12-31T23:00:00-05:00"}',
        ),
        r'line 1: header: field "exported_at" must be a time between 1970-01-01 and now, got '
        r'"9999-12-31T23:00:00-05:00"',
    ),
    "an optional time of a user in year 9999": Hostile(
        setting(3, created="9999-12-31T23:59:59Z"),
        r'line 3: user "u": field "created" must be a time between 1970-01-01 and now, got '
        r'"9999-12-31T23:59:59Z"',
    ),
    "a summary updated in year 9999": Hostile(
        setting(8, updated="9999-01-01T00:00:00+00:00"),
        r'line 8: summary of thread "t-1": field "updated" must be a time between 1970-01-01 '
        r'and now, got "9999-01-01T00:00:00\+00:00"',
    ),
    "year 0": Hostile(
        setting(6, created="0000-01-01T00:00:00Z"), _not_a_time("0000-01-01T00:00:00Z")
    ),
    "a year of five digits": Hostile(
        setting(6, created="99999-01-01T00:00:00Z"), _not_a_time("99999-01-01T00:00:00Z")
    ),
    "a negative year": Hostile(
        setting(6, created="-2022-07-26T09:30:00Z"), _not_a_time("-2022-07-26T09:30:00Z")
    ),
    "month 13, day 45": Hostile(
        setting(6, created="2024-13-45T00:00:00Z"), _not_a_time("2024-13-45T00:00:00Z")
    ),
    "month 13, day 45, no time": Hostile(
        setting(6, created="2024-13-45"), _not_a_time("2024-13-45")
    ),
    "30 February": Hostile(
        setting(6, created="2024-02-30T00:00:00Z"), _not_a_time("2024-02-30T00:00:00Z")
    ),
    "hour 25": Hostile(
        setting(6, created="2024-01-01T25:00:00Z"), _not_a_time("2024-01-01T25:00:00Z")
    ),
    "a leap second": Hostile(
        setting(6, created="2016-12-31T23:59:60Z"), _not_a_time("2016-12-31T23:59:60Z")
    ),
    "a time without an offset": Hostile(
        setting(6, created="2022-07-26T09:30:00"), _not_a_time("2022-07-26T09:30:00")
    ),
    "an offset of +99:99": Hostile(
        setting(6, created="2022-07-26T09:30:00+99:99"), _not_a_time("2022-07-26T09:30:00+99:99")
    ),
    "an offset of +24:00": Hostile(
        setting(6, created="2022-07-26T09:30:00+24:00"), _not_a_time("2022-07-26T09:30:00+24:00")
    ),
    "a time zone name": Hostile(
        setting(6, created="2022-07-26T09:30:00 Europe/London"),
        _not_a_time("2022-07-26T09:30:00 Europe/London"),
    ),
    "a time zone abbreviation": Hostile(
        setting(6, created="2022-07-26T09:30:00 BST"), _not_a_time("2022-07-26T09:30:00 BST")
    ),
    "a time of 5,000 digits": Hostile(
        setting(6, created="9" * 5000), _not_a_time("9" * 37 + "...")
    ),
    "a time that is empty": Hostile(setting(6, created=""), _not_a_time("")),
    "a time as a 19-digit number": Hostile(
        _thread_created(b"9" * 19),
        r'line 6: thread "t-1": field "created" must be an ISO 8601 time with a UTC offset, '
        r"got the number 9{19}",
    ),
    "a time as a negative number": Hostile(
        _thread_created(b"-1"),
        r'line 6: thread "t-1": field "created" must be an ISO 8601 time with a UTC offset, '
        r"got the number -1",
    ),
    "a time as a number too large for a float": Hostile(
        _thread_created(b"1e400"),
        r'line 6: thread "t-1": field "created" must be an ISO 8601 time with a UTC offset, '
        r"got the number inf",
    ),
    "a time given as a number": Hostile(
        setting(6, created=20220726),
        r'line 6: thread "t-1": field "created" must be an ISO 8601 time with a UTC offset, '
        r"got the number 20220726",
    ),
    # -- wrong types and nested garbage
    "a body that is a number": Hostile(
        setting(7, body=5), r'line 7: post "p-1": field "body" must be a string, got the number 5'
    ),
    "a body of nested garbage": Hostile(
        setting(7, body={"a": [[[{"b": None}]]]}),
        r'line 7: post "p-1": field "body" must be a string, got an object',
    ),
    "a title that is a list": Hostile(
        setting(6, title=["T"]), r'line 6: thread "t-1": field "title" must be a string, got a list'
    ),
    "tags that are an object": Hostile(
        setting(6, tags={"a": 1}),
        r'line 6: thread "t-1": field "tags" must be a list of tags, got an object',
    ),
    "tags of nested lists": Hostile(
        setting(6, tags=[[["a"]]]), r'line 6: thread "t-1": field "tags": a list is not a tag slug'
    ),
    "a flag that is a string": Hostile(
        setting(3, is_admin="true"),
        r'line 3: user "u": field "is_admin" must be true or false, got "true"',
    ),
    "a role that is an object": Hostile(
        setting(5, role={"is": "facilitator"}),
        r'line 5: membership of "u" in "n": field "role" must be "member" or "facilitator", '
        r"got an object",
    ),
    "a type that is a list": Hostile(
        setting(2, type=["organisation"]),
        r'line 2: missing "type" \(expected one of organisation, user, network, membership, '
        r"thread, post, summary\)",
    ),
    "a header version that is a fraction": Hostile(
        raw(1, b'{"type": "forum-archive", "version": 1.5}'),
        r'line 1: header: field "version" must be a whole number, got the number 1\.5',
    ),
    # -- lines that are not a record
    "a line that is a list": Hostile(raw(6, b"[]"), re.escape(_NOT_AN_OBJECT + "a list")),
    "a line that is a string": Hostile(raw(6, b'"thread"'), re.escape(_NOT_AN_OBJECT + '"thread"')),
    "a line that is a number": Hostile(raw(6, b"42"), re.escape(_NOT_AN_OBJECT + "the number 42")),
    "a line that is null": Hostile(raw(6, b"null"), re.escape(_NOT_AN_OBJECT + "null")),
    "a line that is true": Hostile(raw(6, b"true"), re.escape(_NOT_AN_OBJECT + "true")),
    "a blank line": Hostile(
        raw(6, b"   "), r"line 6: blank line \(the format has one JSON object per line\)"
    ),
    "an unknown record type": Hostile(
        raw(6, b'{"type": "vote", "thread": "t-1"}'),
        re.escape(f'line 6: unknown record type "vote" (expected one of {_TYPES})'),
    ),
    "a record type in capitals": Hostile(
        setting(6, type="Thread"),
        re.escape(f'line 6: unknown record type "Thread" (expected one of {_TYPES})'),
    ),
    "an unknown record type that is a terminal escape, 5,000 long": Hostile(
        raw(6, json.dumps({"type": "\x1b[31m" + "x" * 5000}).encode()),
        r'line 6: unknown record type "\\u001b\[31mx{32}\.\.\." \(expected one of '
        + re.escape(_TYPES)
        + r"\)",
    ),
    "a record without a type": Hostile(
        setting(6, type=...),
        re.escape(f'line 6: missing "type" (expected one of {_TYPES})'),
    ),
    "a second header": Hostile(
        raw(6, json.dumps(HEADER).encode()),
        r'line 6: a "forum-archive" header may only be the first line',
    ),
    # -- JSON that costs too much, or is not JSON
    "deeply nested JSON": Hostile(
        raw(7, b"[" * 100_000), r"line 7: not valid JSON: nested too deeply"
    ),
    "deeply nested JSON inside a field": Hostile(
        raw(7, b'{"type": "post", "body": ' + b"[" * 100_000),
        r"line 7: not valid JSON: nested too deeply",
    ),
    "a JSON nesting bomb of objects": Hostile(
        raw(6, b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
        r"line 6: not valid JSON: nested too deeply",
    ),
    "nesting inside a list of tags": Hostile(
        raw(6, b'{"type": "thread", "tags": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"),
        r"line 6: not valid JSON: nested too deeply",
    ),
    "a number of 600,000 digits": Hostile(
        raw(6, b'{"type": "thread", "pinned": ' + b"9" * 600_000 + b"}"),
        r"line 6: not valid here: a number of 600,000 digits \(at most 20\)",
    ),
    "a number of a million digits": Hostile(
        raw(7, b'{"type": "post", "deleted": ' + b"9" * 1_000_000 + b"}"), _TOO_LONG_LINE
    ),
    "a header version of 30 digits": Hostile(
        raw(1, b'{"type": "forum-archive", "version": ' + b"1" * 30 + b"}"),
        r"line 1: not valid here: a number of 30 digits \(at most 20\)",
    ),
    "NaN": Hostile(
        raw(6, b'{"type": "thread", "pinned": NaN}'),
        r"line 6: not valid here: NaN is not a JSON value",
    ),
    "a field given twice": Hostile(
        raw(
            7,
            b'{"type": "post", "id": "p-1", "thread": "t-1", "author": "u", '
            b'"created": "2022-07-26T09:30:00Z", "body": "shown", "body": "stored"}',
        ),
        r'line 7: not valid here: the name "body" appears twice in one object',
    ),
    "invalid UTF-8": Hostile(
        raw(7, b'{"type": "post", "body": "caf\xe9"}'), r"line 7: not valid UTF-8 \(byte 30\)"
    ),
    "a NUL byte in the line": Hostile(
        raw(7, b'{"type": "post", "body": "a\x00b"}'),
        r"line 7: not valid JSON: Invalid control character at \(column 28\)",
    ),
    "a NUL character in a username": Hostile(
        setting(3, username="u\x00"),
        r'line 3: user "u\\u0000": field "username" must be a username \(1 to 40 letters, '
        r'digits, underscores, dots or hyphens\), got "u\\u0000"',
    ),
    "a control character in an id": Hostile(
        setting(7, id="p-\x07"),
        r'line 7: post "p-\\u0007": field "id" must be 1 to 200 characters without control '
        r"characters",
    ),
    "a lone surrogate in a username": Hostile(
        raw(
            3,
            b'{"type": "user", "username": "\\ud800", "display_name": "U", "email": "u@o.gov.uk"}',
        ),
        r'line 3: user "\?": field "username" must be a username \(1 to 40 letters, digits, '
        r'underscores, dots or hyphens\), got "\?"',
    ),
    "an unknown field whose name is a terminal escape, 10,000 long": Hostile(
        setting(2, **{"\x1b[2J" + "x" * 10_000: 1}),
        r'line 2: organisation "o": unknown field "\\u001b\[2Jx{33}\.\.\."',
    ),
    "binary garbage": Hostile(raw(2, b"\x89PNG\r\n\x1a\n"), r"line 2: not valid UTF-8 \(byte 1\)"),
    # -- over-long lines, plain and compressed
    "a 30 MB line": Hostile(
        raw(7, b'{"type": "post", "body": "' + b"x" * 30_000_000), _TOO_LONG_LINE
    ),
    "a 300 MB line": Hostile(sparse_line(300_000_000), _TOO_LONG_LINE),
    "a line one byte over the limit": Hostile(sparse_line(LINE_MAX + 1), _TOO_LONG_LINE),
    "a gzip bomb: one line unpacking to 60 MB": Hostile(bomb, _TOO_LONG_LINE),
    "an over-long line in a gzipped archive": Hostile(
        gzipped(setting(7, body="x" * 2_000_000)), _TOO_LONG_LINE
    ),
    "a truncated gzipped archive": Hostile(
        lambda path: _truncated(gzipped(setting(7))(path)), r"line \d+: cannot read the file: .+"
    ),
    # -- duplicates and references
    "a duplicate post id": Hostile(
        adding(8, {**base()[5], "body": "Again."}),
        r'line 8: post "p-1": id "p-1" appears on an earlier line too',
    ),
    "a duplicate thread id": Hostile(
        adding(7, {**base()[4], "title": "Again"}),
        r'line 7: thread "t-1": id "t-1" appears on an earlier line too',
    ),
    "a duplicate username, in other capitals": Hostile(
        adding(4, {**base()[1], "username": "U", "email": "v@o.gov.uk"}),
        r'line 4: user "u": username "u" appears on an earlier line too',
    ),
    "a duplicate email, in other capitals": Hostile(
        adding(4, {**base()[1], "username": "v", "email": "U@O.GOV.UK"}),
        r'line 4: user "v": email "U@O\.GOV\.UK" appears on an earlier line too',
    ),
    "a duplicate organisation slug": Hostile(
        adding(3, {**base()[0], "email_domains": []}),
        r'line 3: organisation "o": slug "o" appears on an earlier line too',
    ),
    "a duplicate network slug": Hostile(
        adding(5, {**base()[2], "visibility": "public"}),
        r'line 5: network "n": slug "n" appears on an earlier line too',
    ),
    "a second summary of a thread": Hostile(
        adding(9, base()[6]),
        r'line 9: summary of thread "t-1": a summary of thread "t-1" appears on an earlier line '
        r"too",
    ),
    "a duplicate membership": Hostile(
        adding(6, base()[3]),
        r'line 6: membership of "u" in "n": this membership appears on an earlier line too',
    ),
    "a reference to a missing thread": Hostile(
        setting(7, thread="t-9"),
        r'line 7: post "p-1": thread "t-9" is not a thread on an earlier line or in the forum',
    ),
    "a reply to a missing post": Hostile(
        setting(7, parent="p-0"),
        r'line 7: post "p-1": parent "p-0" is not an earlier post of thread "t-1"',
    ),
    "a membership of a missing user": Hostile(
        setting(5, user="nobody"),
        r'line 5: membership of "nobody" in "n": user "nobody" is not a user on an earlier '
        r"line or in the forum",
    ),
}


def _truncated(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 12])
    return path
