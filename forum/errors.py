"""The domain's own exceptions. The web layer turns them into pages; the CLI into messages."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a service raises on purpose."""


class NotFound(DomainError):
    """The object does not exist, or the viewer may not know that it exists."""


class PermissionDenied(DomainError):
    """The viewer may see the object but not do this to it."""


class ValidationError(DomainError):
    """User input was refused. `errors` maps a field name to a message a person can act on."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class Conflict(DomainError):
    """The write would duplicate something unique (a username, a slug, an archive id)."""
