"""Aware UTC times, and how they read to a person."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_iso(value: str) -> datetime:
    """Parse ISO 8601 with a UTC offset ('Z' allowed). Raises ValueError if naive or malformed."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    if dt.tzinfo is None:
        raise ValueError(f"time {value!r} has no UTC offset")
    return dt.astimezone(UTC)


def iso(dt: datetime) -> str:
    """ISO 8601 in UTC with a trailing Z, to the second."""
    return dt.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def relative(dt: datetime, now: datetime | None = None) -> str:
    """'just now', '5 minutes ago', '3 days ago', or a date for anything older than a month."""
    now = now or utcnow()
    seconds = int((now - dt).total_seconds())
    if seconds < 60:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = seconds // size
            if unit == "day" and n > 30:
                break
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return dt.astimezone(UTC).strftime("%-d %b %Y")
