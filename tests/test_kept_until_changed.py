"""What pages keep between requests until the change log moves: the networks, a network's
listings, the knowledge base's front page. A write through a service shows at once; a
request asks where the log is once, however many kept things it uses."""

from __future__ import annotations

import httpx

from forum.networks import queries as network_queries
from forum.networks import services as network_services
from forum.networks.models import Role, Visibility
from forum.permissions import ANONYMOUS, viewer_for
from forum.threads import curation
from tests.conftest import QueryCounter
from tests.factories import make_member, make_network, make_reply, make_thread


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
