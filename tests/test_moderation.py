"""Flags, hiding, restoring and redacting posts: pages, services, search and the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import httpx
import pytest

from forum.accounts.models import User
from forum.audit.models import AuditEntry
from forum.errors import NotFound, PermissionDenied, ValidationError
from forum.moderation import services
from forum.moderation.models import Flag, FlagStatus
from forum.networks.models import Network, Role, Visibility
from forum.permissions import viewer_for
from forum.search.indexer import catch_up
from forum.search.service import SearchService
from forum.threads import services as threads
from forum.threads.models import Post, PostRevision, Thread
from tests.factories import csrf, login, make_member, make_network, make_reply, make_thread


class World(NamedTuple):
    network: Network
    fac: User
    alice: User
    bob: User
    thread: Thread
    post: Post  # bob's reply, the one that gets flagged


async def _world(visibility: Visibility = Visibility.PUBLIC) -> World:
    network = await make_network("dl", visibility=visibility)
    fac = await make_member(network, role=Role.FACILITATOR)
    alice = await make_member(network)
    bob = await make_member(network)
    thread = await make_thread(network, alice)
    post = await make_reply(thread, bob, "My colleague Jane Quokkadottir's number is 07700 900123.")
    return World(network, fac, alice, bob, thread, post)


async def test_a_member_flags_a_post_and_facilitators_see_it_queued(
    db: str, client: httpx.AsyncClient
) -> None:
    w = await _world()
    await login(client, w.alice)
    page = await client.get(f"/n/dl/t/{w.thread.id}-{w.thread.slug}")
    assert f"/n/dl/p/{w.post.id}/flag" in page.text
    token = await csrf(client, f"/n/dl/p/{w.post.id}/flag")
    response = await client.post(
        f"/n/dl/p/{w.post.id}/flag",
        data={"csrf_token": token, "reason": "personal-data", "note": "A phone number"},
    )
    assert response.status_code == 200 and "the post is flagged" in response.text
    # Flagging again updates the one open flag.
    await client.post(
        f"/n/dl/p/{w.post.id}/flag", data={"csrf_token": token, "reason": "spam", "note": ""}
    )
    flags = await Flag.filter(post_id=w.post.id)
    assert [(f.reason, f.status) for f in flags] == [("spam", FlagStatus.OPEN)]
    assert (await client.get("/flags")).status_code == 404  # members have no queue

    client.cookies.clear()
    await login(client, w.fac)
    queue = await client.get("/flags")
    assert queue.status_code == 200
    assert "Quokkadottir" in queue.text and "Spam" in queue.text


async def test_flag_form_names_the_problem_and_keeps_the_note(
    db: str, client: httpx.AsyncClient
) -> None:
    w = await _world()
    await login(client, w.alice)
    token = await csrf(client, f"/n/dl/p/{w.post.id}/flag")
    cases = [
        ({"reason": "", "note": "kept text"}, "Choose why"),
        ({"reason": "nonsense\x00", "note": "kept text"}, "Choose why"),
        ({"reason": "other", "note": ""}, "Say what is wrong"),
        ({"reason": "spam", "note": "x" * 1001}, "the limit is 1,000"),
    ]
    for data, message in cases:
        response = await client.post(
            f"/n/dl/p/{w.post.id}/flag", data={"csrf_token": token, **data}
        )
        assert response.status_code == 422, data
        assert message in response.text
        if data["note"] == "kept text":
            assert "kept text" in response.text
    assert not await Flag.exists(post_id=w.post.id)


async def test_hiding_shows_a_placeholder_to_readers_and_the_post_to_facilitators(
    db: str, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    w = await _world()
    await services.flag_post(
        viewer=await viewer_for(w.alice), post=w.post, network=w.network, reason="spam"
    )
    index = tmp_path / "index"
    search = SearchService(index)
    try:
        await catch_up(index)
        assert (await search.search("Quokkadottir", network_ids=[w.network.id])).total == 1
        await login(client, w.fac)
        token = await csrf(client, f"/n/dl/p/{w.post.id}/hide")
        response = await client.post(
            f"/n/dl/p/{w.post.id}/hide", data={"csrf_token": token, "note": "Personal details"}
        )
        assert response.status_code == 303
        url = f"/n/dl/t/{w.thread.id}-{w.thread.slug}"
        facilitator_view = (await client.get(url)).text
        assert "Quokkadottir" in facilitator_view and "Personal details" in facilitator_view
        assert "Restore" in facilitator_view
        client.cookies.clear()
        reader_view = (await client.get(url)).text
        assert "Quokkadottir" not in reader_view
        assert "This post was hidden by the facilitators." in reader_view
        api = (await client.get(f"/api/v1/n/dl/t/{w.thread.id}")).json()
        assert [p["html"] for p in api["posts"] if p["id"] == w.post.id] == [None]
        assert (await client.get(f"/n/dl/p/{w.post.id}/history")).status_code == 404
        # Its flag is closed, the action audited, and search forgets the post.
        assert (await Flag.get(post_id=w.post.id)).status == FlagStatus.ACTIONED
        entry = await AuditEntry.get(action="post.hide")
        assert entry.post_id == w.post.id and entry.after["note"] == "Personal details"
        await catch_up(index)
        assert (await search.search("Quokkadottir", network_ids=[w.network.id])).total == 0
        # The author may no longer edit it; restoring brings it back, to search too.
        with pytest.raises(PermissionDenied):
            post = await Post.get(id=w.post.id)
            await threads.edit_post(
                viewer=await viewer_for(w.bob), post=post, network=w.network, body="Edited"
            )
        post = await Post.get(id=w.post.id)
        await services.restore_post(viewer=await viewer_for(w.fac), post=post, network=w.network)
        assert "Quokkadottir" in (await client.get(url)).text
        await catch_up(index)
        assert (await search.search("Quokkadottir", network_ids=[w.network.id])).total == 1
    finally:
        search.close()


async def test_redaction_removes_the_text_from_every_version_and_from_search(
    db: str, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    w = await _world()
    await threads.edit_post(
        viewer=await viewer_for(w.bob),
        post=w.post,
        network=w.network,
        body="Jane Quokkadottir's mobile is 07700 900123, call her.",
    )
    assert await PostRevision.filter(post_id=w.post.id).count() == 1
    index = tmp_path / "index"
    search = SearchService(index)
    try:
        await catch_up(index)
        await login(client, w.fac)
        assert "for good" in (await client.get(f"/n/dl/p/{w.post.id}/redact")).text
        token = await csrf(client, f"/n/dl/p/{w.post.id}/redact")
        response = await client.post(f"/n/dl/p/{w.post.id}/redact", data={"csrf_token": token})
        assert response.status_code == 303
        post = await Post.get(id=w.post.id)
        assert post.redacted_at is not None and post.redacted_by_id == w.fac.id
        texts = [post.body, post.body_html, post.body_text]
        for rev in await PostRevision.filter(post_id=w.post.id):
            texts += [rev.body, rev.body_html]
        assert not any("Quokkadottir" in t or "07700" in t for t in texts)
        for url in (f"/n/dl/t/{w.thread.id}-{w.thread.slug}", f"/n/dl/p/{w.post.id}/history"):
            page = (await client.get(url)).text
            assert "Quokkadottir" not in page and "07700" not in page
        thread_page = await client.get(f"/n/dl/t/{w.thread.id}-{w.thread.slug}")
        assert "personal data by mistake" in thread_page.text
        entry = await AuditEntry.get(action="post.redact")
        assert "Quokkadottir" not in str(entry.before) + str(entry.after)
        await catch_up(index)
        assert (await search.search("Quokkadottir", network_ids=[w.network.id])).total == 0
        with pytest.raises(PermissionDenied):
            await threads.edit_post(
                viewer=await viewer_for(w.fac), post=post, network=w.network, body="Back"
            )
    finally:
        search.close()


async def test_dismissing_a_flag_leaves_the_post_alone(db: str, client: httpx.AsyncClient) -> None:
    w = await _world()
    flag = await services.flag_post(
        viewer=await viewer_for(w.alice), post=w.post, network=w.network, reason="off-topic"
    )
    await login(client, w.fac)
    token = await csrf(client, "/flags")
    response = await client.post(f"/n/dl/flags/{flag.id}/dismiss", data={"csrf_token": token})
    assert response.status_code == 303
    assert (await Flag.get(id=flag.id)).status == FlagStatus.DISMISSED
    assert not (await Post.get(id=w.post.id)).hidden
    assert await AuditEntry.exists(action="flag.dismiss", post_id=w.post.id)
    assert "No open flags" in (await client.get("/flags")).text
    # A flag id of another network is not found here.
    other = await make_network("other")
    await make_member(other, w.fac, role=Role.FACILITATOR)
    response = await client.post(f"/n/other/flags/{flag.id}/dismiss", data={"csrf_token": token})
    assert response.status_code == 404


async def test_service_refusals(db: str) -> None:
    w = await _world(Visibility.MEMBERS)
    outsider_net = await make_network("else")
    stranger = await make_member(outsider_net, role=Role.FACILITATOR)
    with pytest.raises(NotFound):
        await services.hide_post(viewer=await viewer_for(stranger), post=w.post, network=w.network)
    with pytest.raises(PermissionDenied):
        await services.redact_post(viewer=await viewer_for(w.alice), post=w.post, network=w.network)
    with pytest.raises(ValidationError):
        await services.hide_post(
            viewer=await viewer_for(w.fac), post=w.post, network=w.network, note="n" * 501
        )
    await services.hide_post(viewer=await viewer_for(w.fac), post=w.post, network=w.network)
    with pytest.raises(PermissionDenied):
        await services.flag_post(
            viewer=await viewer_for(w.alice), post=w.post, network=w.network, reason="spam"
        )


async def test_the_queue_reads_only_the_posts_it_shows_the_longest_waiting_first(
    db: str,
) -> None:
    from forum.moderation import queries

    w = await _world()
    elsewhere = await make_network("other")
    await make_member(elsewhere, w.bob)
    stranger_post = await make_reply(
        await make_thread(elsewhere, await make_member(elsewhere)), w.bob, "Not in dl."
    )
    posts = [w.post] + [await make_reply(w.thread, w.bob, f"Reply {i}.") for i in range(3)]
    by_alice, by_fac = await viewer_for(w.alice), await viewer_for(w.fac)
    for post in posts:  # each flagged once by alice, the oldest first
        await services.flag_post(viewer=by_alice, post=post, network=w.network, reason="spam")
    # The newest post is flagged a second time; the second post's flag is dismissed.
    await services.flag_post(viewer=by_fac, post=posts[3], network=w.network, reason="spam")
    dismissed = await Flag.get(post_id=posts[1].id)
    await services.dismiss_flag(viewer=by_fac, flag=dismissed, network=w.network)
    await services.flag_post(
        viewer=await viewer_for(w.bob), post=stranger_post, network=elsewhere, reason="spam"
    )
    shown, total = await queries.open_flags([w.network.id], limit=2)
    assert total == 3
    assert [e.post.id for e in shown] == [posts[0].id, posts[2].id]
    everything, _ = await queries.open_flags([w.network.id])
    assert [e.post.id for e in everything] == [posts[0].id, posts[2].id, posts[3].id]
    assert [len(e.flags) for e in everything] == [1, 1, 2]
    assert everything[2].post.thread.network.slug == "dl"
    assert await queries.open_flags([]) == ([], 0)
