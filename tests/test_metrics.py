"""/metrics: off by default, and only for the scraper's token."""

from __future__ import annotations

from dataclasses import replace

import httpx

from forum.app import create_app
from forum.config import ServerSettings, Settings


async def test_metrics_are_off_unless_a_token_is_set(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 404
    assert (await client.get("/metrics", headers={"Authorization": "Bearer "})).status_code == 404


async def test_metrics_count_requests_by_route_pattern(settings: Settings, db: str) -> None:
    app = create_app(
        replace(settings, server=ServerSettings(metrics_token="scrape-me-please")), manage_db=False
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        await client.get("/login")
        await client.get("/u/nobody-secret-name")
        assert (
            await client.get("/metrics", headers={"Authorization": "Bearer wrong"})
        ).status_code == 404
        r = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
    assert r.status_code == 200
    text = r.text
    assert 'forum_requests_total{method="GET",route="/login",status="200"}' in text
    assert 'route="/u/{username}",status="404"' in text
    assert "nobody-secret-name" not in text
    assert 'forum_request_seconds_bucket{route="/login",le="+Inf"}' in text
    assert "forum_search_lag_changes 0" in text
    assert 'forum_mail_queue{status="queued"} 0' in text
