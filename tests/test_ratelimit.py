"""Rate limits: the database-backed counter, and the forms that are limited by it."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from forum import ratelimit
from forum.ratelimit import Limit, RateEvent, RateLimited
from forum.threads.models import Post, Thread
from forum.timeutil import utcnow
from tests.factories import csrf, login, make_member, make_network, make_thread

THREE_A_MINUTE = Limit(3, timedelta(minutes=1))


@pytest.fixture(autouse=True)
def no_random_pruning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "PRUNE_CHANCE", 0.0)


async def test_hit_all_records_each_key_until_one_is_at_its_limit(db: str) -> None:
    rules = [("a", THREE_A_MINUTE), ("b", Limit(5, timedelta(minutes=1)))]
    for _ in range(3):
        await ratelimit.hit_all(rules)
    with pytest.raises(RateLimited):
        await ratelimit.hit_all(rules)
    # Refused: nothing recorded, for either key.
    assert await RateEvent.filter(key="a").count() == 3
    assert await RateEvent.filter(key="b").count() == 3


async def test_forgive_forgets_a_key_and_only_the_events_recorded_with_it(db: str) -> None:
    """A failure counted per account and per (address, account) at once: forgiving the
    address's key takes its events out of the account's count, and nobody else's."""
    await ratelimit.record_all(["account", "pair", "address"])
    await ratelimit.record_all(["account", "pair"])
    await ratelimit.record_all(["account", "other pair"])
    assert await ratelimit.count("account", THREE_A_MINUTE) == 3
    await ratelimit.forgive("pair", "account", "address")
    assert await ratelimit.count("account", THREE_A_MINUTE) == 1
    assert await RateEvent.filter(key__in=["pair", "address"]).count() == 0
    assert await RateEvent.filter(key="other pair").count() == 1
    await ratelimit.forgive("nothing recorded", "account")
    assert await ratelimit.count("account", THREE_A_MINUTE) == 1


async def test_the_wait_is_until_the_oldest_event_leaves_the_window(db: str) -> None:
    now = utcnow()
    for seconds_ago in (50, 20, 10):
        await RateEvent.create(key="k", at=now - timedelta(seconds=seconds_ago))
    with pytest.raises(RateLimited) as exc:
        await ratelimit.check("k", THREE_A_MINUTE)
    assert 9 <= exc.value.retry_after <= 11
    assert str(exc.value) == "Too many attempts. Try again in 1 minute."


async def test_with_several_limits_reached_the_longest_wait_is_given(db: str) -> None:
    now = utcnow()
    for _ in range(3):
        await RateEvent.create(key="short", at=now)
        await RateEvent.create(key="long", at=now)
    with pytest.raises(RateLimited) as exc:
        await ratelimit.check_all(
            [("short", THREE_A_MINUTE), ("long", Limit(3, timedelta(minutes=15)))]
        )
    assert exc.value.retry_after > 14 * 60
    assert str(exc.value) == "Too many attempts. Try again in 15 minutes."


async def test_events_outside_the_window_no_longer_count(db: str) -> None:
    for _ in range(3):
        await ratelimit.hit("k", THREE_A_MINUTE)
    await RateEvent.filter(key="k").update(at=utcnow() - timedelta(minutes=2))
    await ratelimit.hit("k", THREE_A_MINUTE)


async def test_clear_forgets_only_the_given_keys(db: str) -> None:
    await ratelimit.record_all(["a", "b", "c"])
    await ratelimit.clear("a", "b")
    assert await RateEvent.all().values_list("key", flat=True) == ["c"]


