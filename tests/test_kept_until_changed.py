"""What pages keep between requests until the change log moves: the networks, a network's
listings, the knowledge base's front page, a thread's head and posts. A write through a
service shows at once; a request asks where the log is once, however many kept things it
uses; a signed-in request asks in its session's query; and a request from someone not
signed in may take the position this process read less than `changes.RECENT` ago."""

from __future__ import annotations

import time

import httpx
import pytest

from forum import changes
from forum.accounts import organisations
from forum.moderation import services as moderation
from forum.networks import queries as network_queries
from forum.networks import services as network_services
from forum.networks.models import Role, Visibility
from forum.permissions import ANONYMOUS, viewer_for
from forum.threads import curation
from tests.conftest import QueryCounter
from tests.factories import (
    login,
    make_member,
    make_network,
    make_reply,
    make_thread,
    make_user,
)


def _log_reads(counter: QueryCounter) -> int:
    return sum('FROM "changes"' in s for s in counter.statements)


async def test_a_network_made_members_only_disappears_for_outsiders_at_once(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl", name="Data Leaders")
    await make_thread(network, await make_member(network), title="Open question")
    assert "Data Leaders" in (await client.get("/")).text
    assert (await client.get("/n/dl")).status_code == 200
    await network_services.set_visibility(network=network, visibility=Visibility.MEMBERS)
    assert "Data Leaders" not in (await client.get("/")).text
    assert (await client.get("/n/dl")).status_code == 404
    assert (await client.get("/kb")).status_code == 200
    assert "Data Leaders" not in (await client.get("/kb")).text


async def test_a_kept_network_is_copied_so_changing_one_changes_no_other_request(
    db: str,
) -> None:
    await make_network("dl", name="Data Leaders")
    first = await network_queries.get_network("dl", ANONYMOUS)
    first.name = "Changed in memory only"
    again = await network_queries.get_network("dl", ANONYMOUS)
    assert again.name == "Data Leaders"
    assert [n.name for n in await network_queries.visible_networks(ANONYMOUS)] == ["Data Leaders"]


async def test_a_network_listing_is_kept_until_a_write_and_then_shows_it(
    db: str, client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    older = await make_thread(network, fac, title="Older question")
    newer = await make_thread(network, fac, title="Newer question")
    page = (await client.get("/n/dl")).text
    assert page.index("Newer question") < page.index("Older question")
    count_queries.statements.clear()
    assert (await client.get("/n/dl")).text == page  # kept: nothing was written
    assert not any('FROM "threads"' in s for s in count_queries.statements)
    # A reply brings the older thread to the top at once.
    await make_reply(older, fac, "Bumped.")
    page = (await client.get("/n/dl")).text
    assert page.index("Older question") < page.index("Newer question")
    # A pin, a new title and new tags show at once too.
    viewer = await viewer_for(fac)
    newer.network = network
    await curation.set_pinned(viewer=viewer, thread=newer, pinned=True)
    await curation.rename_thread(viewer=viewer, thread=newer, title="Renamed question")
    await curation.set_tags(viewer=viewer, thread=newer, tags="budgets")
    page = (await client.get("/n/dl")).text
    assert page.index("Renamed question") < page.index("Older question")
    assert "Pinned" in page and "budgets" in page and "Newer question" not in page


async def test_the_organisations_are_kept_until_one_is_added_or_renamed(
    db: str, client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    await make_network("dl")
    admin = await viewer_for(await make_user(is_admin=True))
    await organisations.create_organisation(viewer=admin, slug="hackney", name="Hackney")
    assert ">Hackney</option>" in (await client.get("/n/dl")).text
    count_queries.statements.clear()
    assert ">Hackney</option>" in (await client.get("/n/dl")).text
    assert not any('FROM "organisations"' in s for s in count_queries.statements)
    camden = await organisations.create_organisation(viewer=admin, slug="camden", name="Camden")
    assert ">Camden</option>" in (await client.get("/n/dl")).text
    await organisations.edit_organisation(
        viewer=admin, organisation=camden, name="Camden Council", email_domains=""
    )
    assert ">Camden Council</option>" in (await client.get("/n/dl")).text


async def test_a_request_reads_the_change_log_once(
    db: str, client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    network = await make_network("dl")
    await make_thread(network, await make_member(network))
    for path in ("/", "/n/dl", "/kb", "/n/dl/kb"):
        assert (await client.get(path)).status_code == 200  # computed
        count_queries.statements.clear()
        assert (await client.get(path)).status_code == 200  # kept
        assert _log_reads(count_queries) == 1, (path, count_queries.statements)


async def test_a_signed_in_request_reads_the_log_with_its_session(
    db: str, client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    network = await make_network("dl")
    member = await make_member(network)
    await make_thread(network, member, title="Open question")
    await login(client, member)
    for path in ("/", "/kb"):
        assert (await client.get(path)).status_code == 200  # computed
        count_queries.statements.clear()
        page = await client.get(path)
        assert page.status_code == 200 and "Log out" in page.text
        # Where the log stands: the visit (session, user, roles, unread count) is kept.
        assert count_queries.count == 1, count_queries.statements


async def test_a_thread_page_is_kept_until_a_write_and_then_shows_it(
    db: str, client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    thread = await make_thread(network, fac, title="Open question", body="The opening post.")
    url = f"/n/dl/t/{thread.id}-{thread.slug}"
    assert "The opening post." in (await client.get(url)).text
    count_queries.statements.clear()
    assert "The opening post." in (await client.get(url)).text
    assert not any('FROM "posts"' in s or "FROM posts" in s for s in count_queries.statements)
    reply = await make_reply(thread, fac, "A reply worth hiding.")
    assert "A reply worth hiding." in (await client.get(url)).text
    await moderation.hide_post(viewer=await viewer_for(fac), post=reply, network=network)
    assert "A reply worth hiding." not in (await client.get(url)).text
    # Made members-only: gone for outsiders at once, kept thread or not.
    await network_services.set_visibility(network=network, visibility=Visibility.MEMBERS)
    assert (await client.get(url)).status_code == 404


def _as_if_read_elsewhere(before: tuple[float, changes.Position | None] | None) -> None:
    """Put back the position this process had read before a write made here, as if the
    write had been made by another process (which this one learns of only by asking)."""
    assert before is not None
    changes._last_read = (time.monotonic(), before[1])


async def test_someone_not_signed_in_sees_another_process_s_write_within_recent(
    db: str, client: httpx.AsyncClient, count_queries: QueryCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(changes, "RECENT", 60.0)  # this test decides when it has passed
    network = await make_network("dl")
    member = await make_member(network)
    await make_thread(network, member, title="Older question")
    assert "Older question" in (await client.get("/n/dl")).text
    count_queries.statements.clear()
    assert "Older question" in (await client.get("/n/dl")).text
    assert _log_reads(count_queries) == 0  # the position this process read just now
    before = changes._last_read
    await make_thread(network, member, title="Newer question")
    _as_if_read_elsewhere(before)
    # Within RECENT: the page as it was.
    assert "Newer question" not in (await client.get("/n/dl")).text
    # A member sees it at once: their request reads the log with its session.
    await login(client, member)
    assert "Newer question" in (await client.get("/n/dl")).text
    # Once RECENT has passed, the next anonymous request asks again.
    client.cookies.clear()
    assert before is not None
    changes._last_read = (time.monotonic() - 61.0, before[1])
    assert "Newer question" in (await client.get("/n/dl")).text


async def test_weighed_kept_values_stay_within_their_budget(db: str) -> None:
    await make_network("dl")  # the log has a position
    kept: changes.UntilChanged[str, list[int]] = changes.UntilChanged(10, weigh=len)
    computed: list[str] = []

    def value(key: str, size: int):  # type: ignore[no-untyped-def]
        async def compute() -> list[int]:
            computed.append(key)
            return list(range(size))

        return compute

    with changes.per_request():
        await kept.get("a", value("a", 4))
        await kept.get("b", value("b", 4))
        await kept.get("a", value("a", 4))  # kept; now the most recent
        await kept.get("c", value("c", 4))  # 12 > 10: "b", the least recent, goes
        await kept.get("a", value("a", 4))
        await kept.get("b", value("b", 4))
        await kept.get("big", value("big", 50))  # over the budget alone: kept by itself
        await kept.get("big", value("big", 50))
    assert computed == ["a", "b", "c", "b", "big"]
