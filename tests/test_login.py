"""Logging in: a failure never tells whether the account exists, and guessing is slowed down.

"Takes the same time" is tested as "does the same work" — the same argon2 verifications
with the same cost, and the same SQL statements — never with a clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from argon2 import Parameters, PasswordHasher, extract_parameters
from selectolax.lexbor import LexborHTMLParser as HTMLParser

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


async def test_a_correct_login_clears_the_accounts_failures(
    client: httpx.AsyncClient, hasher: CountingHasher
) -> None:
    await make_user("alice")
    for login in ("alice", "alice@example.org"):
        assert (await attempt(client, login, "wrong password")).status_code == 401
    assert await RateEvent.filter(key__startswith="login:account:").count() == 2
    assert (await attempt(client, "alice", PASSWORD)).status_code == 303
    assert await RateEvent.filter(key__startswith="login:account:").count() == 0
    # The address's failures still count.
    assert await RateEvent.filter(key="login:address:127.0.0.1").count() == 2


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


async def test_an_address_is_limited_across_account_names(
    client: httpx.AsyncClient, hasher: CountingHasher
) -> None:
    await make_user("alice")
    await use_up("login:address:127.0.0.1", ratelimit.LOGIN_PER_ADDRESS)
    r = await attempt(client, "alice", PASSWORD)
    assert r.status_code == 429 and "Try again in 15 minutes." in error_of(r)


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
