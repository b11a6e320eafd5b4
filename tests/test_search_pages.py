"""The /search page, its JSON twin and the similar-threads helper, through the app."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from starlette.applications import Starlette

from forum.config import Settings
from forum.networks.models import Visibility
from forum.search import execute
from forum.search.indexer import catch_up
from forum.search.results import Outcome
from tests.factories import csrf, login, make_member, make_network, make_reply, make_thread


async def _world(settings: Settings) -> None:
    public = await make_network("open", name="Open Network")
    secret = await make_network("secret", name="Secret Network", visibility=Visibility.MEMBERS)
    alice = await make_member(public)
    await make_member(secret, alice)
    thread = await make_thread(
        public, alice, title="How is your data team structured?", body="Hub and spoke model."
    )
    await make_reply(thread, alice, "We moved to a <b>centralised</b> data team.")
    await make_thread(secret, alice, title="Secret budget", body="narwhalcanary data team")
    await catch_up(settings.index_dir)


async def test_search_page_shows_one_result_per_thread_with_marked_words(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await _world(settings)
    response = await client.get("/search", params={"q": "data team"})
    assert response.status_code == 200
    doc = HTMLParser(response.text)
    results = doc.css("li.result")
    assert len(results) == 1
    assert results[0].css_first("h3 a").text() == "How is your data team structured?"
    assert results[0].css_first("mark") is not None
    assert "<b>" not in results[0].html  # the post's text is escaped, only <mark> is added
    assert "1 more match in this thread" in results[0].text()
    assert "narwhalcanary" not in response.text and "Secret" not in response.text


async def test_api_has_the_same_results_and_permissions(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await _world(settings)
    data = (await client.get("/api/v1/search", params={"q": "narwhalcanary"})).json()
    assert data["total"] == 0 and data["results"] == [] and data["suggestion"] is None
    data = (await client.get("/api/v1/search", params={"q": "data team"})).json()
    assert data["total"] == 1
    result = data["results"][0]
    assert set(result) >= {"title", "url", "network", "kind", "author", "organisation"}
    assert result["url"].startswith("/n/open/t/")


async def test_members_find_their_members_only_threads(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await _world(settings)
    from forum.accounts.models import User

    alice = await User.filter(memberships__network__slug="secret").first()
    assert alice is not None
    await login(client, alice)
    data = (await client.get("/api/v1/search", params={"q": "narwhalcanary"})).json()
    assert data["total"] == 1


async def test_filters_and_bad_dates_are_explained(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await _world(settings)
    r = await client.get("/search", params={"q": "data", "after": "not-a-date", "kind": "post"})
    assert r.status_code == 200
    assert "must look like 2026-01-31" in r.text
    r = await client.get("/search", params={"q": "data", "network": "secret"})
    assert "0 threads found" in r.text


async def test_hostile_query_strings_never_fail(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await _world(settings)
    for q in ('"', "((", "network:", "-", "OR OR", "a" * 10_000, "*" * 300, "\x00", "%ff"):
        for path in ("/search", "/api/v1/search", "/search/similar", "/api/v1/search/similar"):
            r = await client.get(path, params={"q": q, "title": q, "page": q, "before": q})
            assert r.status_code == 200, (path, q)


async def test_preview_of_a_new_thread_shows_similar_threads(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await _world(settings)
    from forum.accounts.models import User

    alice = await User.filter(memberships__network__slug="open").first()
    assert alice is not None
    await login(client, alice)
    token = await csrf(client, "/n/open/new")
    r = await client.post(
        "/n/open/new",
        data={
            "title": "Structuring a data team",
            "body": "x",
            "action": "preview",
            "csrf_token": token,
        },
    )
    doc = HTMLParser(r.text)
    links = [a.text() for a in doc.css("#similar a")]
    assert links[0] == "How is your data team structured?"  # Alice may also see "Secret budget"
    similar = await client.get("/api/v1/search/similar", params={"title": "data team structure"})
    assert similar.json()["results"][0]["title"] == "How is your data team structured?"
    page = await client.get("/search/similar", params={"title": "data team structure"})
    assert "How is your data team structured?" in page.text


async def test_search_page_without_a_query_shows_just_the_form(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/search")
    assert r.status_code == 200
    assert HTMLParser(r.text).css_first("input#q") is not None
    assert (await client.get("/search/help")).status_code == 200


async def test_a_broad_search_says_it_searched_the_newest_posts(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forum.search import segments

    network = await make_network("many")
    alice = await make_member(network)
    for i in range(50):
        await make_thread(network, alice, title=f"Data question {i}", body="About data.")
    await catch_up(settings.index_dir)
    monkeypatch.setattr(segments, "BROAD", 25)
    monkeypatch.setattr(segments, "SMALL_SEGMENT", 0)
    doc = HTMLParser((await client.get("/search", params={"q": "data"})).text)
    notice = " ".join(p.text() for p in doc.css("p.notice"))
    assert "best matches among those written since" in notice
    data = (await client.get("/api/v1/search", params={"q": "data"})).json()
    assert data["searched_since"] is not None
    assert 20 <= data["total"] < 50
    monkeypatch.setattr(segments, "BROAD", 1000)
    data = (await client.get("/api/v1/search", params={"q": "data"})).json()
    assert data["searched_since"] is None and data["total"] == 50


async def test_a_search_whose_asker_has_gone_is_not_run(
    settings: Settings, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    network = await make_network("dl")
    await make_thread(network, await make_member(network), title="Records retention")
    await catch_up(settings.index_dir)
    runs: list[str] = []
    real_run = execute.run

    def counted_run(searcher: Any, text: str, **kwargs: Any) -> Outcome:
        runs.append(text)
        return real_run(searcher, text, **kwargs)

    monkeypatch.setattr(execute, "run", counted_run)

    async def ask(first_message: dict[str, Any]) -> list[dict[str, Any]]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/api/v1/search",
            "raw_path": b"/api/v1/search",
            "query_string": b"q=retention",
            "root_path": "",
            "headers": [(b"host", b"testserver")],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return first_message

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return sent

    # The browser closed the connection before the search's turn came: not searched.
    await ask({"type": "http.disconnect"})
    assert runs == []
    # Still there: searched.
    sent = await ask({"type": "http.request", "body": b"", "more_body": False})
    assert runs == ["retention"] and sent[0]["status"] == 200
    assert b"Records retention" in b"".join(m.get("body", b"") for m in sent)


async def test_a_search_out_of_time_says_so_on_the_page_and_in_the_api(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forum.search import budget

    await _world(settings)
    ticks = iter(range(0, 10**9, 10))  # every look at the clock: ten seconds later
    monkeypatch.setattr(budget, "clock", lambda: float(next(ticks)))
    r = await client.get("/search", params={"q": '"data team" OR hub'})
    assert r.status_code == 200
    notices = " ".join(p.text() for p in HTMLParser(r.text).css("p.notice"))
    assert "Search stopped after" in notices and "showing what was found so far" in notices
    data = (await client.get("/api/v1/search", params={"q": "data team"})).json()
    assert data["stopped_after"] is not None and data["stopped_after"] >= 2
    assert "narwhalcanary" not in r.text


async def test_too_many_searches_from_one_address_get_429_with_a_clear_message(
    client: httpx.AsyncClient, app: Starlette, settings: Settings
) -> None:
    from forum.ratelimit import LocalLimiter

    await _world(settings)
    app.state.search.limiter = LocalLimiter(1)
    assert (await client.get("/search", params={"q": "data"})).status_code == 200
    r = await client.get("/search", params={"q": "data team", "tag": "x"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    doc = HTMLParser(r.text)
    assert "Too many searches from your address" in doc.css_first("p.notice").text()
    assert doc.css_first("input#q").attributes["value"] == "data team"  # the form is kept
    assert doc.css_first("input#tag").attributes["value"] == "x"
    api = await client.get("/api/v1/search", params={"q": "data"})
    assert api.status_code == 429 and "Too many searches" in api.json()["error"]
    assert api.headers["Retry-After"]
    for path in ("/search/similar", "/api/v1/search/similar"):
        assert (await client.get(path, params={"title": "data team"})).status_code == 429
    # Another address is not held by this one's limit.
    other = httpx.ASGITransport(app=app, client=("10.1.2.3", 4000))
    async with httpx.AsyncClient(transport=other, base_url="http://testserver") as c:
        assert (await c.get("/api/v1/search", params={"q": "data"})).status_code == 200
