"""Whose address a request is: a proxy's X-Forwarded-For is believed only from the proxies
the operator lists (`server.forwarded_allow_ips`, empty by default), so nothing else on the
host can pick the address its requests are counted under.

Checked through real `forum serve` processes: what uvicorn is told decides it, not the app.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from forum import cli, db
from forum.config import DatabaseSettings, ServerSettings, load_settings
from forum.web.security import client_address
from tests import live

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PROXY_HEADERS = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


@pytest.mark.parametrize(
    ("listed", "counted_under", "secure"),
    [
        ({}, "127.0.0.1", False),
        ({"FORUM_SERVER_FORWARDED_ALLOW_IPS": "127.0.0.1"}, "203.0.113.9", True),
    ],
    ids=["by default", "proxy listed"],
)
async def test_forum_serve_believes_forwarded_addresses_only_from_listed_proxies(
    tmp_path: Path, listed: dict[str, str], counted_under: str, secure: bool
) -> None:
    """By default a request from loopback naming another client in X-Forwarded-For is
    counted under its real address (the per-address limits cannot be dodged), and its
    X-Forwarded-Proto does not make it https; with 127.0.0.1 listed (nginx on the host, as
    docs/deployment.md sets it), both are believed."""
    url = f"sqlite://{tmp_path}/forum.sqlite3"
    settings = replace(load_settings(env={}), base_dir=tmp_path, database=DatabaseSettings(url=url))
    await db.upgrade(settings)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("FORWARDED_ALLOW_IPS", "FORUM_SERVER_FORWARDED_ALLOW_IPS")
    }
    env |= {
        "FORUM_DATABASE_URL": url,
        "FORUM_SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "FORUM_SECURITY_DATA_DIR": str(tmp_path / "data"),
        "FORUM_EMAIL_FOLDER": str(tmp_path / "mail"),
        **listed,
    }
    server = await asyncio.to_thread(live.start, env, tmp_path / "server.log")
    try:
        async with httpx.AsyncClient(
            base_url=server.base, headers=PROXY_HEADERS, timeout=30
        ) as client:
            page = await client.get("/login")
            token = _CSRF.search(page.text)
            assert token
            # By hand: over https the cookie is Secure, which httpx keeps from plain http.
            cookie = "; ".join(f"{name}={value}" for name, value in page.cookies.items())
            r = await client.post(
                "/login",
                data={"login": "nobody", "password": "a wrong guess", "csrf_token": token.group(1)},
                headers={"Cookie": cookie},
            )
            assert r.status_code == 401
    finally:
        server.stop()
    assert ("__Host-forum_csrf" in page.cookies) is secure
    async with db.opened(settings):
        from forum.ratelimit import RateEvent

        keys = set(await RateEvent.all().values_list("key", flat=True))
    by_address = {key for key in keys if "127.0.0.1" in key or "203.0.113.9" in key}
    assert by_address and all(counted_under in key for key in by_address), keys


def _echo_app() -> Starlette:
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"address": client_address(request), "scheme": request.url.scheme})

    return Starlette(routes=[Route("/", echo)])


@pytest.mark.parametrize(
    ("allowed", "peer", "address"),
    [
        ((), "127.0.0.1", "127.0.0.1"),
        (("127.0.0.1",), "127.0.0.1", "203.0.113.9"),
        (("127.0.0.1",), "10.0.0.7", "10.0.0.7"),  # not the listed proxy
        (("10.0.0.0/24",), "10.0.0.7", "203.0.113.9"),
        (("10.0.0.0/24",), "127.0.0.1", "127.0.0.1"),
    ],
)
async def test_the_address_a_request_is_counted_under_follows_the_list(
    allowed: tuple[str, ...], peer: str, address: str
) -> None:
    """uvicorn's config as `forum serve` builds it (`cli.uvicorn_options`), for addresses
    and networks; whatever is not listed is the client itself."""
    settings = load_settings(env={})
    settings = replace(settings, server=ServerSettings(forwarded_allow_ips=allowed))
    config = uvicorn.Config(_echo_app(), **cli.uvicorn_options(settings))
    config.load()
    transport = httpx.ASGITransport(app=config.loaded_app, client=(peer, 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        answer = (await c.get("/", headers=PROXY_HEADERS)).json()
    assert answer["address"] == address
    assert answer["scheme"] == ("https" if address == "203.0.113.9" else "http")
