"""Prometheus metrics at /metrics: off unless `server.metrics_token` is set, and then only
for requests carrying `Authorization: Bearer <token>` (anyone else gets 404).

Per process: request counts and a latency histogram by route pattern and status (fed by the
request-log middleware), and at scrape time the search lag of this host's index and the
mail queue (from the database). With several workers, each answers for itself; scrape each,
or sum them in Prometheus.
"""

from __future__ import annotations

import hmac
import threading
from bisect import bisect_left
from collections import defaultdict

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from forum.web.health import status

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Registry:
    """Counters and histograms kept in memory by one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.buckets: dict[str, list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self.sums: dict[str, float] = defaultdict(float)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1
            self.buckets[route][bisect_left(BUCKETS, seconds)] += 1
            self.sums[route] += seconds

    def lines(self) -> list[str]:
        out = [
            "# HELP forum_requests_total Requests answered, by method, route and status.",
            "# TYPE forum_requests_total counter",
        ]
        with self._lock:
            for (method, route, status), n in sorted(self.requests.items()):
                labels = f'method="{method}",route="{_label(route)}",status="{status}"'
                out.append(f"forum_requests_total{{{labels}}} {n}")
            out += [
                "# HELP forum_request_seconds Time to answer, by route.",
                "# TYPE forum_request_seconds histogram",
            ]
            for route, counts in sorted(self.buckets.items()):
                running = 0
                for bound, n in zip((*BUCKETS, float("inf")), counts, strict=True):
                    running += n
                    le = "+Inf" if bound == float("inf") else repr(bound)
                    out.append(
                        f'forum_request_seconds_bucket{{route="{_label(route)}",le="{le}"}} '
                        f"{running}"
                    )
                out.append(
                    f'forum_request_seconds_sum{{route="{_label(route)}"}} {self.sums[route]}'
                )
                out.append(f'forum_request_seconds_count{{route="{_label(route)}"}} {running}')
        return out


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


REGISTRY = Registry()


async def metrics(request: Request) -> Response:
    settings = request.app.state.settings
    token = settings.server.metrics_token
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(token.encode(), given.encode()):
        return PlainTextResponse("Not Found", status_code=404)
    now = await status(settings.index_dir)
    lines = [
        *REGISTRY.lines(),
        "# HELP forum_search_lag_changes Changes this host's search index has yet to apply.",
        "# TYPE forum_search_lag_changes gauge",
        f"forum_search_lag_changes {now.search_lag}",
        "# HELP forum_mail_queue Emails waiting to be sent, and given up.",
        "# TYPE forum_mail_queue gauge",
        f'forum_mail_queue{{status="queued"}} {now.mail_queued}',
        f'forum_mail_queue{{status="failed"}} {now.mail_failed}',
    ]
    return PlainTextResponse(
        "\n".join(lines) + "\n",
        media_type="text/plain; version=0.0.4",
        headers={"Cache-Control": "no-store"},
    )
