"""The records of the archive format (version 1): parsing one line, and writing one back.

The importer and the exporter share these classes, so the field names, their order and their
defaults are written down once. Parsing checks everything a single line can tell (JSON syntax,
record type, required fields, types, times, slugs and usernames); whether the records a line
refers to exist is the importer's business.

See docs/archive-format.md for the format itself.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

from tortoise.models import Model

from forum.accounts.models import Organisation, User
from forum.accounts.organisations import DOMAIN_RE, DOMAINS_MAX
from forum.accounts.services import EMAIL_RE, SLUG_RE, USERNAME_RE, normalise_username
from forum.config import LimitSettings
from forum.networks.models import Network, Role, Visibility
from forum.networks.services import DESCRIPTION_MAX
from forum.text import TAG_RE, clean, clean_line
from forum.threads.models import Thread
from forum.timeutil import iso, parse_iso, utcnow

__all__ = [
    "HEADER_TYPE",
    "RECORD_TYPES",
    "VERSION",
    "ArchiveError",
    "Bounds",
    "Header",
    "MembershipRecord",
    "NetworkRecord",
    "OrganisationRecord",
    "PostRecord",
    "Record",
    "SummaryRecord",
    "ThreadRecord",
    "UserRecord",
    "dumps",
    "parse_header",
    "parse_record",
]

HEADER_TYPE: Final = "forum-archive"
VERSION: Final = 1


def _column(model: type[Model], name: str) -> int:
    """The size of a text column: the bound its form keeps too, read from the model so that
    there is one number (PostgreSQL would refuse a longer value with no line number; SQLite
    would silently keep it)."""
    size = model._meta.fields_map[name].max_length  # type: ignore[attr-defined]
    assert isinstance(size, int)
    return size


ID_MAX: Final = _column(Thread, "ref")  # Post.ref is the same size
NAME_MAX: Final = min(_column(Organisation, "name"), _column(Network, "name"))
DISPLAY_NAME_MAX: Final = _column(User, "display_name")
EMAIL_MAX: Final = _column(User, "email")

#: The earliest time a record may carry. Nothing this forum imports happened before; a year
#: 1 or a year 9999 is a mistake (and a year 9999 with an offset is not a UTC time at all).
EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
#: How far past the import's start a record's time may be: clocks disagree a little.
CLOCK_SKEW: Final = timedelta(days=1)
#: The most digits a JSON whole number may have: no field holds a number but the header's
#: version, and turning a million digits into an int takes seconds (Python refuses at 4,300).
NUMBER_DIGITS_MAX: Final = 20
#: What a line may hold besides its longest text field (other fields, names, spacing).
LINE_OVERHEAD: Final = 64 * 1024
#: The most bytes one character can take in a JSON line: a character outside the Basic
#: Multilingual Plane written as two \uXXXX escapes (as json.dumps does by default).
BYTES_PER_CHARACTER: Final = 12


@dataclass(frozen=True, slots=True)
class Bounds:
    """What a line is checked against: the forms' limits (one source: `settings.limits` and
    the services' constants) and the latest time a record may carry."""

    limits: LimitSettings = field(default_factory=LimitSettings)
    latest: datetime = field(default_factory=lambda: utcnow() + CLOCK_SKEW)

    @property
    def line_bytes_max(self) -> int:
        """The longest line a record within the limits can need: its longest text field at
        the widest JSON escaping, and room for the rest. A longer line is refused after
        reading this many bytes of it, before the rest is read into memory."""
        longest = max(self.limits.body_max, DESCRIPTION_MAX, self.limits.title_max)
        return BYTES_PER_CHARACTER * longest + LINE_OVERHEAD


class ArchiveError(Exception):
    """An archive cannot be read or imported. The message starts with "line N: " when one
    line is to blame, and names the record and the field."""


@dataclass(frozen=True, slots=True)
class Header:
    version: int
    exported_at: datetime | None


