"""Two hosts behind one PostgreSQL: two real `forum serve` processes, each with its own search
index folder and mail folder, sharing the database only.

A post made through one is searchable through the other within a few seconds (each host's
indexer follows the shared change log), a login made on one is honoured by the other (sessions
live in the database) and a logout on one ends it on the other at once, and the digests go
out once, not once per host (a database lease).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from forum import db
from forum.config import DatabaseSettings, load_settings
from tests import live
from tests.conftest import PG_SKIP, PG_URL

pytestmark = pytest.mark.postgres

PASSWORD = "a quiet orange lighthouse"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def host(url: str, folder: Path, name: str) -> Iterator[str]:
    """Run `forum serve` as one host; yields its base URL."""
    env = {
        **os.environ,
        "FORUM_DATABASE_URL": url,
        "FORUM_SEARCH_INDEX_DIR": str(folder / f"index-{name}"),
        "FORUM_EMAIL_FOLDER": str(folder / f"mail-{name}"),
        "FORUM_SECURITY_DATA_DIR": str(folder / f"data-{name}"),
        "FORUM_SECURITY_SECRET_KEY": "shared-secret-" + "x" * 40,
    }
    server = live.start(env, folder / f"{name}.log")
    try:
        yield server.base
    finally:
        server.stop()


@asynccontextmanager
async def shared_database(tmp_path: Path) -> AsyncIterator[str]:
    from tests.test_migrations import _new_postgres_database

    async with _new_postgres_database() as url:
        settings = replace(
            load_settings(env={}), base_dir=tmp_path, database=DatabaseSettings(url=url)
        )
        await db.upgrade(settings)
        async with db.opened(settings):
            from forum.accounts import services as accounts
            from forum.networks import services as networks
            from forum.networks.models import Role, Visibility

            network = await networks.create_network(
                slug="dl", name="Data Leaders", visibility=Visibility.PUBLIC
            )
            for name in ("ada", "bob", "cy"):
                user = await accounts.create_user(
                    username=name,
                    email=f"{name}@example.org",
                    display_name=name.title(),
                    password=PASSWORD,
                )
                await networks.set_membership(network=network, user=user, role=Role.MEMBER)
            # This week's news, for the digests both hosts will want to send at start-up.
            from forum.permissions import viewer_for
            from forum.threads import services as threads

            await threads.create_thread(
                viewer=await viewer_for(user), network=network, title="Kangaroo news", body="Hi"
            )
        yield url


async def _login(client: httpx.AsyncClient, username: str) -> None:
    token = _CSRF.search((await client.get("/login")).text)
    assert token
    r = await client.post(
        "/login", data={"login": username, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert r.status_code == 303, r.text


async def test_two_hosts_share_one_database(tmp_path: Path) -> None:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    async with shared_database(tmp_path) as url:
        with host(url, tmp_path, "a") as a, host(url, tmp_path, "b") as b:
            async with httpx.AsyncClient(base_url=a) as on_a:
                await _login(on_a, "ada")
                token = _CSRF.search((await on_a.get("/n/dl/new")).text)
                assert token
                r = await on_a.post(
                    "/n/dl/new",
                    data={
                        "title": "Wombat budgets",
                        "body": "How do you fund a wombat team?",
                        "csrf_token": token.group(1),
                    },
                )
                assert r.status_code == 303, r.text
                # The session made on host A works on host B: no server affinity.
                cookies = dict(on_a.cookies)
            started = time.monotonic()
            async with httpx.AsyncClient(base_url=b, cookies=cookies) as on_b:
                assert "Notifications" in (await on_b.get("/")).text
                while True:
                    found = (await on_b.get("/api/v1/search", params={"q": "wombat"})).json()
                    if found["total"] == 1 or time.monotonic() - started > 15:
                        break
                    await asyncio.sleep(0.2)
                assert found["total"] == 1, found
                assert found["results"][0]["title"] == "Wombat budgets"
                # Logging out on host A ends the session on host B at once, though B keeps
                # a signed-in visit between requests: it asks where the change log stands.
                assert "Log out" in (await on_b.get("/")).text
                async with httpx.AsyncClient(base_url=a, cookies=cookies) as again_on_a:
                    token = _CSRF.search((await again_on_a.get("/")).text)
                    assert token
                    r = await again_on_a.post("/logout", data={"csrf_token": token.group(1)})
                    assert r.status_code == 303, r.text
                assert "Log out" not in (await on_b.get("/")).text
            # Both hosts ran their background loops: each person's digest went out once.
            settings = replace(
                load_settings(env={}), base_dir=tmp_path, database=DatabaseSettings(url=url)
            )
            async with db.opened(settings):
                from forum.mail.models import OutboundEmail

                for _ in range(50):
                    digests = await OutboundEmail.filter(kind="digest").count()
                    if digests >= 3:
                        break
                    await asyncio.sleep(0.2)
                await asyncio.sleep(2)  # time for a second, wrong, round to show itself
                rows = await OutboundEmail.filter(kind="digest").values_list(
                    "to_address", flat=True
                )
            assert sorted(rows) == ["ada@example.org", "bob@example.org", "cy@example.org"]
