"""Reading the audit log (the admin page). A page runs a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from forum.audit.models import AuditEntry
from forum.networks.models import Network
from forum.threads.models import Thread


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One entry, with the network and thread it names where they still exist."""

    entry: AuditEntry
    network: Network | None
    thread: Thread | None  # with its (current) network loaded


@dataclass(frozen=True, slots=True)
class AuditPage:
    rows: list[AuditRow]
    page: int
    pages: int
    total: int


async def audit_page(*, page: int, per_page: int, action: str | None = None) -> AuditPage:
    """Entries newest first, optionally of one action, with their actors, networks and
    threads: four queries whatever the page size."""
    entries = AuditEntry.all() if action is None else AuditEntry.filter(action=action)
    total = await entries.count()
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    found = list(
        await entries.select_related("actor")
        .order_by("-created_at", "-id")
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    network_ids = {e.network_id for e in found if e.network_id is not None}
    thread_ids = {e.thread_id for e in found if e.thread_id is not None}
    networks: dict[int, Any] = {}
    threads: dict[int, Any] = {}
    if network_ids:
        networks = {n.id: n for n in await Network.filter(id__in=list(network_ids))}
    if thread_ids:
        rows = await Thread.filter(id__in=list(thread_ids)).select_related("network")
        threads = {t.id: t for t in rows}
    return AuditPage(
        rows=[
            AuditRow(
                entry=e,
                network=networks.get(e.network_id) if e.network_id is not None else None,
                thread=threads.get(e.thread_id) if e.thread_id is not None else None,
            )
            for e in found
        ],
        page=page,
        pages=pages,
        total=total,
    )
