"""One log line per request, with the route's pattern and never what was typed."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import httpx
import pytest
from starlette.applications import Starlette

from forum.app import create_app
from forum.config import ServerSettings, Settings
from tests.factories import login, make_member, make_network, make_thread


async def test_requests_are_logged_by_pattern_without_secrets(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    network = await make_network("dl")
    member = await make_member(network)
    thread = await make_thread(network, member, title="Secret slug words")
    await login(client, member)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="forum.request"):
        await client.get(f"/n/dl/t/{thread.id}-{thread.slug}")
        await client.get("/search", params={"q": "private query words"})
        await client.get("/no/such/page")
    lines = [r.getMessage() for r in caplog.records if r.name == "forum.request"]
    assert lines[0] == lines[0].replace("secret", "")
    assert lines[0].startswith("GET /n/{network}/t/{thread} 200 ")
    assert lines[0].endswith(f"user={member.id}")
    assert lines[1].startswith("GET /search 200 ")
    assert "private" not in " ".join(lines) and "forum_session" not in " ".join(lines)
    assert lines[2].startswith("GET (no route) 404 ")


async def test_json_log_lines(
    settings: Settings, db: str, caplog: pytest.LogCaptureFixture
) -> None:
    app: Starlette = create_app(
        replace(settings, server=ServerSettings(log_format="json")), manage_db=False
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        with caplog.at_level(logging.INFO, logger="forum.request"):
            await client.get("/login")
    [line] = [r.getMessage() for r in caplog.records if r.name == "forum.request"]
    record = json.loads(line)
    assert record["route"] == "/login" and record["status"] == 200 and record["user"] is None
    assert record["method"] == "GET" and record["ms"] >= 0
