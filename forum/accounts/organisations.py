"""What admins do to organisations: create them and change their name and email domains.

An organisation's email domains say which addresses belong to it (self-registration places
people by them), so a domain belongs to one organisation only and is checked as a real host
name. Renaming an organisation renames it on every post of its people in search too.
"""

from __future__ import annotations

import re
from typing import Any

from tortoise.transactions import in_transaction

from forum import changes
from forum.accounts import services as accounts
from forum.accounts.models import Organisation, User
from forum.accounts.services import check_slug
from forum.audit import services as audit
from forum.errors import Conflict, PermissionDenied, ValidationError
from forum.permissions import Viewer
from forum.text import clean, clean_line

# Lowercase host names of two or more labels, like example.gov.uk: letters, digits and inner
# hyphens, each label at most 63 characters, a top-level label of letters.
DOMAIN_RE = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
DOMAINS_MAX = 20


def parse_domains(text: str) -> list[str]:
    """'Example.gov.uk, @other.org' -> ['example.gov.uk', 'other.org']: split on commas,
    spaces or lines, lowercased, a leading @ dropped, duplicates removed (in order).

    Raises ValidationError (field "email_domains") naming the first domain that is not one.
    """
    out: list[str] = []
    for part in re.split(r"[,\s]+", clean(text)):
        domain = part.strip().lstrip("@").lower().rstrip(".")
        if not domain:
            continue
        if not DOMAIN_RE.match(domain):
            shown = domain if len(domain) <= 60 else domain[:60] + "…"
            raise ValidationError(
                {
                    "email_domains": f"“{shown}” is not an email domain: give domains like "
                    "example.gov.uk, separated by commas or on separate lines."
                }
            )
        if domain not in out:
            out.append(domain)
    if len(out) > DOMAINS_MAX:
        raise ValidationError(
            {"email_domains": f"Give at most {DOMAINS_MAX} domains (there are {len(out)})."}
        )
    return out


def _require_admin(viewer: Viewer) -> User:
    if viewer.user is None or not viewer.is_admin:
        raise PermissionDenied("Only admins can change organisations.")
    return viewer.user


def _check_name(name: str) -> str:
    name = clean_line(name)
    if not name:
        raise ValidationError({"name": "Enter the organisation's name."})
    if len(name) > 200:
        raise ValidationError({"name": f"Keep the name to 200 characters (it has {len(name):,})."})
    return name


async def _check_unique(domains: list[str], organisation_id: int | None) -> None:
    """Each domain belongs to one organisation: refuse one another organisation has."""
    if not domains:
        return
    others = await Organisation.exclude(id=organisation_id or 0).values_list(
        "name", "email_domains"
    )
    for other_name, other_domains in others:
        taken = set(domains) & set(other_domains or [])
        if taken:
            raise ValidationError(
                {"email_domains": f"{sorted(taken)[0]} already belongs to {other_name}."}
            )


def _checked(name: str, email_domains: str, slug: str | None = None) -> tuple[str, list[str]]:
    """The name and domains checked together, so the form names every problem at once."""
    errors: dict[str, str] = {}
    checked_name, domains = "", []
    if slug is not None:
        try:
            check_slug(slug)
        except ValidationError as exc:
            errors.update(exc.errors)
    try:
        checked_name = _check_name(name)
    except ValidationError as exc:
        errors.update(exc.errors)
    try:
        domains = parse_domains(email_domains)
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    return checked_name, domains


async def create_organisation(
    *, viewer: Viewer, slug: str, name: str, email_domains: str = ""
) -> Organisation:
    """Create an organisation (admins only). Audited as `organisation.create`.

    Raises PermissionDenied, ValidationError (field by field), Conflict (the slug is taken).
    """
    actor = _require_admin(viewer)
    name, domains = _checked(name, email_domains, slug)
    if await Organisation.exists(slug=slug):
        raise Conflict(f"organisation {slug!r} already exists")
    await _check_unique(domains, None)
    async with in_transaction() as conn:
        organisation = await accounts.create_organisation(
            slug=slug, name=name, email_domains=domains, using=conn
        )
        await audit.record(
            actor=actor,
            action="organisation.create",
            using=conn,
            after={"slug": slug, "name": name, "email_domains": domains},
        )
    return organisation


async def edit_organisation(
    *, viewer: Viewer, organisation: Organisation, name: str, email_domains: str
) -> Organisation:
    """Change an organisation's name and email domains (admins only; the slug, in its
    address, stays). A new name reaches search through the change log (each of its people
    is re-indexed). Audited as `organisation.edit` with what changed.

    Raises PermissionDenied, ValidationError (field by field, or a domain another
    organisation has).
    """
    actor = _require_admin(viewer)
    name, domains = _checked(name, email_domains)
    await _check_unique(domains, organisation.id)
    before = {"name": organisation.name, "email_domains": list(organisation.email_domains)}
    after = {"name": name, "email_domains": domains}
    changed = [key for key in after if after[key] != before[key]]
    if not changed:
        return organisation
    organisation.name = name
    organisation.email_domains = domains
    async with in_transaction() as conn:
        await organisation.save(using_db=conn, update_fields=["name", "email_domains"])
        await changes.record("organisation", organisation.id, using=conn)
        if "name" in changed:
            people: list[Any] = list(
                await User.filter(organisation_id=organisation.id)
                .using_db(conn)
                .values_list("id", flat=True)
            )
            await changes.record_many("user", [int(i) for i in people], using=conn)
        await audit.record(
            actor=actor,
            action="organisation.edit",
            using=conn,
            before={"slug": organisation.slug, **{key: before[key] for key in changed}},
            after={key: after[key] for key in changed},
        )
    return organisation
