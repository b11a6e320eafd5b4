"""Health checks for load balancers and monitoring.

- `/healthz`: the process is alive and serving (no database, no disk): 200 "ok".
- `/readyz`: ready for traffic: the database answers, and how far behind the search index of
  this host is (changes not yet applied) and how many emails wait in the outbox. 200 with a
  JSON body when the database answers, 503 otherwise. Nothing in it names content, and the
  figures are only for the operator: a request with the metrics token (`Authorization:
  Bearer …`, as /metrics) or from a loopback address not through a proxy (a request carrying
  a forwarding header came through one: nginx on the host, and every visitor's peer would be
  loopback, believed proxy or not). Anyone else learns ready or not ready
  (the status code, which is all a load balancer reads), not how busy the mail or the index is.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from forum.changes import Change, SearchCursor
from forum.mail.models import MailStatus, OutboundEmail
from forum.search.indexer import index_name
from forum.web.security import client_address, proxied

log = logging.getLogger("forum.health")


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok", headers={"Cache-Control": "no-store"})


@dataclass(frozen=True, slots=True)
class Status:
    search_lag: int  # changes this host's index has yet to apply
    mail_queued: int
    mail_failed: int


async def status(index_dir: Path) -> Status:
    """What an operator watches, read from the database (four small queries)."""
    latest = await Change.all().order_by("-id").first()
    cursor = await SearchCursor.get_or_none(name=index_name(index_dir))
    queued = await OutboundEmail.filter(status=MailStatus.QUEUED).count()
    failed = await OutboundEmail.filter(status=MailStatus.FAILED).count()
    lag = max(0, (latest.id if latest else 0) - (cursor.cursor if cursor else 0))
    return Status(search_lag=lag, mail_queued=queued, mail_failed=failed)


def _operator(request: Request) -> bool:
    """The metrics token's bearer, or a client on this host (the operator's own checks)."""
    token = request.app.state.settings.server.metrics_token
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if token and given and hmac.compare_digest(token.encode(), given.encode()):
        return True
    if proxied(request):
        # Through a proxy on this host (nginx) every visitor's peer is loopback.
        return False
    try:
        return ipaddress.ip_address(client_address(request)).is_loopback
    except ValueError:
        return False


async def readyz(request: Request) -> Response:
    settings = request.app.state.settings
    try:
        now = await asyncio.wait_for(status(settings.index_dir), timeout=5)
    except Exception as exc:  # any failure to reach the database means: not ready
        log.warning("readiness check failed: %s", exc)
        return JSONResponse(
            {"ready": False, "database": "unreachable"},
            status_code=503,
            headers={"Cache-Control": "no-store"},
        )
    body: dict[str, object] = {"ready": True, "database": "ok"}
    if _operator(request):
        body |= {
            "search_lag": now.search_lag,
            "mail_queued": now.mail_queued,
            "mail_failed": now.mail_failed,
        }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