@dataclass(frozen=True, slots=True)
class OrganisationRecord:
    slug: str
    name: str
    email_domains: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "organisation",
            "slug": self.slug,
            "name": self.name,
            # Order carries no meaning: sorted, so that an export is the same every time.
            "email_domains": sorted(self.email_domains),
        }


@dataclass(frozen=True, slots=True)
class UserRecord:
    username: str
    display_name: str
    email: str
    organisation: str | None = None
    is_admin: bool = False
    created: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "user",
            "username": self.username,
            "display_name": self.display_name,
            "email": self.email,
        }
        if self.organisation is not None:
            out["organisation"] = self.organisation
        out["is_admin"] = self.is_admin
        if self.created is not None:
            out["created"] = iso(self.created)
        return out


@dataclass(frozen=True, slots=True)
class NetworkRecord:
    slug: str
    name: str
    description: str = ""
    visibility: Visibility = Visibility.MEMBERS

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "network",
            "slug": self.slug,
            "name": self.name,
            "description": self.description,
            "visibility": self.visibility.value,
        }


@dataclass(frozen=True, slots=True)
class MembershipRecord:
    network: str
    user: str
    role: Role = Role.MEMBER

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "membership",
            "network": self.network,
            "user": self.user,
            "role": self.role.value,
        }


@dataclass(frozen=True, slots=True)
class ThreadRecord:
    id: str
    network: str
    title: str
    author: str
    created: datetime
    tags: tuple[str, ...] = ()
    pinned: bool = False
    locked: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "thread",
            "id": self.id,
            "network": self.network,
            "title": self.title,
            "author": self.author,
            "created": iso(self.created),
            "tags": sorted(self.tags),
            "pinned": self.pinned,
            "locked": self.locked,
        }


@dataclass(frozen=True, slots=True)
class PostRecord:
    id: str
    thread: str
    author: str
    created: datetime
    body: str
    parent: str | None = None
    edited: datetime | None = None
    deleted: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "post",
            "id": self.id,
            "thread": self.thread,
            "author": self.author,
            "created": iso(self.created),
            "body": self.body,
        }
        if self.parent is not None:
            out["parent"] = self.parent
        if self.edited is not None:
            out["edited"] = iso(self.edited)
        out["deleted"] = self.deleted
        return out


@dataclass(frozen=True, slots=True)
class SummaryRecord:
    thread: str
    author: str
    created: datetime
    body: str
    updated: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "summary",
            "thread": self.thread,
            "author": self.author,
            "created": iso(self.created),
            "body": self.body,
        }
        if self.updated is not None:
            out["updated"] = iso(self.updated)
        return out


Record = (
    OrganisationRecord
    | UserRecord
    | NetworkRecord
    | MembershipRecord
    | ThreadRecord
    | PostRecord
    | SummaryRecord
)

#: Every record type, in the order an export writes them.
RECORD_TYPES: Final = (
    "organisation",
    "user",
    "network",
    "membership",
    "thread",
    "post",
    "summary",
)


def dumps(record: Record | Header) -> str:
    """One line of the archive (without its newline), in the canonical form an export writes."""
    if isinstance(record, Header):
        data: dict[str, Any] = {"type": HEADER_TYPE, "version": record.version}
        if record.exported_at is not None:
            data["exported_at"] = iso(record.exported_at)
    else:
        data = record.to_dict()
    # Non-ASCII text stays readable: the file is UTF-8. json escapes control characters and
    # newlines, so a record is always exactly one line.
    return json.dumps(data, ensure_ascii=False)


# ------------------------------------------------------------------------------ parsing

_T = TypeVar("_T")

#: How much of a value from the file a message shows, and of the id naming the record.
SHOWN_MAX = 40
LABEL_MAX = 80


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, int | float):
        return f"the number {value}"  # whole numbers have at most NUMBER_DIGITS_MAX digits
    if isinstance(value, list):
        return "a list"
    return "an object"


