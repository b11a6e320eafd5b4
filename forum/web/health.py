"""Health checks for load balancers and monitoring.

- `/healthz`: the process is alive and serving (no database, no disk): 200 "ok".
- `/readyz`: ready for traffic: the database answers, and how far behind the search index of
  this host is (changes not yet applied) and how many emails wait in the outbox. 200 with a
  JSON body when the database answers, 503 otherwise. Nothing in it names content.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from forum.changes import Change, SearchCursor
from forum.mail.models import MailStatus, OutboundEmail
from forum.search.indexer import index_name

log = logging.getLogger("forum.health")


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok", headers={"Cache-Control": "no-store"})


async def readyz(request: Request) -> Response:
    settings = request.app.state.settings
    try:
        latest = await asyncio.wait_for(Change.all().order_by("-id").first(), timeout=5)
        cursor = await SearchCursor.get_or_none(name=index_name(settings.index_dir))
        queued = await OutboundEmail.filter(status=MailStatus.QUEUED).count()
        failed = await OutboundEmail.filter(status=MailStatus.FAILED).count()
    except Exception as exc:  # any failure to reach the database means: not ready
        log.warning("readiness check failed: %s", exc)
        return JSONResponse(
            {"ready": False, "database": "unreachable"},
            status_code=503,
            headers={"Cache-Control": "no-store"},
        )
    head = latest.id if latest else 0
    applied = cursor.cursor if cursor else 0
    return JSONResponse(
        {
            "ready": True,
            "database": "ok",
            "search_lag": max(0, head - applied),
            "mail_queued": queued,
            "mail_failed": failed,
        },
        headers={"Cache-Control": "no-store"},
    )
