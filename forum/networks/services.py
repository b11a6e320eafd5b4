"""Every write to networks and memberships."""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from forum import changes, markdown
from forum.accounts.models import User
from forum.accounts.services import check_slug
from forum.errors import Conflict, ValidationError
from forum.networks.models import Membership, Network, Role, Visibility
from forum.text import clean, clean_line
from forum.timeutil import utcnow


async def create_network(
    *,
    slug: str,
    name: str,
    description: str = "",
    visibility: Visibility = Visibility.MEMBERS,
    created_at: datetime | None = None,
) -> Network:
    """Create a network. Raises ValidationError, or Conflict if the slug is taken."""
    name = clean_line(name)
    if not name:
        raise ValidationError({"name": "Enter the network's name."})
    check_slug(slug)
    if await Network.exists(slug=slug):
        raise Conflict(f"network {slug!r} already exists")
    description = clean(description)
    network = await Network.create(
        slug=slug,
        name=name[:200],
        description=description,
        description_html=markdown.render(description).html,
        visibility=Visibility(visibility),
        created_at=created_at or utcnow(),
    )
    await changes.record("network", network.id)
    return network


async def set_membership(*, network: Network, user: User, role: Role = Role.MEMBER) -> Membership:
    """Make `user` a member (or facilitator) of `network`, or change their role."""
    membership, created = await Membership.get_or_create(
        network=network, user=user, defaults={"role": role, "created_at": utcnow()}
    )
    if not created and membership.role != role:
        membership.role = role
        await membership.save(update_fields=["role"])
    return membership


async def remove_membership(*, network: Network, user: User) -> None:
    await Membership.filter(network_id=network.id, user_id=user.id).delete()


async def set_visibility(*, network: Network, visibility: Visibility) -> Network:
    """Make a network public or members-only. Pages and search follow at once: both decide
    by the network's visibility at the time of each request."""
    network.visibility = Visibility(visibility)
    async with in_transaction() as conn:
        await network.save(using_db=conn, update_fields=["visibility"])
        await changes.record("network", network.id, using=conn)
    return network
