"""The load balancer's checks: alive, and ready (database, search lag, mail queue)."""

from __future__ import annotations

from dataclasses import replace

import httpx
from starlette.applications import Starlette

from forum.config import Settings
from forum.mail import services as mail
from forum.search import indexer
from tests.factories import make_member, make_network, make_thread


async def test_healthz_answers_without_a_session(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.text == "ok"
    assert "set-cookie" not in r.headers


async def test_readyz_reports_search_lag_and_the_mail_queue(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    network = await make_network("dl")
    await make_thread(network, await make_member(network), body="Quokka secrets")
    await mail.queue(to="a@example.org", subject="S", text="T")
    body = (await client.get("/readyz")).json()
    assert body["ready"] is True and body["database"] == "ok"
    assert body["search_lag"] >= 2  # the thread and its post, not yet indexed
    assert body["mail_queued"] == 1 and body["mail_failed"] == 0
    assert "Quokka" not in str(body)
    await indexer.catch_up(settings.index_dir)
    assert (await client.get("/readyz")).json()["search_lag"] == 0


async def test_readyz_tells_strangers_only_whether_it_is_ready(
    app: Starlette, settings: Settings
) -> None:
    """Search lag and mail counts are for the operator (token or loopback); a client from
    elsewhere gets ready/not ready and the same status code."""
    app.state.settings = replace(settings, server=replace(settings.server, metrics_token="t" * 32))
    await mail.queue(to="a@example.org", subject="S", text="T")
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        stranger = await c.get("/readyz")
        wrong = await c.get("/readyz", headers={"Authorization": "Bearer " + "u" * 32})
        operator = await c.get("/readyz", headers={"Authorization": "Bearer " + "t" * 32})
    assert stranger.status_code == 200
    assert stranger.json() == {"ready": True, "database": "ok"}
    assert wrong.json() == {"ready": True, "database": "ok"}
    assert operator.json()["mail_queued"] == 1 and "search_lag" in operator.json()


async def test_readyz_through_a_proxy_on_this_host_tells_only_whether_it_is_ready(
    client: httpx.AsyncClient,
) -> None:
    """Behind nginx on the same host every visitor's peer is loopback (when the proxy is
    not listed in `server.forwarded_allow_ips`, uvicorn leaves it so): a request carrying a
    forwarding header is not the operator's own check."""
    await mail.queue(to="a@example.org", subject="S", text="T")
    assert "mail_queued" in (await client.get("/readyz")).json()  # from loopback, directly
    proxied = await client.get("/readyz", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.json() == {"ready": True, "database": "ok"}
