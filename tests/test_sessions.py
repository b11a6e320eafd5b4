"""Login sessions: cookies, idle expiry, and the owner's list of where they are logged in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from starlette.applications import Starlette

from forum.accounts import devices, services
from forum.accounts.models import Session, User
from forum.config import Settings
from forum.timeutil import utcnow
from tests.conftest import QueryCounter
from tests.factories import PASSWORD, csrf, login, make_user

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
async def https(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests arrive over https."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        yield c


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Set-Cookie headers by cookie name."""
    out = {}
    for key, value in response.headers.multi_items():
        if key == "set-cookie":
            out[value.split("=", 1)[0]] = value
    return out


async def signed_in_as(client: httpx.AsyncClient) -> str | None:
    doc = HTMLParser((await client.get("/")).text)
    return None if doc.css_first("form[action='/logout']") is None else doc.text()


async def only_session(user: User) -> Session:
    sessions = await Session.filter(user_id=user.id)
    assert len(sessions) == 1
    return sessions[0]


# Cookies.


async def test_over_https_cookies_use_the_host_prefix_and_are_read_under_it(
    https: httpx.AsyncClient,
) -> None:
    user = await make_user("alice")
    first = await https.get("/login")
    csrf_cookie = set_cookies(first)["__Host-forum_csrf"]
    await login(https, user)
    session_cookie = https.cookies.get("__Host-forum_session")
    assert session_cookie and https.cookies.get("forum_session") is None
    attrs = [a.strip().lower() for a in csrf_cookie.split(";")[1:]]
    assert {"secure", "httponly", "path=/", "samesite=lax"} <= set(attrs)
    assert not any(a.startswith("domain") for a in attrs)
    assert await signed_in_as(https)


async def test_the_session_cookie_set_at_login_over_https_is_host_only_and_secure(
    https: httpx.AsyncClient,
) -> None:
    await make_user("alice")
    token = await csrf(https)
    r = await https.post(
        "/login", data={"login": "alice", "password": PASSWORD, "csrf_token": token}
    )
    cookies = set_cookies(r)
    assert set(cookies) == {"__Host-forum_session", "__Host-forum_csrf", "__Host-forum_device"}
    for cookie in cookies.values():
        attrs = [a.strip().lower() for a in cookie.split(";")[1:]]
        assert {"secure", "httponly", "path=/", "samesite=lax"} <= set(attrs)
        assert not any(a.startswith("domain") for a in attrs)


async def test_over_https_a_cookie_without_the_prefix_is_not_read(
    https: httpx.AsyncClient,
) -> None:
    """A bare cookie could have been planted over plain http or by a sibling subdomain."""
    user = await make_user("alice")
    key = await services.start_session(user=user, days=1)
    https.cookies.set("forum_session", key)
    assert not await signed_in_as(https)


async def test_over_http_the_bare_names_are_used_and_a_prefixed_one_is_not_read(
    client: httpx.AsyncClient,
) -> None:
    user = await make_user("alice")
    key = await services.start_session(user=user, days=1)
    client.cookies.set("__Host-forum_session", key)
    assert not await signed_in_as(client)
    client.cookies.clear()
    await login(client, user)
    assert client.cookies.get("forum_session") and client.cookies.get("forum_csrf")
    assert await signed_in_as(client)


async def test_logging_out_over_https_ends_the_session_and_clears_the_prefixed_cookie(
    https: httpx.AsyncClient,
) -> None:
    user = await make_user("alice")
    await login(https, user)
    token = await csrf(https, "/")
    r = await https.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303
    cleared = set_cookies(r)["__Host-forum_session"].lower()
    assert "max-age=0" in cleared and "secure" in cleared
    assert await Session.filter(user_id=user.id).count() == 0
    assert not await signed_in_as(https)


# What a session records, and when it ends.


async def test_login_records_the_browser_and_the_address(client: httpx.AsyncClient) -> None:
    user = await make_user("alice")
    client.headers["user-agent"] = FIREFOX + " " + "x" * 500
    await login(client, user)
    session = await only_session(user)
    assert session.user_agent.startswith("Mozilla/5.0 (X11") and len(session.user_agent) == 200
    assert session.address == "127.0.0.1"
    assert session.last_seen_at is not None


