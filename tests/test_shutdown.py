"""Stopping the server during a burst of posts loses no post it accepted."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from dataclasses import replace
from pathlib import Path

import httpx

from forum import db
from forum.config import DatabaseSettings, load_settings
from tests import live

PASSWORD = "a quiet orange lighthouse"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def test_sigterm_during_a_burst_of_posts_loses_nothing_accepted(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/forum.sqlite3"
    settings = replace(load_settings(env={}), base_dir=tmp_path, database=DatabaseSettings(url=url))
    await db.upgrade(settings)
    async with db.opened(settings):
        from forum.accounts import services as accounts
        from forum.networks import services as networks
        from forum.networks.models import Role, Visibility

        network = await networks.create_network(slug="dl", name="DL", visibility=Visibility.PUBLIC)
        user = await accounts.create_user(
            username="ada", email="ada@example.org", display_name="Ada", password=PASSWORD
        )
        await networks.set_membership(network=network, user=user, role=Role.MEMBER)
    env = {
        **os.environ,
        "FORUM_DATABASE_URL": url,
        "FORUM_SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "FORUM_SECURITY_DATA_DIR": str(tmp_path / "data"),
        "FORUM_EMAIL_FOLDER": str(tmp_path / "mail"),
    }
    live_server = await asyncio.to_thread(live.start, env, tmp_path / "server.log")
    server, base = live_server.process, live_server.base
    accepted: list[str] = []
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            token = _CSRF.search((await client.get("/login")).text)
            assert token
            await client.post(
                "/login", data={"login": "ada", "password": PASSWORD, "csrf_token": token.group(1)}
            )
            form = _CSRF.search((await client.get("/n/dl/new")).text)
            assert form

            async def post(n: int) -> None:
                title = f"Burst thread {n}"
                try:
                    r = await client.post(
                        "/n/dl/new",
                        data={"title": title, "body": f"Body {n}", "csrf_token": form.group(1)},
                    )
                except httpx.TransportError:
                    return  # refused or cut off: the server never said it accepted it
                if r.status_code == 303:
                    accepted.append(title)

            burst = [asyncio.create_task(post(n)) for n in range(25)]
            await asyncio.sleep(0.3)
            server.send_signal(signal.SIGTERM)  # mid-burst
            await asyncio.gather(*burst)
        # uvicorn finishes the requests in flight, then ends by the signal it was sent.
        assert await asyncio.to_thread(server.wait, 30) in (0, -signal.SIGTERM)
    finally:
        live_server.stop()
    async with db.opened(settings):
        from forum.threads.models import Thread

        stored = set(await Thread.filter(title__startswith="Burst").values_list("title", flat=True))
    assert accepted, "no post was accepted before the signal: the test proved nothing"
    assert set(accepted) <= stored


async def test_a_long_background_round_does_not_hold_up_shutdown() -> None:
    """A round in the middle of a week's digests (paced, minutes long) is cancelled when the
    server stops, rather than waited for; a round that ends in time is waited for."""
    import asyncio
    import time

    from forum import background

    async def endless() -> None:
        await asyncio.sleep(3600)

    task = asyncio.create_task(endless())
    started = time.monotonic()
    await background.finish(task, within=0.2)
    assert task.cancelled() and time.monotonic() - started < 5

    async def short() -> None:
        await asyncio.sleep(0.05)

    quick = asyncio.create_task(short())
    await background.finish(quick, within=5)
    assert quick.done() and not quick.cancelled()
