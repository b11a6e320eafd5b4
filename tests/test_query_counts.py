"""Pages run a fixed number of SQL queries, whatever their size."""

from __future__ import annotations

import httpx

from forum.networks import services as network_services
from forum.networks.models import Role, Visibility
from tests.conftest import QueryCounter
from tests.factories import (
    login,
    make_many_posts,
    make_member,
    make_network,
    make_reply,
    make_thread,
    make_user,
)


async def _thread_page_queries(
    client: httpx.AsyncClient, count_queries: QueryCounter, url: str
) -> int:
    """Queries of a third visit: the first may read the networks, kept until the change
    log moves (`networks.queries`), for both pages alike, and mark the viewer's
    notifications about the thread read (which moves the log: the second reads the session,
    networks and thread afresh)."""
    assert (await client.get(url)).status_code == 200
    assert (await client.get(url)).status_code == 200
    count_queries.statements.clear()
    response = await client.get(url)
    assert response.status_code == 200
    return count_queries.count


async def test_thread_page_queries_do_not_grow_with_posts(
    client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    network = await make_network("dl", visibility=Visibility.MEMBERS)
    people = [await make_member(network) for _ in range(4)]
    await login(client, people[0])
    small = await make_thread(network, people[0], title="Small", tags="a,b")
    big = await make_thread(network, people[1], title="Big", tags="a,b,c")
    await make_reply(small, people[1])
    parent = None
    for i in range(60):
        parent = await make_reply(
            big, people[i % 4], f"reply {i}", parent=parent if i % 3 else None
        )
    n_small = await _thread_page_queries(client, count_queries, f"/n/dl/t/{small.id}-small")
    n_big = await _thread_page_queries(client, count_queries, f"/n/dl/t/{big.id}-big")
    assert n_small == n_big
    # The change log's position (the session with its user, memberships and unread count is
    # kept); follow level and read position in one. The thread with its network, tags,
    # summary and posts is kept from the first visit (reading.thread_view).
    assert n_big == 2, "\n".join(s[:90] for s in count_queries.statements)
    # A reader who is not logged in: where the change log stands (the thread is kept).
    client.cookies.clear()
    count_queries.statements.clear()
    assert (await client.get(f"/n/dl/t/{big.id}-big")).status_code == 404  # members only
    await network_services.set_visibility(network=network, visibility=Visibility.PUBLIC)
    assert await _thread_page_queries(client, count_queries, f"/n/dl/t/{big.id}-big") == 1


async def test_network_page_queries_do_not_grow_with_threads(
    client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    await login(client, fac)
    await make_thread(network, fac, title="Only one", tags="x")
    count_queries.statements.clear()
    assert (await client.get("/n/dl")).status_code == 200
    few = count_queries.count
    for i in range(40):
        author = await make_member(network, await make_user())
        await make_thread(network, author, title=f"Thread {i}", tags=f"t{i},shared")
    count_queries.statements.clear()
    assert (await client.get("/n/dl")).status_code == 200
    # Not more (one fewer when none of the listed threads was ever opened by the viewer).
    assert count_queries.count <= few
    # At most: the session (kept: the log's position), the networks, the organisations of
    # the filter, count, pinned threads, the others, tags (two), summaries (the listing is
    # kept until the log moves), the read positions of the listed threads with the posts
    # since, and the watch level.
    assert few <= 12, count_queries.statements


async def test_home_page_queries_do_not_grow_with_networks(
    client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    first = await make_network()
    await make_thread(first, await make_member(first))
    count_queries.statements.clear()
    await client.get("/")
    few = count_queries.count
    for _ in range(10):
        net = await make_network()
        await make_thread(net, await make_member(net))
    count_queries.statements.clear()
    await client.get("/")
    assert count_queries.count == few


async def test_home_page_counts_threads_again_only_after_a_write(
    client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    network = await make_network("dl", name="Data Leaders")
    alice = await make_member(network)
    await make_thread(network, alice)
    assert "1 thread" in (await client.get("/")).text
    count_queries.statements.clear()
    assert "1 thread" in (await client.get("/")).text
    assert not any("GROUP BY" in s for s in count_queries.statements)
    await make_thread(network, alice)
    count_queries.statements.clear()
    assert "2 threads" in (await client.get("/")).text
    assert any("GROUP BY" in s for s in count_queries.statements)


async def test_a_thread_of_two_thousand_posts_renders_in_one_page(
    client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    network = await make_network("dl")
    authors = [await make_member(network) for _ in range(5)]
    small = await make_thread(network, authors[0], title="Small")
    big = await make_thread(network, authors[0], title="Big")
    await make_many_posts(big, authors, 2000)
    n_small = await _thread_page_queries(client, count_queries, f"/n/dl/t/{small.id}-small")
    count_queries.statements.clear()
    await client.get(f"/n/dl/t/{big.id}-big")
    count_queries.statements.clear()
    response = await client.get(f"/n/dl/t/{big.id}-big")
    assert response.status_code == 200
    assert response.text.count('<li class="post depth-') == 2001
    assert "Reply number 1999 with <strong>some</strong> text." in response.text
    assert count_queries.count == n_small


async def test_the_flag_queue_queries_do_not_grow_with_flags(
    client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    from forum.moderation import services as moderation
    from forum.permissions import viewer_for

    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    reporter = await make_member(network)
    thread = await make_thread(network, fac, title="Flagged")
    by_reporter = await viewer_for(reporter)

    async def flag(n: int) -> None:
        for i in range(n):
            post = await make_reply(thread, fac, f"flag me {i}")
            await moderation.flag_post(
                viewer=by_reporter, post=post, network=network, reason="spam"
            )

    async def queue() -> int:
        assert (await client.get("/flags")).status_code == 200
        count_queries.statements.clear()
        response = await client.get("/flags")
        assert response.status_code == 200 and "flag me" in response.text
        return count_queries.count

    await login(client, fac)
    await flag(2)
    few = await queue()
    await flag(12)
    assert await queue() == few, count_queries.statements
