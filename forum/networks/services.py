"""Every write to networks and memberships."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from forum import changes, rendering
from forum.accounts.models import User
from forum.accounts.services import account_changed, check_slug
from forum.audit import services as audit
from forum.errors import Conflict, PermissionDenied, ValidationError
from forum.networks.models import JoinPolicy, Membership, Network, Role, Visibility
from forum.permissions import Viewer
from forum.text import clean, clean_line
from forum.timeutil import utcnow

DESCRIPTION_MAX = 5000


@dataclass(frozen=True, slots=True)
class NetworkSettings:
    """What an admin sets on a network, checked."""

    name: str
    description: str
    visibility: Visibility
    join_policy: JoinPolicy


def _check_settings(
    *, name: str, description: str, visibility: str, join_policy: str, slug: str | None = None
) -> NetworkSettings:
    """The fields cleaned and checked; raises ValidationError naming every bad one."""
    errors: dict[str, str] = {}
    if slug is not None:
        try:
            check_slug(slug)
        except ValidationError as exc:
            errors.update(exc.errors)
    name = clean_line(name)
    if not name:
        errors["name"] = "Enter the network's name."
    elif len(name) > 200:
        errors["name"] = f"Keep the name to 200 characters (it has {len(name):,})."
    description = clean(description).strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = (
            f"Keep the description to {DESCRIPTION_MAX:,} characters (it has {len(description):,})."
        )
    if visibility not in set(Visibility):
        errors["visibility"] = "Choose public or members only."
    if join_policy not in set(JoinPolicy):
        errors["join_policy"] = "Choose how people join."
    if errors:
        raise ValidationError(errors)
    return NetworkSettings(name, description, Visibility(visibility), JoinPolicy(join_policy))


def _settings_of(network: Network) -> dict[str, str]:
    return {
        "name": network.name,
        "description": network.description,
        "visibility": Visibility(network.visibility).value,
        "join_policy": JoinPolicy(network.join_policy).value,
    }


async def create_network(
    *,
    slug: str,
    name: str,
    description: str = "",
    visibility: Visibility | str = Visibility.MEMBERS,
    join_policy: JoinPolicy | str = JoinPolicy.OPEN,
    created_at: datetime | None = None,
    actor: User | None = None,
) -> Network:
    """Create a network. With an `actor` (an admin, at /admin/networks) the creation is
    audited as `network.create`; the demo and imports pass none.

    Raises ValidationError (field by field), or Conflict if the slug is taken.
    """
    checked = _check_settings(
        slug=slug,
        name=name,
        description=description,
        visibility=visibility,
        join_policy=join_policy,
    )
    if await Network.exists(slug=slug):
        raise Conflict(f"network {slug!r} already exists")
    async with in_transaction() as conn:
        network = await Network.create(
            slug=slug,
            name=checked.name,
            description=checked.description,
            description_html=(await rendering.render(checked.description)).html,
            visibility=checked.visibility,
            join_policy=checked.join_policy,
            created_at=created_at or utcnow(),
            using_db=conn,
        )
        await changes.record("network", network.id, using=conn)
        if actor is not None:
            await audit.record(
                actor=actor,
                action="network.create",
                using=conn,
                network_id=network.id,
                after={"slug": slug, **_settings_of(network)},
            )
    return network


async def edit_network(
    *,
    viewer: Viewer,
    network: Network,
    name: str,
    description: str,
    visibility: Visibility | str,
    join_policy: JoinPolicy | str,
) -> Network:
    """Change a network's name, description, visibility and join policy (admins only). Pages
    and search follow at once: they decide by the network's state at each request, and the
    change log re-indexes its documents under the new name. Audited as `network.edit` with
    the fields that changed; a save that changes nothing writes nothing.

    Raises PermissionDenied (not an admin), ValidationError (field by field).
    """
    if viewer.user is None or not viewer.is_admin:
        raise PermissionDenied("Only admins can change a network's settings.")
    checked = _check_settings(
        name=name, description=description, visibility=visibility, join_policy=join_policy
    )
    before = _settings_of(network)
    network.name = checked.name
    network.description = checked.description
    network.description_html = (await rendering.render(checked.description)).html
    network.visibility = checked.visibility
    network.join_policy = checked.join_policy
    after = _settings_of(network)
    changed = [key for key in after if after[key] != before[key]]
    if not changed:
        return network
    async with in_transaction() as conn:
        await network.save(
            using_db=conn,
            update_fields=["name", "description", "description_html", "visibility", "join_policy"],
        )
        await changes.record("network", network.id, using=conn)
        await audit.record(
            actor=viewer.user,
            action="network.edit",
            using=conn,
            network_id=network.id,
            before={key: before[key] for key in changed},
            after={key: after[key] for key in changed},
        )
    return network


async def set_membership(*, network: Network, user: User, role: Role = Role.MEMBER) -> Membership:
    """Make `user` a member (or facilitator) of `network`, or change their role."""
    async with in_transaction() as conn:
        membership, created = await Membership.get_or_create(
            network=network,
            user=user,
            defaults={"role": role, "created_at": utcnow()},
            using_db=conn,
        )
        if not created:
            if membership.role == role:
                return membership  # nothing changed
            membership.role = role
            await membership.save(using_db=conn, update_fields=["role"])
        await account_changed(user.id, using=conn)
    return membership


async def remove_membership(*, network: Network, user: User) -> None:
    async with in_transaction() as conn:
        await Membership.filter(network_id=network.id, user_id=user.id).using_db(conn).delete()
        await account_changed(user.id, using=conn)


async def set_visibility(*, network: Network, visibility: Visibility) -> Network:
    """Make a network public or members-only. Pages and search follow at once: both decide
    by the network's visibility at the time of each request."""
    network.visibility = Visibility(visibility)
    async with in_transaction() as conn:
        await network.save(using_db=conn, update_fields=["visibility"])
        await changes.record("network", network.id, using=conn)
    return network
