"""What caches may keep: every answer to someone signed in (JSON, pages, feeds, redirects,
errors) is `private, no-store` with `Vary: Cookie`, decided in one middleware rather than
route by route. On both databases."""

from __future__ import annotations

import httpx
from starlette.routing import Route

from forum.networks.models import Visibility
from forum.web.routes import ROUTES
from tests.factories import csrf, login, make_member, make_network, make_thread


def _private(response: httpx.Response) -> bool:
    vary = {v.strip().lower() for v in response.headers.get("vary", "").split(",")}
    return response.headers.get("cache-control") == "private, no-store" and "cookie" in vary


async def test_every_api_answer_to_a_signed_in_member_is_private(
    client: httpx.AsyncClient,
) -> None:
    """Each /api/v1 route of the route table, on members-only content, and its errors."""
    network = await make_network("secret", visibility=Visibility.MEMBERS)
    member = await make_member(network)
    thread = await make_thread(network, member, title="Quokka budgets")
    await login(client, member)
    token = await csrf(client, "/")
    values = {"network": network.slug, "thread_id": str(thread.id)}
    api = [r for r in ROUTES if isinstance(r, Route) and r.path.startswith("/api/v1")]
    assert len(api) >= 6
    for route in api:
        path = route.path
        for name, value in values.items():
            path = path.replace(f"{{{name}:id}}", value).replace(f"{{{name}}}", value)
        if "POST" in (route.methods or ()):
            r = await client.post(path, data={"body": "*hi*", "csrf_token": token})
        else:
            r = await client.get(path, params={"q": "quokka", "thread": str(thread.id)})
        assert r.status_code < 500, (path, r.status_code)
        assert _private(r), (path, r.headers)
    missing = await client.get("/api/v1/n/secret/t/999999")
    assert missing.status_code == 404 and _private(missing)


async def test_pages_redirects_and_errors_to_the_signed_in_are_private(
    client: httpx.AsyncClient,
) -> None:
    network = await make_network("secret", visibility=Visibility.MEMBERS)
    member = await make_member(network)
    thread = await make_thread(network, member)
    await login(client, member)
    page = await client.get(f"/n/secret/t/{thread.id}-{thread.slug}")
    moved = await client.get(f"/n/secret/t/{thread.id}")
    gone = await client.get("/n/nowhere")
    feed = await client.get("/n/secret/threads.atom")
    for r in (page, moved, gone, feed):
        assert _private(r), (r.request.url, r.status_code, r.headers)


async def test_anonymous_answers_vary_on_the_cookie(client: httpx.AsyncClient) -> None:
    """A shared cache may revalidate the public home page, but never give it to someone
    whose cookie differs; the first answer (which sets the CSRF cookie) is not stored."""
    first = await client.get("/")
    assert _private(first)
    again = await client.get("/")
    assert "cookie" in again.headers["vary"].lower()
    assert again.headers["cache-control"] == "no-cache"
