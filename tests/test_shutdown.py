"""Stopping the server during a burst of posts loses no post it accepted."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import IO

import httpx

from forum import db
from forum.config import DatabaseSettings, load_settings
from tests.mailbox import free_port

PASSWORD = "a quiet orange lighthouse"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def start_server(
    env: dict[str, str], port: int, log_path: Path
) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    log = log_path.open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "forum", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return server, log


def wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("the server did not start")


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
    port = free_port()
    env = {
        **os.environ,
        "FORUM_DATABASE_URL": url,
        "FORUM_SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "FORUM_SECURITY_DATA_DIR": str(tmp_path / "data"),
        "FORUM_EMAIL_FOLDER": str(tmp_path / "mail"),
    }
    server, log = start_server(env, port, tmp_path / "server.log")
    base = f"http://127.0.0.1:{port}"
    accepted: list[str] = []
    try:
        await asyncio.to_thread(wait_until_up, base)
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
        if server.poll() is None:
            server.kill()
            server.wait()
        log.close()
    async with db.opened(settings):
        from forum.threads.models import Thread

        stored = set(await Thread.filter(title__startswith="Burst").values_list("title", flat=True))
    assert accepted, "no post was accepted before the signal: the test proved nothing"
    assert set(accepted) <= stored
