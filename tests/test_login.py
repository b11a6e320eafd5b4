"""Logging in: a failure never tells whether the account exists, and guessing is slowed down.

"Takes the same time" is tested as "does the same work" — the same argon2 verifications
with the same cost, and the same SQL statements — never with a clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from argon2 import Parameters, PasswordHasher, extract_parameters
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from starlette.applications import Starlette

from forum import ratelimit
from forum.accounts import passwords, services
from forum.accounts.models import User
from forum.ratelimit import RateEvent
from forum.timeutil import utcnow
from tests.conftest import QueryCounter
from tests.factories import PASSWORD, csrf, make_user
from tests.factories import login as log_in


class CountingHasher(PasswordHasher):
    """The tests' cheap argon2id, noting the cost of every hash it verifies against."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified: list[Parameters] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified.append(extract_parameters(hash if isinstance(hash, str) else hash.decode()))
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingHasher]:
    counting = CountingHasher()
    monkeypatch.setattr(passwords, "_hasher", counting)
    monkeypatch.setattr(ratelimit, "PRUNE_CHANCE", 0.0)
    yield counting


async def attempt(client: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    token = await csrf(client)
    return await client.post(
        "/login", data={"login": login, "password": password, "csrf_token": token}
    )


def error_of(response: httpx.Response) -> str:
    summary = HTMLParser(response.text).css_first(".error-summary")
    return " ".join(summary.text().split()) if summary else ""


async def test_every_failed_login_looks_the_same_and_does_the_same_work(
    client: httpx.AsyncClient, hasher: CountingHasher, count_queries: QueryCounter
) -> None:
    alice = await make_user("alice")
    gone = await make_user("gone")
    await User.filter(id=gone.id).update(is_active=False)
    await services.create_user(
        username="invited", email="invited@example.org", display_name="Invited"
    )  # no password yet
    cases = {
        "wrong password": ("alice", "not the password"),
        "wrong password, by email": ("ALICE@example.org", "not the password"),
        "no such username": ("nobody", "not the password"),
        "no such email": ("nobody@example.org", "not the password"),
        "deactivated, right password": ("gone", PASSWORD),
        "deactivated, by email": ("gone@example.org", "not the password"),
        "account without a password": ("invited", "not the password"),
    }
    seen: dict[str, Any] = {}
    for name, (login, password) in cases.items():
        client.cookies.clear()
        await client.get("/login")  # the CSRF cookie, outside the measured request
        token = await csrf(client)
        hasher.verified.clear()
        start = count_queries.count
        r = await client.post(
            "/login", data={"login": login, "password": password, "csrf_token": token}
        )
        statements = [s.split()[0].upper() for s in count_queries.statements[start:]]
        seen[name] = (r.status_code, error_of(r), hasher.verified[:], statements)
    expected_cost = extract_parameters(alice.password_hash)
    first = seen["wrong password"]
    assert first[0] == 401
    assert (
        first[1]
        == "There is a problem That username or email and password do not match an account."
    )
    assert first[2] == [expected_cost]  # exactly one verification, at a real hash's cost
    for name, outcome in seen.items():
        assert outcome == first, name


async def test_the_dummy_hash_follows_the_hasher_in_use(hasher: CountingHasher) -> None:
    """Verifying against the dummy costs what verifying a real password costs, even after the
    parameters change (here: the tests' cheap hasher replacing the default one)."""
    assert not passwords.verify("", "anything")
    assert hasher.verified == [extract_parameters(hasher.hash("x"))]


async def test_a_correct_login_forgives_its_addresss_failures_on_the_account_only(
    app: Starlette, client: httpx.AsyncClient, hasher: CountingHasher
) -> None:
    """The owner's own typos (here, from 127.0.0.1) stop counting once they get it right;
    a guesser's elsewhere (203.0.113.5) still count, and are not wiped by the owner's
    login to give the guesser ten more."""
    await make_user("alice")
    for login in ("alice", "alice@example.org"):
        assert (await attempt(client, login, "wrong password")).status_code == 401
    async with browser(app, "203.0.113.5") as guesser:
        for _ in range(3):
            assert (await attempt(guesser, "alice", "wrong password")).status_code == 401
    assert await RateEvent.filter(key="login:account:alice").count() == 4
    assert (await attempt(client, "alice", PASSWORD)).status_code == 303
    assert await RateEvent.filter(key="login:account:alice").count() == 3
    assert not await RateEvent.filter(key="login:account:alice@example.org").exists()
    assert not await RateEvent.filter(key__contains="127.0.0.1").exists()
    assert await RateEvent.filter(key="login:address:203.0.113.5").count() == 1


@asynccontextmanager
async def browser(app: Starlette, address: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    """Another browser (its own cookies), from `address`."""
    transport = httpx.ASGITransport(app=app, client=(address, 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def use_up(key: str, limit: ratelimit.Limit) -> None:
    await ratelimit.record_all([key] * limit.events)


@pytest.mark.parametrize("login", ["alice", "nobody"])
async def test_after_ten_failures_an_account_name_is_refused_for_a_while_whoever_it_is(
    client: httpx.AsyncClient, hasher: CountingHasher, login: str
) -> None:
    """A name that exists and one that does not are limited alike: no tell."""
    await make_user("alice")
    for _ in range(ratelimit.LOGIN_PER_ACCOUNT.events):
        assert (await attempt(client, login, "wrong password")).status_code == 401
    hasher.verified.clear()
    r = await attempt(client, login.upper(), PASSWORD)
    assert r.status_code == 429
    assert 14 * 60 < int(r.headers["retry-after"]) <= 15 * 60 + 1
    assert error_of(r) == "There is a problem Too many attempts. Try again in 15 minutes."
    assert HTMLParser(r.text).css_first("input#login").attributes["value"] == login.upper()
    assert hasher.verified == []  # a limited attempt does not even check the password
    # Another name from the same address is still let through.
    assert (await attempt(client, "someone", "wrong password")).status_code == 401


async def test_an_address_is_limited_by_how_many_accounts_failed_from_it(
    client: httpx.AsyncClient, hasher: CountingHasher
) -> None:
    """One password tried against many accounts is still bounded: after failures on thirty
    names from one address, that address's new browsers are refused for any account."""
    await make_user("alice")
    for n in range(ratelimit.LOGIN_ACCOUNTS_PER_ADDRESS.events):
        assert (await attempt(client, f"someone{n}", "Password1")).status_code == 401
    r = await attempt(client, "alice", PASSWORD)
    assert r.status_code == 429 and "Try again in 15 minutes." in error_of(r)


async def test_thirty_failures_from_an_office_address_do_not_stop_a_colleague(
    app: Starlette, hasher: CountingHasher
) -> None:
    """Thirty failures from one address (one guesser behind an office's NAT, on one
    person's username, email and a misspelling) do not refuse a colleague at the same
    address, on a browser that never logged in before, their own account."""
    await make_user("alice")
    carol = await make_user("carol")
    async with browser(app, "198.51.100.7") as guesser:
        for login in ("alice", "alice@example.org", "alicee"):
            for _ in range(ratelimit.LOGIN_PER_ACCOUNT.events):
                assert (await attempt(guesser, login, "wrong password")).status_code == 401
        assert (await attempt(guesser, "alice", PASSWORD)).status_code == 429
    async with browser(app, "198.51.100.7") as colleague:
        assert (await attempt(colleague, carol.username, PASSWORD)).status_code == 303


async def test_a_stranger_cannot_lock_the_owner_out_of_a_browser_they_logged_in_from(
    app: Starlette, client: httpx.AsyncClient, hasher: CountingHasher
) -> None:
    """Ten failures on the username and ten on the email (a stranger, elsewhere) refuse
    every browser that has not logged in to the account, the owner's new one too: guessing
    stays as slow as it was. The browser the owner logged in from before (its device
    cookie names the account) still logs in with the right password."""
    alice = await make_user("alice")
    await log_in(client, alice)
    await client.post("/logout", data={"csrf_token": await csrf(client, "/")})
    async with browser(app, "203.0.113.66") as stranger:
        for login in ("alice", "alice@example.org"):
            for _ in range(ratelimit.LOGIN_PER_ACCOUNT.events):
                assert (await attempt(stranger, login, "wrong password")).status_code == 401
        hasher.verified.clear()
        # The guesser without a device cookie is stopped, right password or not.
        assert (await attempt(stranger, "alice", PASSWORD)).status_code == 429
        assert (await attempt(stranger, "alice@example.org", "guess 21")).status_code == 429
        assert hasher.verified == []
    async with browser(app) as new_browser:
        assert (await attempt(new_browser, "alice", PASSWORD)).status_code == 429
    for login in ("alice", "ALICE@example.org"):
        r = await attempt(client, login, PASSWORD)
        assert r.status_code == 303, error_of(r)
        assert client.cookies.get("forum_session")
        await client.post("/logout", data={"csrf_token": await csrf(client, "/")})
    # The stranger's failures still count against every other browser.
    async with browser(app) as new_browser:
        assert (await attempt(new_browser, "alice", PASSWORD)).status_code == 429


async def test_a_known_browser_is_held_by_its_own_failures(
    app: Starlette, client: httpx.AsyncClient, hasher: CountingHasher
) -> None:
    """Someone at the owner's browser (or holding a copy of its cookie) gets ten guesses
    per quarter hour too; they are counted against that browser, not the account."""
    alice = await make_user("alice")
    await log_in(client, alice)
    for _ in range(ratelimit.LOGIN_PER_DEVICE.events):
        assert (await attempt(client, "alice", "wrong password")).status_code == 401
    r = await attempt(client, "alice", PASSWORD)
    assert r.status_code == 429 and "Try again in 15 minutes." in error_of(r)
    assert not await RateEvent.filter(key__startswith="login:account:").exists()
    async with browser(app, "203.0.113.8") as elsewhere:
        assert (await attempt(elsewhere, "alice", PASSWORD)).status_code == 303


async def test_a_device_cookie_is_for_its_accounts_and_cannot_be_forged(
    app: Starlette, client: httpx.AsyncClient, hasher: CountingHasher
) -> None:
    """A browser that logged in to bob is a stranger to alice; an altered cookie, or one
    signed with another secret, is no cookie at all. Each is limited like any browser."""
    alice, bob = await make_user("alice"), await make_user("bob")
    await use_up("login:account:alice", ratelimit.LOGIN_PER_ACCOUNT)
    await log_in(client, bob)
    assert (await attempt(client, "alice", PASSWORD)).status_code == 429
    real = client.cookies["forum_device"]
    device_id, _, signature = real.split(".")
    for forged in (
        f"{device_id}.{alice.id}-{bob.id}.{signature}",
        f"{device_id}.{alice.id}.{'0' * 64}",
        f"{device_id}.{alice.id}",
        "",
    ):
        async with browser(app) as other:
            other.cookies.set("forum_device", forged)
            assert (await attempt(other, "alice", PASSWORD)).status_code == 429, forged
    # A browser knows the last few accounts that logged in from it, the latest first.
    await RateEvent.all().delete()
    await log_in(client, alice)
    assert client.cookies["forum_device"].split(".")[:2] == [device_id, f"{alice.id}-{bob.id}"]


async def test_the_limit_lifts_when_the_failures_are_old_enough(
    client: httpx.AsyncClient, hasher: CountingHasher
) -> None:
    await make_user("alice")
    await use_up("login:account:alice", ratelimit.LOGIN_PER_ACCOUNT)
    assert (await attempt(client, "alice", PASSWORD)).status_code == 429
    await RateEvent.all().update(at=utcnow() - timedelta(minutes=16))
    assert (await attempt(client, "alice", PASSWORD)).status_code == 303


async def test_an_empty_form_is_not_a_failure(
    client: httpx.AsyncClient, hasher: CountingHasher
) -> None:
    r = await attempt(client, "", "")
    assert r.status_code == 400
    assert await RateEvent.all().count() == 0 and hasher.verified == []


# The current password, asked for by the settings page, is limited like a login.


async def _settings_post(
    client: httpx.AsyncClient, path: str, current: str, **data: str
) -> httpx.Response:
    token = await csrf(client, "/account")
    return await client.post(path, data={"current_password": current, "csrf_token": token, **data})


async def test_guessing_the_current_password_in_the_settings_is_limited_like_a_login(
    client: httpx.AsyncClient, hasher: CountingHasher
) -> None:
    """Someone holding a signed-in browser (borrowed, or a stolen cookie) cannot try password
    after password on the settings page; the limit is per account, across every form that
    asks for the current password."""
    alice = await make_user("alice")
    await log_in(client, alice)
    new = {"password": "a quiet orange lighthouse"}
    for _ in range(ratelimit.PASSWORD_CHECK_PER_ACCOUNT.events):
        r = await _settings_post(client, "/account/password", "a wrong guess", **new)
        assert r.status_code == 400
    hasher.verified.clear()
    r = await _settings_post(client, "/account/password", PASSWORD, **new)
    assert r.status_code == 429 and 14 * 60 < int(r.headers["retry-after"]) <= 15 * 60 + 1
    assert "Too many attempts. Try again in 15 minutes." in error_of(r)
    assert hasher.verified == []  # refused without checking
    r = await _settings_post(client, "/account/email", PASSWORD, email="alice@new.example.org")
    assert r.status_code == 429 and hasher.verified == []
    assert passwords.verify((await User.get(id=alice.id)).password_hash, PASSWORD)
    # Once the failures are old enough, the right password works, and forgets them.
    await RateEvent.filter(key__startswith="password-check:").update(
        at=utcnow() - timedelta(minutes=16)
    )
    r = await _settings_post(client, "/account/password", PASSWORD, **new)
    assert r.status_code == 303
    assert not await RateEvent.filter(key__startswith="password-check:").exists()
