"""The load balancer's checks: alive, and ready (database, search lag, mail queue)."""

from __future__ import annotations

import httpx

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
