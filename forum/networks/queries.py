"""Reads for networks: which ones a viewer sees, and one by its slug."""

from __future__ import annotations

from copy import copy
from typing import Any

from tortoise.expressions import Q

from forum import permissions
from forum.accounts.queries import SEARCH_MAX, Page, pages_of
from forum.accounts.services import SLUG_RE
from forum.changes import UntilChanged
from forum.errors import NotFound
from forum.networks.models import Membership, MembershipRequest, Network, RequestStatus, Role
from forum.permissions import Viewer
from forum.text import clean_line

# Every network, by name, until the change log moves (creating a network, editing it or
# changing who may read it appends to the log): a small table that nearly every page reads.
# Callers get copies, as services change the network they are given.
_EVERY: UntilChanged[str, list[Network]] = UntilChanged(size=1)


async def _every_network() -> list[Network]:
    return list(await Network.all().order_by("name"))


async def visible_networks(viewer: Viewer) -> list[Network]:
    """Every network the viewer may read, by name."""
    every = await _EVERY.get("every", _every_network)
    return [copy(n) for n in every if permissions.can_read(viewer, n)]


async def get_network(slug: str, viewer: Viewer) -> Network:
    """The network `slug` if the viewer may read it. Raises NotFound otherwise (never 403)."""
    every = await _EVERY.get("every", _every_network)
    network = next((n for n in every if n.slug == slug), None)
    if network is None or not permissions.can_read(viewer, network):
        raise NotFound("no such network")
    return copy(network)


async def facilitators(network: Network) -> list[Membership]:
    return list(
        await Membership.filter(network_id=network.id, role=Role.FACILITATOR).select_related(
            "user__organisation"
        )
    )


async def get_listed_network(slug: str, viewer: Viewer) -> Network:
    """The network `slug` if the viewer may know it exists (`permissions.can_see_listed`): for
    the pages that let a signed-in outsider ask to join. Raises NotFound otherwise."""
    network = await Network.filter(slug=slug).first() if SLUG_RE.match(slug) else None
    if network is None or not permissions.can_see_listed(viewer, network):
        raise NotFound("no such network")
    return network


async def listed_networks(viewer: Viewer) -> list[Network]:
    """Every network the viewer may know exists, by name (all of them once signed in)."""
    if viewer.is_authenticated:
        return list(await Network.all().order_by("name"))
    return await visible_networks(viewer)


async def member_page(network: Network, *, q: str, page: int, per_page: int) -> Page[Membership]:
    """A page of `network`'s memberships, with each user and organisation: facilitators
    first ("facilitator" sorts before "member"), then by name. Only those whose name,
    username or organisation contains `q`, when it is given. Two queries, whatever the
    network's size."""
    query = Membership.filter(network_id=network.id)
    q = clean_line(q)[:SEARCH_MAX]
    if q:
        query = query.filter(
            Q(user__display_name__icontains=q)
            | Q(user__username__icontains=q)
            | Q(user__organisation__name__icontains=q)
        )
    total = await query.count()
    page, pages = pages_of(total, page, per_page)
    rows = list(
        await query.select_related("user__organisation")
        .order_by("role", "user__display_name", "user_id")
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(rows, page, pages, total)


async def pending_requests(network: Network) -> list[MembershipRequest]:
    """Requests waiting for a facilitator, oldest first, with each requester. One query."""
    return list(
        await MembershipRequest.filter(network_id=network.id, status=RequestStatus.PENDING)
        .select_related("user__organisation")
        .order_by("created_at", "id")
    )


async def pending_request(network: Network, user_id: int | None) -> MembershipRequest | None:
    """The user's request to join `network` that is waiting, if any."""
    if user_id is None:
        return None
    return (
        await MembershipRequest.filter(
            network_id=network.id, user_id=user_id, status=RequestStatus.PENDING
        )
        .order_by("-created_at")
        .first()
    )


async def pending_network_ids(user_id: int | None) -> set[int]:
    """Ids of the networks the user has asked to join and is waiting on. One query."""
    if user_id is None:
        return set()
    rows: list[Any] = list(
        await MembershipRequest.filter(user_id=user_id, status=RequestStatus.PENDING).values_list(
            "network_id", flat=True
        )
    )
    return {int(i) for i in rows}


async def network_names(ids: set[int]) -> dict[int, str]:
    """Names of the networks with these ids (those that still exist). One query."""
    if not ids:
        return {}
    rows = await Network.filter(id__in=sorted(ids)).values_list("id", "name")
    return {int(i): str(name) for i, name in rows}


async def memberships_of(user_id: int) -> list[Membership]:
    """A user's memberships with their networks, by network name. One query."""
    rows = await Membership.filter(user_id=user_id).select_related("network")
    return sorted(rows, key=lambda m: m.network.name.casefold())