def _has_control(value: str) -> bool:
    """True if `value` holds a control character, NUL or lone surrogate (category C)."""
    return any(unicodedata.category(ch)[0] == "C" for ch in value)


def _too_long(name: str, length: int, limit: int, setting: str | None = None) -> str:
    where = f" (limits.{setting} in config.toml)" if setting else ""
    return f'field "{name}" is {length:,} characters long; the limit is {limit:,}{where}'


class _Fields:
    """The fields of one record, read with the line number and the record's name at hand."""

    def __init__(self, line: int, kind: str, data: dict[str, Any], bounds: Bounds) -> None:
        self.line = line
        self.data = data
        self.bounds = bounds
        self.limits = bounds.limits
        self.used = {"type"}
        self.label = _label(kind, data)

    def error(self, message: str) -> ArchiveError:
        return ArchiveError(f"line {self.line}: {self.label}: {message}")

    def get(self, name: str, required: bool) -> Any:
        self.used.add(name)
        value = self.data.get(name)
        if value is None and required:
            if name in self.data:
                raise self.error(f'field "{name}" must not be null')
            raise self.error(f'missing required field "{name}"')
        return value

    def text(
        self,
        name: str,
        *,
        max_length: int,
        setting: str | None = None,
        required: bool = True,
    ) -> str:
        """A string, cleaned as the services clean text (NUL dropped, line endings unified),
        at most `max_length` characters (the form's limit; `setting` names it in config)."""
        value = self.get(name, required)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.error(f'field "{name}" must be a string, got {_describe(value)}')
        value = clean(value)
        if len(value) > max_length:
            raise self.error(_too_long(name, len(value), max_length, setting))
        return value

    def line_text(self, name: str, max_length: int, setting: str | None = None) -> str:
        """A required one-line string (a name or title): whitespace collapsed, not empty."""
        value = self.get(name, True)
        if not isinstance(value, str):
            raise self.error(f'field "{name}" must be a string, got {_describe(value)}')
        value = clean_line(value)
        if not value:
            raise self.error(f'field "{name}" must not be empty')
        if len(value) > max_length:
            raise self.error(_too_long(name, len(value), max_length, setting))
        return value

    def ident(self, name: str, *, required: bool = True) -> str | None:
        """An archive id (a thread's or post's): 1-200 characters, no control characters."""
        value = self.get(name, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(f'field "{name}" must be a string, got {_describe(value)}')
        if not value or len(value) > ID_MAX or _has_control(value):
            raise self.error(
                f'field "{name}" must be 1 to {ID_MAX} characters without control characters'
            )
        return value

    def slug(self, name: str, *, required: bool = True) -> str:
        value = self.get(name, required)
        if value is None:
            return ""
        if not isinstance(value, str) or not SLUG_RE.match(value):
            raise self.error(
                f'field "{name}" must be a slug (lowercase letters, digits and hyphens, '
                f"starting with a letter or digit, at most 64), got {_describe(value)}"
            )
        return value

    def username(self, name: str, *, required: bool = True) -> str | None:
        value = self.get(name, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(f'field "{name}" must be a string, got {_describe(value)}')
        # The same rule as accounts.services.create_user: stored and compared lowercase.
        username = normalise_username(value)
        if not USERNAME_RE.match(username):
            raise self.error(
                f'field "{name}" must be a username (1 to 40 letters, digits, underscores, '
                f"dots or hyphens), got {_describe(value)}"
            )
        return username

    def email(self, name: str) -> str:
        value = self.get(name, True)
        if not isinstance(value, str):
            raise self.error(f'field "{name}" must be a string, got {_describe(value)}')
        value = value.strip()
        if not EMAIL_RE.match(value) or len(value) > EMAIL_MAX or _has_control(value):
            raise self.error(
                f'field "{name}" must be an email address like name@example.org, '
                f"got {_describe(value)}"
            )
        return value

    def flag(self, name: str) -> bool:
        value = self.get(name, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.error(f'field "{name}" must be true or false, got {_describe(value)}')
        return value

    def time(self, name: str, *, required: bool = True, bounded: bool = True) -> datetime | None:
        """An ISO 8601 time with a UTC offset; if `bounded` (every time a record keeps),
        between EARLIEST and the bounds' latest."""
        value = self.get(name, required)
        if value is None:
            return None
        problem = f'field "{name}" must be an ISO 8601 time with a UTC offset'
        if not isinstance(value, str):
            raise self.error(f"{problem}, got {_describe(value)}")
        try:
            when = parse_iso(value)
        except ValueError:
            raise self.error(
                f"{problem} (like 2022-07-26T09:30:00Z), got {_describe(value)}"
            ) from None
        except OverflowError:
            # 9999-12-31T23:00:00-05:00 is a valid time, in UTC after the last one Python has.
            when = None
        if when is None or (bounded and not EARLIEST <= when <= self.bounds.latest):
            raise self.error(
                f'field "{name}" must be a time between {EARLIEST.date()} and now, '
                f"got {_describe(value)}"
            )
        return when

    def choice(self, name: str, kind: Callable[[str], _T], default: _T) -> _T:
        value = self.get(name, False)
        if value is None:
            return default
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            return kind(value)
        except ValueError:
            choices = " or ".join(f'"{c}"' for c in _CHOICES[name])
            raise self.error(f'field "{name}" must be {choices}, got {_describe(value)}') from None

    def str_list(
        self,
        name: str,
        item: Callable[[str], bool],
        one: str,
        many: str,
        *,
        max_items: int,
        setting: str | None = None,
        normalise: Callable[[str], str] = str,
    ) -> tuple[str, ...]:
        """A list of strings each passing `item` once normalised; duplicates are dropped,
        order kept; at most `max_items` after that (as the form counts them)."""
        value = self.get(name, False)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.error(f'field "{name}" must be a list of {many}, got {_describe(value)}')
        out: dict[str, None] = {}
        for entry in value:
            if not isinstance(entry, str) or not item(normalise(entry)):
                raise self.error(f'field "{name}": {_describe(entry)} is not {one}')
            out.setdefault(normalise(entry), None)
        if len(out) > max_items:
            where = f" (limits.{setting} in config.toml)" if setting else ""
            raise self.error(
                f'field "{name}" has {len(out):,} {many}; the limit is {max_items:,}{where}'
            )
        return tuple(out)

    def finish(self) -> None:
        """Refuse fields the format does not have: a typo must not pass as an absent field."""
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.error(f"unknown field {_quoted(unknown[0])}")


_CHOICES = {
    "visibility": [v.value for v in Visibility],
    "role": [r.value for r in Role],
}


def _is_domain(value: str) -> bool:
    # The organisation form's rule (accounts.organisations.parse_domains), on the value as
    # stored: lowercase.
    return DOMAIN_RE.match(value) is not None


def _organisation(f: _Fields) -> OrganisationRecord:
    slug = f.slug("slug")
    name = f.line_text("name", NAME_MAX)
    # Stored as the service stores them: lowercase (addresses are compared without case).
    domains = f.str_list(
        "email_domains",
        _is_domain,
        "a domain like example.gov.uk",
        "domains",
        max_items=DOMAINS_MAX,
        normalise=str.lower,
    )
    return OrganisationRecord(slug=slug, name=name, email_domains=domains)


def _user(f: _Fields) -> UserRecord:
    username = f.username("username")
    assert username is not None
    display_name = f.line_text("display_name", DISPLAY_NAME_MAX)
    email = f.email("email")
    organisation = f.slug("organisation", required=False)  # "" when absent
    return UserRecord(
        username=username,
        display_name=display_name,
        email=email,
        organisation=organisation or None,
        is_admin=f.flag("is_admin"),
        created=f.time("created", required=False),
    )


def _network(f: _Fields) -> NetworkRecord:
    return NetworkRecord(
        slug=f.slug("slug"),
        name=f.line_text("name", NAME_MAX),
        # The network form strips the description: so is the length counted.
        description=f.text("description", max_length=DESCRIPTION_MAX, required=False).strip(),
        visibility=f.choice("visibility", Visibility, Visibility.MEMBERS),
    )


def _membership(f: _Fields) -> MembershipRecord:
    network = f.slug("network")
    user = f.username("user")
    assert user is not None
    return MembershipRecord(network=network, user=user, role=f.choice("role", Role, Role.MEMBER))


def _body(f: _Fields) -> str:
    return f.text("body", max_length=f.limits.body_max, setting="body_max")


def _thread(f: _Fields) -> ThreadRecord:
    ident = f.ident("id")
    network = f.slug("network")
    title = f.line_text("title", f.limits.title_max, "title_max")
    author = f.username("author")
    created = f.time("created")
    assert ident is not None and author is not None and created is not None
    return ThreadRecord(
        id=ident,
        network=network,
        title=title,
        author=author,
        created=created,
        tags=f.str_list(
            "tags",
            lambda t: TAG_RE.match(t) is not None,
            "a tag slug",
            "tags",
            max_items=f.limits.tags_max,
            setting="tags_max",
        ),
        pinned=f.flag("pinned"),
        locked=f.flag("locked"),
    )


def _post(f: _Fields) -> PostRecord:
    ident = f.ident("id")
    thread = f.ident("thread")
    author = f.username("author")
    created = f.time("created")
    assert ident is not None and thread is not None and author is not None and created is not None
    return PostRecord(
        id=ident,
        thread=thread,
        author=author,
        created=created,
        body=_body(f),
        parent=f.ident("parent", required=False),
        edited=f.time("edited", required=False),
        deleted=f.flag("deleted"),
    )


def _summary(f: _Fields) -> SummaryRecord:
    thread = f.ident("thread")
    author = f.username("author")
    created = f.time("created")
    assert thread is not None and author is not None and created is not None
    return SummaryRecord(
        thread=thread,
        author=author,
        created=created,
        body=_body(f),
        updated=f.time("updated", required=False),
    )


_PARSERS: dict[str, Callable[[_Fields], Record]] = {
    "organisation": _organisation,
    "user": _user,
    "network": _network,
    "membership": _membership,
    "thread": _thread,
    "post": _post,
    "summary": _summary,
}


def _quoted(value: str, limit: int = SHOWN_MAX) -> str:
    """A value from the file, quoted for a one-line message: at most `limit` characters of
    it, with control characters escaped (a terminal must not obey what a file says) and a
    lone surrogate (which JSON can encode but no terminal can print) shown as "?"."""
    shown = value if len(value) <= limit else value[: limit - 3] + "..."
    return json.dumps(shown.encode("utf-8", "replace").decode("utf-8"), ensure_ascii=False)


def _label(kind: str, data: dict[str, Any]) -> str:
    """How messages name a record: `post "p-17"`, `membership of "alice" in "data-leaders"`."""
    key = {"organisation": "slug", "user": "username", "network": "slug"}.get(kind, "id")
    if kind == "membership":
        user, network = data.get("user"), data.get("network")
        if isinstance(user, str) and isinstance(network, str):
            return f"membership of {_quoted(user, LABEL_MAX)} in {_quoted(network, LABEL_MAX)}"
        return kind
    if kind == "summary":
        thread = data.get("thread")
        return (
            f"summary of thread {_quoted(thread, LABEL_MAX)}" if isinstance(thread, str) else kind
        )
    ident = data.get(key)
    return f"{kind} {_quoted(ident, LABEL_MAX)}" if isinstance(ident, str) else kind


class _Refused(ValueError):
    """A JSON value this format never needs and that costs too much to take."""


def _whole_number(digits: str) -> int:
    if len(digits.lstrip("-")) > NUMBER_DIGITS_MAX:
        raise _Refused(f"a number of {len(digits):,} digits (at most {NUMBER_DIGITS_MAX})")
    return int(digits)


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON value")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        # JSON leaves a repeated name to the reader: two readers could see different records.
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise _Refused(f"the name {_quoted(name)} appears twice in one object")
            seen.add(name)
    return data


def _load(line: int, text: str) -> dict[str, Any]:
    if not text.strip():
        raise ArchiveError(f"line {line}: blank line (the format has one JSON object per line)")
    try:
        data = json.loads(
            text, object_pairs_hook=_object, parse_int=_whole_number, parse_constant=_constant
        )
    except _Refused as exc:
        raise ArchiveError(f"line {line}: not valid here: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ArchiveError(f"line {line}: not valid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise ArchiveError(f"line {line}: not valid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise ArchiveError(f"line {line}: expected a JSON object, got {_describe(data)}")
    return data


def _guarded(line: int, read: Callable[[], _T]) -> _T:
    """Run `read` (pure parsing of one line): whatever a hostile value makes go wrong in it
    that no check above foresaw is still that line's fault, said in one line with its
    number, never a traceback."""
    try:
        return read()
    except ArchiveError:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError, UnicodeError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise ArchiveError(
            f"line {line}: cannot read this record ({type(exc).__name__}: {reason})"
        ) from None


def parse_header(line: int, text: str) -> Header:
    """Read the first line. Raises ArchiveError unless it is a version 1 archive header."""
    return _guarded(line, lambda: _header(line, text))


def _header(line: int, text: str) -> Header:
    data = _load(line, text)
    kind = data.get("type")
    if kind != HEADER_TYPE:
        got = f"a record of type {_describe(kind)}" if isinstance(kind, str) else "no header"
        raise ArchiveError(
            f'line {line}: expected the archive header {{"type": "{HEADER_TYPE}", '
            f'"version": {VERSION}, ...}}, got {got}'
        )
    f = _Fields(line, "header", data, Bounds())
    version = f.get("version", True)
    if not isinstance(version, int) or isinstance(version, bool):
        raise f.error(f'field "version" must be a whole number, got {_describe(version)}')
    if version != VERSION:
        raise ArchiveError(
            f"line {line}: this is a version {version} archive; this forum reads version {VERSION}"
        )
    # Only said, never stored: any time will do (generators date their files ahead).
    exported_at = f.time("exported_at", required=False, bounded=False)
    f.finish()
    return Header(version=version, exported_at=exported_at)


def parse_record(line: int, text: str, bounds: Bounds | None = None) -> Record:
    """Read one line after the header, checked against `bounds` (default: the default limits).

    Raises ArchiveError naming the line (and the record and field) for invalid JSON, an unknown
    or missing type, a missing, unknown or mistyped field, a value over the forms' limits, or a
    time without a UTC offset or out of range.
    """
    checked = bounds or Bounds()
    return _guarded(line, lambda: _record(line, text, checked))


def _record(line: int, text: str, bounds: Bounds) -> Record:
    data = _load(line, text)
    kind = data.get("type")
    if kind == HEADER_TYPE:
        raise ArchiveError(f'line {line}: a "{HEADER_TYPE}" header may only be the first line')
    if not isinstance(kind, str):
        raise ArchiveError(f'line {line}: missing "type" (expected one of {", ".join(_PARSERS)})')
    parser = _PARSERS.get(kind)
    if parser is None:
        raise ArchiveError(
            f"line {line}: unknown record type {_describe(kind)} "
            f"(expected one of {', '.join(_PARSERS)})"
        )
    fields = _Fields(line, kind, data, bounds)
    record = parser(fields)
    fields.finish()
    return record
