"""Reads for users and organisations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Generic, TypeVar

from tortoise.expressions import Q
from tortoise.functions import Count

from forum import changes
from forum.accounts.models import Invitation, Organisation, Session, User
from forum.accounts.services import SLUG_RE, USERNAME_RE
from forum.errors import NotFound
from forum.text import clean_line
from forum.timeutil import utcnow

T = TypeVar("T")


async def get_user(username: str) -> User:
    """The active user `username` (case-insensitive), with organisation. Raises NotFound."""
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise NotFound("no such user")
    user = (
        await User.filter(username=username, is_active=True).select_related("organisation").first()
    )
    if user is None:
        raise NotFound("no such user")
    return user


async def live_sessions(user_id: int, *, idle: timedelta) -> list[Session]:
    """A user's sessions that have not ended (expired or idle), most recently used first."""
    now = utcnow()
    sessions = await Session.filter(user_id=user_id, expires_at__gt=now).order_by("-id")
    live = [s for s in sessions if (s.last_seen_at or s.created_at) > now - idle]
    return sorted(live, key=lambda s: s.last_seen_at or s.created_at, reverse=True)


async def get_organisation(slug: str) -> Organisation:
    """The organisation `slug`. Raises NotFound (a malformed slug never reaches the database)."""
    organisation = await Organisation.filter(slug=slug).first() if SLUG_RE.match(slug) else None
    if organisation is None:
        raise NotFound("no such organisation")
    return organisation


async def organisation_people(organisation: Organisation) -> list[User]:
    """The active people of an organisation, by name. One query."""
    return list(
        await User.filter(organisation_id=organisation.id, is_active=True).order_by(
            "display_name", "id"
        )
    )


async def organisations_with_counts() -> list[tuple[Organisation, int]]:
    """Every organisation with how many active people it has, by name. Two queries."""
    organisations = await all_organisations()
    rows = (
        await User.filter(is_active=True, organisation_id__isnull=False)
        .annotate(n=Count("id"))
        .group_by("organisation_id")
        .values("organisation_id", "n")
    )
    counts = {int(r["organisation_id"]): int(r["n"]) for r in rows}
    return [(o, counts.get(o.id, 0)) for o in organisations]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    rows: list[T]
    page: int
    pages: int
    total: int


def pages_of(total: int, page: int, per_page: int) -> tuple[int, int]:
    """The page to show (`page` brought within range) and how many there are."""
    pages = max(1, -(-total // per_page))
    return min(max(page, 1), pages), pages


SEARCH_MAX = 100


async def user_page(*, q: str, page: int, per_page: int) -> Page[User]:
    """Accounts whose name, username or email contains `q` (all when empty), by name, with
    their organisation. Two queries."""
    query = User.all()
    q = clean_line(q)[:SEARCH_MAX]
    if q:
        query = query.filter(
            Q(display_name__icontains=q) | Q(email__icontains=q) | Q(username__icontains=q)
        )
    total = await query.count()
    page, pages = pages_of(total, page, per_page)
    rows = list(
        await query.select_related("organisation")
        .order_by("display_name", "id")
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(rows, page, pages, total)


async def get_account(user_id: int) -> User:
    """Any account, active or not, with its organisation (for admins). Raises NotFound."""
    user = await User.filter(id=user_id).select_related("organisation").first()
    if user is None:
        raise NotFound("no such user")
    return user


class InvitationStatus(StrEnum):
    PENDING = "pending"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


def invitation_status(invitation: Invitation, now: datetime | None = None) -> InvitationStatus:
    if invitation.used_at is not None:
        return InvitationStatus.USED
    if invitation.revoked_at is not None:
        return InvitationStatus.REVOKED
    if invitation.expires_at <= (now or utcnow()):
        return InvitationStatus.EXPIRED
    return InvitationStatus.PENDING


async def invitation_page(
    *, status: InvitationStatus | None, page: int, per_page: int
) -> Page[Invitation]:
    """Invitations, newest first, of one status or all, with who sent them, who used them
    and the organisation. Two queries."""
    now = utcnow()
    query = Invitation.all()
    if status == InvitationStatus.PENDING:
        query = query.filter(used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)
    elif status == InvitationStatus.USED:
        query = query.filter(used_at__isnull=False)
    elif status == InvitationStatus.REVOKED:
        query = query.filter(used_at__isnull=True, revoked_at__isnull=False)
    elif status == InvitationStatus.EXPIRED:
        query = query.filter(used_at__isnull=True, revoked_at__isnull=True, expires_at__lte=now)
    total = await query.count()
    page, pages = pages_of(total, page, per_page)
    rows = list(
        await query.select_related("invited_by", "used_by", "organisation")
        .order_by("-created_at", "-id")
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(rows, page, pages, total)


async def get_invitation(invitation_id: int) -> Invitation:
    """An invitation by its id (for admins). Raises NotFound."""
    invitation = await Invitation.get_or_none(id=invitation_id)
    if invitation is None:
        raise NotFound("no such invitation")
    return invitation


# Every write to organisations appends to the change log (services.create_organisation,
# organisations.edit_organisation, the importer).
_organisations: changes.UntilChanged[None, list[Organisation]] = changes.UntilChanged(1)


async def all_organisations() -> list[Organisation]:
    """Every organisation, by name (for filters). Kept until the change log moves: one
    query at most; the organisations are shared between requests, never to be changed."""

    async def read() -> list[Organisation]:
        return list(await Organisation.all().order_by("name"))

    return list(await _organisations.get(None, read))
