"""Reads for networks: which ones a viewer sees, and one by its slug."""

from __future__ import annotations

from forum import permissions
from forum.accounts.services import SLUG_RE
from forum.errors import NotFound
from forum.networks.models import Membership, Network, Role
from forum.permissions import Viewer


async def visible_networks(viewer: Viewer) -> list[Network]:
    """Every network the viewer may read, by name."""
    ids = await permissions.readable_network_ids(viewer)
    return list(await Network.filter(id__in=ids).order_by("name")) if ids else []


async def get_network(slug: str, viewer: Viewer) -> Network:
    """The network `slug` if the viewer may read it. Raises NotFound otherwise (never 403)."""
    # Only a well-formed slug reaches the database (no NUL bytes, nothing over-long).
    network = await Network.filter(slug=slug).first() if SLUG_RE.match(slug) else None
    if network is None or not permissions.can_read(viewer, network):
        raise NotFound("no such network")
    return network


async def facilitators(network: Network) -> list[Membership]:
    return list(
        await Membership.filter(network_id=network.id, role=Role.FACILITATOR).select_related(
            "user__organisation"
        )
    )
