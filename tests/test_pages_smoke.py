from __future__ import annotations

import httpx

from forum.networks.models import Role, Visibility
from tests.factories import csrf, login, make_member, make_network, make_reply, make_thread, make_user


async def test_home_lists_public_networks_for_anonymous(client: httpx.AsyncClient) -> None:
    await make_network("data-leaders", name="Data Leaders Network")
    await make_network("secret", name="Secret Network", visibility=Visibility.MEMBERS)
    response = await client.get("/")
    assert response.status_code == 200
    assert "Data Leaders Network" in response.text
    assert "Secret Network" not in response.text


async def test_member_can_start_thread_and_reply(client: httpx.AsyncClient) -> None:
    network = await make_network("dl")
    user = await make_member(network)
    await login(client, user)
    token = await csrf(client, "/n/dl/new")
    r = await client.post(
        "/n/dl/new",
        data={"title": "How is your data team structured?", "body": "Hub and *spoke*?", "tags": "data-teams", "csrf_token": token},
    )
    assert r.status_code == 303, r.text
    page = await client.get(r.headers["location"])
    assert page.status_code == 200
    assert "<em>spoke</em>" in page.text
    thread_id = r.headers["location"].split("/t/")[1].split("-")[0]
    r = await client.post(f"/n/dl/t/{thread_id}/reply", data={"body": "Centralised.", "csrf_token": token})
    assert r.status_code == 303, r.text


async def test_thread_page_renders_nested(client: httpx.AsyncClient) -> None:
    network = await make_network("dl")
    user = await make_member(network, role=Role.FACILITATOR)
    thread = await make_thread(network, user)
    a = await make_reply(thread, user, "first")
    b = await make_reply(thread, user, "second", parent=a)
    r = await client.get(f"/n/dl/t/{thread.id}-{thread.slug}")
    assert r.status_code == 200, r.text
    assert f'id="p{b.id}"' in r.text
    r = await client.get(f"/n/dl/t/{thread.id}-wrong")
    assert r.status_code == 301
    r = await client.get(f"/u/{user.username}")
    assert r.status_code == 200, r.text
