"""One log line per request: method, route (its pattern, never the filled-in path, so no ids,
tokens or search words reach the log), status, duration and the user's id.

`server.log_format = "json"` writes each line as a JSON object for log collectors; the
default is plain text. Bodies, query strings, cookies and headers are never logged.
"""

from __future__ import annotations

import json
import logging
import time

from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forum.web.metrics import REGISTRY

log = logging.getLogger("forum.request")


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp, *, fmt: str = "text") -> None:
        self.app = app
        self.json = fmt == "json"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(("/static/", "/healthz")):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self._log(scope, status, (time.perf_counter() - started) * 1000)

    def _log(self, scope: Scope, status: int, ms: float) -> None:
        route = scope.get("route")
        pattern = route.path if isinstance(route, Route) else "(no route)"
        viewer = scope.get("state", {}).get("viewer")
        user_id = viewer.user_id if viewer is not None else None
        REGISTRY.observe(scope.get("method", ""), pattern, status, ms / 1000)
        record = {
            "method": scope.get("method", ""),
            "route": pattern,
            "status": status,
            "ms": round(ms, 1),
            "user": user_id,
        }
        if self.json:
            log.info(json.dumps(record, separators=(",", ":")))
        else:
            log.info(
                "%s %s %d %.1fms user=%s",
                record["method"],
                pattern,
                status,
                ms,
                user_id if user_id is not None else "-",
            )