async def test_a_session_unused_for_the_idle_time_has_ended(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user = await make_user("alice")
    await login(client, user)
    idle = timedelta(hours=settings.security.session_idle_hours)
    session = await only_session(user)
    await Session.filter(id=session.id).update(last_seen_at=utcnow() - idle + timedelta(minutes=1))
    assert await signed_in_as(client)
    await Session.filter(id=session.id).update(last_seen_at=utcnow() - idle - timedelta(minutes=1))
    assert not await signed_in_as(client)
    assert not await Session.exists(id=session.id)


async def test_a_session_never_seen_counts_its_idle_time_from_its_start(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user = await make_user("alice")
    await login(client, user)
    idle = timedelta(hours=settings.security.session_idle_hours)
    session = await only_session(user)
    await Session.filter(id=session.id).update(last_seen_at=None, created_at=utcnow() - idle / 2)
    assert await signed_in_as(client)
    await Session.filter(id=session.id).update(
        last_seen_at=None, created_at=utcnow() - idle - timedelta(minutes=1)
    )
    assert not await signed_in_as(client)


async def test_last_use_is_written_at_most_every_five_minutes(
    client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    user = await make_user("alice")
    await login(client, user)
    session = await only_session(user)
    start = count_queries.count
    for _ in range(3):
        assert await signed_in_as(client)
    writes = [
        s for s in count_queries.statements[start:] if s.lstrip().upper().startswith("UPDATE")
    ]
    assert writes == []
    six_minutes_ago = utcnow() - timedelta(minutes=6)
    await Session.filter(id=session.id).update(last_seen_at=six_minutes_ago)
    assert await signed_in_as(client)
    seen = (await only_session(user)).last_seen_at
    assert seen is not None and seen > six_minutes_ago + timedelta(minutes=5)


async def test_a_deactivated_users_sessions_no_longer_log_them_in(
    client: httpx.AsyncClient,
) -> None:
    user = await make_user("alice")
    await login(client, user)
    await User.filter(id=user.id).update(is_active=False)
    assert not await signed_in_as(client)


# The list of sessions.


def rows(response: httpx.Response) -> list[str]:
    doc = HTMLParser(response.text)
    return [" ".join(tr.text().split()) for tr in doc.css("table.sessions tbody tr")]


async def test_the_sessions_page_lists_only_the_users_own_live_sessions(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    client.headers["user-agent"] = FIREFOX
    await login(client, alice)
    await services.start_session(user=alice, days=1, user_agent=IPHONE, address="10.1.2.3")
    await services.start_session(user=bob, days=1, user_agent=IPHONE, address="10.9.9.9")
    idle = timedelta(hours=settings.security.session_idle_hours)
    await services.start_session(user=alice, days=1, user_agent="Idle/1.0", address="10.0.0.7")
    await Session.filter(user_agent="Idle/1.0").update(last_seen_at=utcnow() - idle * 2)
    r = await client.get("/account/sessions")
    assert r.status_code == 200
    listed = rows(r)
    assert len(listed) == 2
    this = next(row for row in listed if "this session" in row)
    assert "Firefox on Linux" in this and "127.0.0.1" in this
    other = next(row for row in listed if "this session" not in row)
    assert "Safari on iPhone" in other and "10.1.2.3" in other
    assert "10.9.9.9" not in r.text and "10.0.0.7" not in r.text


async def test_the_sessions_page_sends_a_visitor_to_log_in(client: httpx.AsyncClient) -> None:
    r = await client.get("/account/sessions")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/account/sessions"


async def test_ending_another_of_ones_sessions_logs_that_browser_out(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    alice = await make_user("alice")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as phone:
        await login(phone, alice)
        await login(client, alice)
        phone_session = await Session.filter(user_id=alice.id).order_by("id").first()
        assert phone_session is not None
        token = await csrf(client, "/account/sessions")
        r = await client.post(
            f"/account/sessions/{phone_session.id}/end", data={"csrf_token": token}
        )
        assert r.status_code == 303 and r.headers["location"] == "/account/sessions?ended=one"
        assert not await signed_in_as(phone)
        assert await signed_in_as(client)
        page = await client.get(r.headers["location"])
        assert "The session was ended" in HTMLParser(page.text).css_first("[role=status]").text()


async def test_another_users_session_id_is_not_found_and_survives(
    client: httpx.AsyncClient,
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    await services.start_session(user=bob, days=1)
    bobs = await only_session(bob)
    await login(client, alice)
    token = await csrf(client, "/account/sessions")
    r = await client.post(f"/account/sessions/{bobs.id}/end", data={"csrf_token": token})
    assert r.status_code == 404
    assert await Session.exists(id=bobs.id)


async def test_ending_this_session_from_the_list_is_logging_out(
    client: httpx.AsyncClient,
) -> None:
    alice = await make_user("alice")
    await login(client, alice)
    session = await only_session(alice)
    token = await csrf(client, "/account/sessions")
    r = await client.post(f"/account/sessions/{session.id}/end", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert not await signed_in_as(client)


async def test_logging_out_everywhere_else_keeps_this_session(client: httpx.AsyncClient) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    for user in (alice, alice, bob):
        await services.start_session(user=user, days=1)
    await login(client, alice)
    token = await csrf(client, "/account/sessions")
    r = await client.post("/account/sessions/end-others", data={"csrf_token": token})
    assert r.status_code == 303
    assert await Session.filter(user_id=alice.id).count() == 1
    assert await Session.filter(user_id=bob.id).count() == 1
    assert await signed_in_as(client)
    assert len(rows(await client.get("/account/sessions"))) == 1


async def test_changing_ones_password_ends_the_other_sessions_only(
    client: httpx.AsyncClient,
) -> None:
    alice = await make_user("alice")
    await services.start_session(user=alice, days=1)
    await login(client, alice)
    key = client.cookies.get("forum_session")
    assert key
    await services.set_password(user=alice, password="a new long passphrase", keep_session_key=key)
    assert await Session.filter(user_id=alice.id).count() == 1
    assert await signed_in_as(client)
    # A reset (from an emailed link, or by an admin) keeps none.
    await services.set_password(user=alice, password="another long passphrase")
    assert await Session.filter(user_id=alice.id).count() == 0


@pytest.mark.parametrize(
    ("user_agent", "device"),
    [
        (FIREFOX, "Firefox on Linux"),
        (IPHONE, "Safari on iPhone"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/138.0.0.0 Safari/537.36 Edg/138.0.0.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
            "Chrome on macOS",
        ),
        ("", "Unknown browser"),
        ("<script>", "Unknown browser"),
    ],
)
def test_a_device_is_named_from_its_user_agent(user_agent: str, device: str) -> None:
    assert devices.describe(user_agent) == device