async def test_recording_now_and_then_prunes_events_older_than_any_window(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await RateEvent.create(key="old", at=utcnow() - ratelimit.MAX_WINDOW - timedelta(minutes=1))
    await RateEvent.create(key="recent", at=utcnow() - ratelimit.MAX_WINDOW + timedelta(hours=1))
    await ratelimit.record_all(["new"])
    assert await RateEvent.filter(key="old").exists()
    monkeypatch.setattr(ratelimit, "PRUNE_CHANCE", 1.0)
    await ratelimit.record_all(["new"])
    assert sorted(await RateEvent.all().values_list("key", flat=True)) == ["new", "new", "recent"]


async def test_keys_holding_what_people_typed_are_stored_cleaned(db: str) -> None:
    """A login name with a NUL byte or a lone surrogate (PostgreSQL refuses both) still counts."""
    for typed in ("ali\x00ce", "bob\ud800", "c" * 1000):
        for _ in range(3):
            await ratelimit.hit(f"login:account:{typed}", THREE_A_MINUTE)
        with pytest.raises(RateLimited):
            await ratelimit.hit(f"login:account:{typed}", THREE_A_MINUTE)
    await ratelimit.clear("login:account:ali\x00ce")
    assert await RateEvent.filter(key="login:account:alice").count() == 0
    assert await RateEvent.all().count() == 6


def test_a_limit_longer_than_events_are_kept_is_refused() -> None:
    with pytest.raises(ValueError):
        Limit(3, ratelimit.MAX_WINDOW + timedelta(seconds=1))
    with pytest.raises(ValueError):
        Limit(0, timedelta(minutes=1))


# Posting.


async def use_up_posting_limit(user_id: int) -> None:
    key = f"post:account:{user_id}"
    await ratelimit.record_all([key] * ratelimit.POSTS_PER_ACCOUNT.events)


async def test_a_member_over_the_posting_limit_keeps_their_new_thread_and_is_told_when(
    client: httpx.AsyncClient,
) -> None:
    network = await make_network("dl")
    alice = await make_member(network)
    await login(client, alice)
    await use_up_posting_limit(alice.id)
    token = await csrf(client, "/n/dl/new")
    data = {"title": "Data team roles", "body": "What roles **do** you have?", "tags": "teams"}
    r = await client.post("/n/dl/new", data={**data, "action": "post", "csrf_token": token})
    assert r.status_code == 429
    assert 9 * 60 < int(r.headers["retry-after"]) <= 10 * 60 + 1
    doc = HTMLParser(r.text)
    assert doc.css_first(".error-summary").text().count("Try again in 10 minutes.") == 1
    assert "Too many attempts." in doc.css_first(".error-summary").text()
    assert doc.css_first("input#title").attributes["value"] == data["title"]
    assert doc.css_first("textarea#body").text() == data["body"]
    assert doc.css_first("input#tags").attributes["value"] == data["tags"]
    assert not await Thread.exists(title=data["title"])
    # A preview is not a post: it is not limited.
    r = await client.post("/n/dl/new", data={**data, "action": "preview", "csrf_token": token})
    assert r.status_code == 200


async def test_a_member_over_the_posting_limit_keeps_their_reply(
    client: httpx.AsyncClient,
) -> None:
    network = await make_network("dl")
    alice = await make_member(network)
    thread = await make_thread(network, alice)
    await login(client, alice)
    await use_up_posting_limit(alice.id)
    token = await csrf(client, f"/n/dl/t/{thread.id}/reply")
    r = await client.post(
        f"/n/dl/t/{thread.id}/reply",
        data={"body": "Hub and spoke, here.", "action": "post", "csrf_token": token},
    )
    assert r.status_code == 429 and "retry-after" in r.headers
    doc = HTMLParser(r.text)
    assert "Too many attempts. Try again in 10 minutes." in doc.css_first(".error-summary").text()
    assert doc.css_first("textarea#body").text() == "Hub and spoke, here."
    assert await Post.filter(thread_id=thread.id).count() == 1


async def test_each_accepted_thread_and_reply_counts_once_and_refused_ones_not_at_all(
    client: httpx.AsyncClient,
) -> None:
    network = await make_network("dl")
    alice = await make_member(network)
    await login(client, alice)
    token = await csrf(client, "/n/dl/new")
    ok = await client.post(
        "/n/dl/new", data={"title": "A question", "body": "Body", "csrf_token": token}
    )
    assert ok.status_code == 303
    refused = await client.post("/n/dl/new", data={"title": "", "body": "", "csrf_token": token})
    assert refused.status_code == 422
    thread = await Thread.get(title="A question")
    reply = await client.post(
        f"/n/dl/t/{thread.id}/reply", data={"body": "An answer", "csrf_token": token}
    )
    assert reply.status_code == 303
    assert await RateEvent.filter(key=f"post:account:{alice.id}").count() == 2
