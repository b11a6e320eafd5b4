"""Curating threads: pin, lock (with a reason), tags, rename, move, merge, and the audit log
that records each of them. Who may do each is pinned by tests/test_permission_matrix.py."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser

from forum import markdown
from forum.audit import services as audit_services
from forum.audit.models import AuditEntry
from forum.changes import Change
from forum.errors import PermissionDenied, ValidationError
from forum.networks.models import Network, Role, Visibility
from forum.permissions import viewer_for
from forum.search.indexer import catch_up
from forum.search.service import SearchService
from forum.threads import curation as curate
from forum.threads.models import Post, Summary, Thread, ThreadRedirect
from forum.timeutil import utcnow
from forum.web.curation import target_id
from tests.conftest import QueryCounter
from tests.factories import csrf, login, make_member, make_network, make_reply, make_thread


def page(response: httpx.Response) -> LexborHTMLParser:
    return LexborHTMLParser(response.text)


def url(thread: Thread, network: Network | None = None) -> str:
    net = network or thread.network
    return f"/n/{net.slug}/t/{thread.id}-{thread.slug}"


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, str], form_page: str | None = None
) -> httpx.Response:
    token = await csrf(client, form_page or path)
    return await client.post(path, data={"csrf_token": token, **data})


async def entries(action: str | None = None) -> list[AuditEntry]:
    query = AuditEntry.all() if action is None else AuditEntry.filter(action=action)
    return list(await query.order_by("id"))


async def fresh(thread: Thread) -> Thread:
    found = await Thread.filter(id=thread.id).select_related("network").prefetch_related("tags")
    return found[0]


async def set_summary(thread: Thread, author_id: int, body: str) -> Summary:
    rendered = markdown.render(body)
    return await Summary.create(
        thread_id=thread.id,
        author_id=author_id,
        body=body,
        body_html=rendered.html,
        body_text=rendered.text,
        created_at=utcnow(),
    )


# Pin and lock.


async def test_pinning_and_unpinning_are_audited_and_a_repeat_changes_nothing(db: str) -> None:
    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    thread = await make_thread(network, fac)
    viewer = await viewer_for(fac)
    await curate.set_pinned(viewer=viewer, thread=thread, pinned=True)
    await curate.set_pinned(viewer=viewer, thread=thread, pinned=True)
    assert (await Thread.get(id=thread.id)).pinned
    await curate.set_pinned(viewer=viewer, thread=thread, pinned=False)
    assert not (await Thread.get(id=thread.id)).pinned
    log = await entries()
    assert [(e.action, e.before, e.after) for e in log] == [
        ("thread.pin", {"pinned": False}, {"pinned": True}),
        ("thread.unpin", {"pinned": True}, {"pinned": False}),
    ]
    assert all(e.actor_id == fac.id and e.network_id == network.id for e in log)
    assert all(e.thread_id == thread.id for e in log)


async def test_locked_thread_shows_its_reason_where_the_reply_box_was(
    client: httpx.AsyncClient,
) -> None:
    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    member = await make_member(network)
    thread = await make_thread(network, member)
    await login(client, fac)
    r = await post_form(
        client, f"/n/dl/t/{thread.id}/lock", {"value": "1", "reason": "Answered: see summary"}
    )
    assert r.status_code == 303
    assert r.headers["location"] == url(thread)
    locked = await Thread.get(id=thread.id)
    assert locked.locked and locked.lock_reason == "Answered: see summary"
    # The facilitator sees the reason beside the tools, and may still reply.
    doc = page(await client.get(url(thread)))
    curation = doc.css_first(".curation-locked")
    assert curation is not None and "Answered: see summary" in curation.text()
    await client.post("/logout", data={"csrf_token": await csrf(client, url(thread))})
    await login(client, member)
    doc = page(await client.get(url(thread)))
    box = doc.css_first(".reply-box")
    assert box is not None
    assert "Replies are closed" in box.text()
    assert "Answered: see summary" in box.text()
    assert box.css_first("textarea") is None
    [entry] = await entries("thread.lock")
    assert entry.before == {"locked": False, "lock_reason": ""}
    assert entry.after == {"locked": True, "lock_reason": "Answered: see summary"}


async def test_unlocking_reopens_the_thread_and_clears_the_reason(
    client: httpx.AsyncClient,
) -> None:
    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    thread = await make_thread(network, fac)
    await curate.set_locked(
        viewer=await viewer_for(fac), thread=thread, locked=True, reason="Off topic"
    )
    await login(client, fac)
    r = await post_form(client, f"/n/dl/t/{thread.id}/lock", {"value": "0"}, url(thread))
    assert r.status_code == 303
    reopened = await Thread.get(id=thread.id)
    assert not reopened.locked and reopened.lock_reason == ""
    [entry] = await entries("thread.unlock")
    assert entry.before == {"locked": True, "lock_reason": "Off topic"}


async def test_an_overlong_lock_reason_is_named_and_kept(client: httpx.AsyncClient) -> None:
    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    thread = await make_thread(network, fac)
    await login(client, fac)
    reason = "because " * 100
    r = await post_form(client, f"/n/dl/t/{thread.id}/lock", {"value": "1", "reason": reason})
    assert r.status_code == 422
    field = page(r).css_first("#reason")
    assert field is not None and field.attributes["value"] == reason
    assert "the limit is 500" in r.text
    assert not (await Thread.get(id=thread.id)).locked
    assert await entries() == []


# Tags and titles.


async def test_tags_are_replaced_and_checked_as_for_a_new_thread(
    client: httpx.AsyncClient,
) -> None:
    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    thread = await make_thread(network, fac, tags="old-tag, governance")
    await login(client, fac)
    form = page(await client.get(f"/n/dl/t/{thread.id}/tags"))
    field = form.css_first("#tags")
    assert field is not None and field.attributes["value"] == "governance, old-tag"
    r = await post_form(client, f"/n/dl/t/{thread.id}/tags", {"tags": "Data Teams, governance"})
    assert r.status_code == 303
    assert sorted(t.slug for t in (await fresh(thread)).tags) == ["data-teams", "governance"]
    [entry] = await entries("thread.tags")
    assert entry.before == {"tags": ["governance", "old-tag"]}
    assert entry.after == {"tags": ["data-teams", "governance"]}
    assert await Change.filter(kind="thread", object_id=thread.id).count() == 2


@pytest.mark.parametrize(
    ("tags", "message"),
    [(",".join(f"t{i}" for i in range(9)), "at most 8 tags")],
)
async def test_bad_tags_are_named_and_kept(
    client: httpx.AsyncClient, tags: str, message: str
) -> None:
    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    thread = await make_thread(network, fac, tags="keep")
    await login(client, fac)
    r = await post_form(client, f"/n/dl/t/{thread.id}/tags", {"tags": tags})
    assert r.status_code == 422
    assert message in r.text
    field = page(r).css_first("#tags")
    assert field is not None and field.attributes["value"] == tags
    assert [t.slug for t in (await fresh(thread)).tags] == ["keep"]


async def test_removing_every_tag_is_allowed(db: str) -> None:
    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    thread = await make_thread(network, fac, tags="a, b")
    await curate.set_tags(viewer=await viewer_for(fac), thread=thread, tags="")
    assert list((await fresh(thread)).tags) == []


async def test_renaming_changes_title_and_slug_and_old_links_redirect(
    client: httpx.AsyncClient,
) -> None:
    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    thread = await make_thread(network, fac, title="Data team?")
    old_url = url(thread)
    await login(client, fac)
    r = await post_form(
        client, f"/n/dl/t/{thread.id}/rename", {"title": "  How is your data team structured? "}
    )
    assert r.status_code == 303
    renamed = await Thread.get(id=thread.id)
    assert renamed.title == "How is your data team structured?"
    assert renamed.slug == "how-is-your-data-team-structured"
    assert r.headers["location"] == f"/n/dl/t/{thread.id}-how-is-your-data-team-structured"
    moved = await client.get(old_url)
    assert moved.status_code == 301
    assert moved.headers["location"] == r.headers["location"]
    [entry] = await entries("thread.rename")
    assert entry.before == {"title": "Data team?"}
    assert entry.after == {"title": "How is your data team structured?"}


@pytest.mark.parametrize("title", ["", "   ", "x" * 201])
async def test_a_bad_title_is_named_and_kept(client: httpx.AsyncClient, title: str) -> None:
    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    thread = await make_thread(network, fac, title="Original")
    await login(client, fac)
    r = await post_form(client, f"/n/dl/t/{thread.id}/rename", {"title": title})
    assert r.status_code == 422
    doc = page(r)
    assert doc.css_first(".error-summary") is not None
    field = doc.css_first("#title")
    assert field is not None and field.attributes["value"] == title
    assert (await Thread.get(id=thread.id)).title == "Original"


# Moving.


async def test_move_form_lists_only_the_networks_the_viewer_facilitates(
    client: httpx.AsyncClient,
) -> None:
    here = await make_network("here")
    there = await make_network("there", name="There")
    secret = await make_network("secret", name="Secret", visibility=Visibility.MEMBERS)
    await make_network("elsewhere", name="Elsewhere")
    fac = await make_member(here, role=Role.FACILITATOR)
    await make_member(there, fac, role=Role.FACILITATOR)
    await make_member(secret, fac, role=Role.FACILITATOR)
    member_only = await make_network("joined", name="Joined")
    await make_member(member_only, fac)
    thread = await make_thread(here, fac)
    await login(client, fac)
    doc = page(await client.get(f"/n/here/t/{thread.id}/move"))
    options = [o.attributes["value"] for o in doc.css("#network option")]
    assert options == ["secret", "there"]


async def test_moving_a_thread_redirects_its_links_and_tells_search(
    client: httpx.AsyncClient,
) -> None:
    here = await make_network("here")
    there = await make_network("there")
    fac = await make_member(here, role=Role.FACILITATOR)
    await make_member(there, fac, role=Role.FACILITATOR)
    thread = await make_thread(here, fac)
    reply = await make_reply(thread, fac)
    await login(client, fac)
    old_url = url(thread)
    r = await post_form(client, f"/n/here/t/{thread.id}/move", {"network": "there"})
    assert r.status_code == 303
    assert r.headers["location"] == f"/n/there/t/{thread.id}-{thread.slug}"
    assert (await Thread.get(id=thread.id)).network_id == there.id
    old = await client.get(old_url)
    assert old.status_code == 301 and old.headers["location"] == r.headers["location"]
    permalink = await client.get(f"/n/here/p/{reply.id}")
    assert permalink.status_code == 301
    assert permalink.headers["location"] == f"{r.headers['location']}#p{reply.id}"
    latest = await Change.filter(kind="thread").order_by("-id").first()
    assert latest is not None and latest.object_id == thread.id
    [entry] = await entries("thread.move")
    assert (entry.before, entry.after) == ({"network": "here"}, {"network": "there"})
    assert entry.network_id == there.id


async def test_moving_into_a_network_the_viewer_does_not_facilitate_is_refused(
    client: httpx.AsyncClient,
) -> None:
    here = await make_network("here")
    joined = await make_network("joined", name="Joined")
    secret = await make_network("secret", visibility=Visibility.MEMBERS)
    fac = await make_member(here, role=Role.FACILITATOR)
    await make_member(joined, fac)
    thread = await make_thread(here, fac)
    await login(client, fac)
    r = await post_form(client, f"/n/here/t/{thread.id}/move", {"network": "joined"})
    assert r.status_code == 403
    assert "networks you facilitate" in r.text or "network you facilitate" in r.text
    for unknown in ("secret", "nowhere", "", "here"):
        r = await post_form(client, f"/n/here/t/{thread.id}/move", {"network": unknown})
        assert r.status_code == 422, unknown
        assert "secret" not in page(r).css_first("main").text().lower()
    assert (await Thread.get(id=thread.id)).network_id == here.id
    assert await entries() == []
    with pytest.raises(PermissionDenied):
        await curate.move_thread(viewer=await viewer_for(fac), thread=thread, to=secret)


# Merging.


async def test_target_may_be_given_by_address_or_number() -> None:
    assert target_id("123") == 123
    assert target_id(" #123 ") == 123
    assert target_id("/n/data-leaders/t/123-how-is-your-data-team") == 123
    assert target_id("https://forum.example.org/n/dl/t/123-title#p456") == 123
    assert target_id("http://localhost:8000/n/dl/t/123") == 123
    assert target_id("/n/dl/t/123-title?page=2") == 123
    for bad in ("", "abc", "1234567890", "/n/dl/p/123", "-1", "12 34", "/n/dl/t/x-123"):
        assert target_id(bad) is None, bad


async def _merge_world() -> tuple[Network, Any, Thread, Thread, list[Post], list[Post]]:
    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    alice = await make_member(network)
    target = await make_thread(network, alice, title="Data teams", tags="teams")
    duplicate = await make_thread(network, alice, title="Data team structure?", tags="structure")
    t1 = await make_reply(target, alice, "target reply 1")
    d1 = await make_reply(duplicate, fac, "dup reply 1")
    t2 = await make_reply(target, fac, "target reply 2")
    d2 = await make_reply(duplicate, alice, "dup reply to reply", parent=d1)
    # Give each post its own time so the order is certain.
    start = utcnow() - timedelta(hours=10)
    openings = {
        p.thread_id: p
        for p in await Post.filter(thread_id__in=[target.id, duplicate.id]).order_by("id")
        if p.parent_id is None and p.body.startswith("Hub")
    }
    order = [openings[target.id], openings[duplicate.id], t1, d1, t2, d2]
    for i, post in enumerate(order):
        await Post.filter(id=post.id).update(created_at=start + timedelta(hours=i))
    return (
        network,
        fac,
        target,
        duplicate,
        [openings[target.id], t1, t2],
        [
            openings[duplicate.id],
            d1,
            d2,
        ],
    )


async def test_merging_moves_posts_in_time_order_and_removes_the_duplicate(db: str) -> None:
    network, fac, target, duplicate, _, dup_posts = await _merge_world()
    old = await ThreadRedirect.create(old_thread_id=99999, thread_id=duplicate.id)
    await set_summary(duplicate, fac.id, "Hub and spoke came up most.")
    await Change.all().delete()
    merged = await curate.merge_threads(
        viewer=await viewer_for(fac), duplicate=duplicate, into=target
    )
    assert merged.id == target.id
    assert not await Thread.exists(id=duplicate.id)
    bodies = [p.body for p in await Post.filter(thread_id=target.id).order_by("created_at", "id")]
    assert bodies == [
        "Hub and spoke, or centralised?",
        "Hub and spoke, or centralised?",
        "target reply 1",
        "dup reply 1",
        "target reply 2",
        "dup reply to reply",
    ]
    d2 = await Post.get(id=dup_posts[2].id)
    assert d2.parent_id == dup_posts[1].id
    after = await fresh(target)
    assert after.reply_count == 5
    latest = await Post.filter(thread_id=target.id).order_by("-created_at").first()
    assert latest is not None
    assert after.last_activity_at >= latest.created_at
    assert sorted(t.slug for t in after.tags) == ["structure", "teams"]
    summary = await Summary.get(thread_id=target.id)
    assert summary.body == "Hub and spoke came up most."
    assert (await ThreadRedirect.get(old_thread_id=duplicate.id)).thread_id == target.id
    assert (await ThreadRedirect.get(id=old.id)).thread_id == target.id
    changes = {(c.kind, c.object_id) for c in await Change.all()}
    assert {("post", p.id) for p in dup_posts} <= changes
    assert ("thread", target.id) in changes
    assert ("summary", duplicate.id) in changes
    [entry] = await entries("thread.merge")
    assert entry.before == {
        "thread_id": duplicate.id,
        "title": "Data team structure?",
        "network": "dl",
    }
    assert entry.after == {"thread_id": target.id, "title": "Data teams", "network": "dl"}
    assert (entry.thread_id, entry.network_id, entry.actor_id) == (target.id, network.id, fac.id)


async def test_merging_keeps_the_targets_summary_and_logs_the_dropped_one(db: str) -> None:
    _, fac, target, duplicate, _, _ = await _merge_world()
    await set_summary(target, fac.id, "The target's own summary.")
    await set_summary(duplicate, fac.id, "The duplicate's summary.")
    await curate.merge_threads(viewer=await viewer_for(fac), duplicate=duplicate, into=target)
    assert [s.body for s in await Summary.all()] == ["The target's own summary."]
    [entry] = await entries("thread.merge")
    assert entry.before["dropped_summary"] == "The duplicate's summary."


async def test_a_thread_cannot_be_merged_into_itself(db: str) -> None:
    _, fac, target, _, _, _ = await _merge_world()
    with pytest.raises(ValidationError):
        await curate.merge_threads(viewer=await viewer_for(fac), duplicate=target, into=target)


async def test_merging_through_the_form_confirms_and_then_redirects_old_links(
    client: httpx.AsyncClient,
) -> None:
    _, fac, target, duplicate, _, dup_posts = await _merge_world()
    dup_url = url(duplicate)
    await login(client, fac)
    form = f"/n/dl/t/{duplicate.id}/merge"
    r = await post_form(client, form, {"target": f"http://testserver{url(target)}"})
    assert r.status_code == 200
    confirm = page(r)
    main = confirm.css_first("main")
    assert main is not None
    assert "Data team structure?" in main.text() and "Data teams" in main.text()
    hidden = confirm.css_first('input[name="target"]')
    assert hidden is not None and hidden.attributes["value"] == str(target.id)
    assert await Thread.exists(id=duplicate.id)  # nothing happens before the confirmation
    r = await post_form(client, form, {"target": str(target.id), "confirm": "1"})
    assert r.status_code == 303
    assert r.headers["location"] == url(target)
    old = await client.get(dup_url)
    assert old.status_code == 301 and old.headers["location"] == url(target)
    permalink = await client.get(f"/n/dl/p/{dup_posts[1].id}")
    assert permalink.status_code == 303
    assert permalink.headers["location"] == f"{url(target)}#p{dup_posts[1].id}"
    doc = page(await client.get(url(target)))
    assert len(doc.css("li.post")) == 6


async def test_merge_form_names_each_problem_and_keeps_the_input(
    client: httpx.AsyncClient,
) -> None:
    _, fac, target, duplicate, _, _ = await _merge_world()
    other = await make_network("other")
    elsewhere = await make_thread(other, await make_member(other))
    secret = await make_network("secret", visibility=Visibility.MEMBERS)
    hidden = await make_thread(secret, await make_member(secret), title="Hidden words")
    await login(client, fac)
    form = f"/n/dl/t/{duplicate.id}/merge"
    cases = [
        ("not a thread", 422, "Give the address"),
        ("", 422, "Give the address"),
        ("999999", 422, "no thread at that address"),
        (str(hidden.id), 422, "no thread at that address"),
        (url(duplicate), 422, "That is this thread"),
        (url(elsewhere), 403, "network you facilitate"),
    ]
    for value, status, message in cases:
        r = await post_form(client, form, {"target": value, "confirm": "1"})
        assert r.status_code == status, value
        assert message in r.text, value
        assert "Hidden words" not in r.text
        field = page(r).css_first("#target")
        assert field is not None and field.attributes["value"] == value
    assert await Thread.filter(id__in=[target.id, duplicate.id]).count() == 2
    assert await entries() == []


async def test_merged_posts_are_found_under_the_target(db: str, tmp_path: Path) -> None:
    network, fac, target, duplicate, _, _ = await _merge_world()
    await set_summary(duplicate, fac.id, "quokkasummary conclusions")
    await Post.filter(thread_id=duplicate.id, body="dup reply 1").update(
        body_text="wombatword reply"
    )
    index = tmp_path / "index"
    await catch_up(index)
    search = SearchService(index)
    try:
        before = await search.search("wombatword", network_ids=[network.id])
        assert [h.thread_id for h in before.hits] == [duplicate.id]
        await curate.merge_threads(viewer=await viewer_for(fac), duplicate=duplicate, into=target)
        await catch_up(index)
        after = await search.search("wombatword", network_ids=[network.id])
        assert [h.thread_id for h in after.hits] == [target.id]
        summary = await search.search("quokkasummary", network_ids=[network.id])
        assert [h.thread_id for h in summary.hits] == [target.id]
    finally:
        search.close()


# The audit log.


async def test_an_action_and_its_audit_entry_are_one_transaction(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    thread = await make_thread(network, fac, title="Original")

    async def broken(**kwargs: Any) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(audit_services, "record", broken)
    with pytest.raises(RuntimeError):
        await curate.rename_thread(viewer=await viewer_for(fac), thread=thread, title="New")
    assert (await Thread.get(id=thread.id)).title == "Original"


async def test_recording_an_unknown_action_is_a_programming_error(db: str) -> None:
    with pytest.raises(ValueError, match="unknown audit action"):
        from tortoise.transactions import in_transaction

        async with in_transaction() as conn:
            await audit_services.record(actor=None, action="thread.explode", using=conn)


async def _log_some(n: int) -> tuple[Any, Any]:
    network = await make_network()
    fac = await make_member(network, role=Role.FACILITATOR)
    thread = await make_thread(network, fac, title="Thread 0")
    viewer = await viewer_for(fac)
    for i in range(n):
        await curate.set_pinned(viewer=viewer, thread=thread, pinned=i % 2 == 0)
    return fac, thread


async def test_audit_log_is_for_admins_only(client: httpx.AsyncClient) -> None:
    fac, _ = await _log_some(1)
    assert (await client.get("/admin/audit")).status_code == 404
    await login(client, fac)
    assert (await client.get("/admin/audit")).status_code == 404


async def test_audit_log_reads_newest_first_and_filters_by_action(
    client: httpx.AsyncClient,
) -> None:
    from tests.factories import make_user

    fac, thread = await _log_some(3)  # pin, unpin, pin
    await curate.rename_thread(viewer=await viewer_for(fac), thread=thread, title="Renamed")
    await login(client, await make_user("boss", is_admin=True))
    doc = page(await client.get("/admin/audit"))
    rows = doc.css("table.audit tbody tr")
    actions = [r.css_first("code").text() for r in rows]  # type: ignore[union-attr]
    assert actions == ["thread.rename", "thread.pin", "thread.unpin", "thread.pin"]
    first = rows[0].text()
    assert fac.display_name in first and "Renamed" in first and "Thread 0" in first
    doc = page(await client.get("/admin/audit?action=thread.unpin"))
    assert [r.css_first("code").text() for r in doc.css("table.audit tbody tr")] == [  # type: ignore[union-attr]
        "thread.unpin"
    ]
    selected = doc.css_first("#action option[selected]")
    assert selected is not None and selected.attributes["value"] == "thread.unpin"
    for odd in ("nonsense", "%00", "x" * 3000):
        r = await client.get("/admin/audit", params={"action": odd, "page": odd})
        assert r.status_code == 200
        assert len(page(r).css("table.audit tbody tr")) == 4


async def test_audit_log_pages_keep_the_filter_and_queries_do_not_grow(
    client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    from tests.factories import make_user

    await login(client, await make_user("boss", is_admin=True))
    await _log_some(2)
    count_queries.statements.clear()
    assert (await client.get("/admin/audit?action=thread.pin")).status_code == 200
    few = count_queries.count
    await _log_some(110)
    count_queries.statements.clear()
    r = await client.get("/admin/audit?action=thread.pin")
    assert r.status_code == 200
    assert count_queries.count == few, count_queries.statements
    assert few <= 8, count_queries.statements
    assert len(page(r).css("table.audit tbody tr")) == 50
    nxt = page(r).css_first('a[rel="next"]')
    assert nxt is not None and nxt.attributes["href"] == "/admin/audit?action=thread.pin&page=2"
    last = page(await client.get("/admin/audit?page=99&action=thread.pin"))
    assert "Page 2 of 2" in last.text()
    assert len(last.css("table.audit tbody tr")) == 56 - 50


async def test_audit_log_shows_entries_whose_actor_and_thread_are_gone(
    client: httpx.AsyncClient,
) -> None:
    from tortoise.transactions import in_transaction

    from tests.factories import make_user

    _, fac, target, duplicate, _, _ = await _merge_world()
    await curate.merge_threads(viewer=await viewer_for(fac), duplicate=duplicate, into=target)
    async with in_transaction() as conn:
        await audit_services.record(
            actor=None,
            action="thread.rename",
            network_id=987654,
            thread_id=duplicate.id,
            before={"title": "Old"},
            after={"title": "New"},
            using=conn,
        )
    await login(client, await make_user("boss", is_admin=True))
    r = await client.get("/admin/audit")
    assert r.status_code == 200
    newest, merge = page(r).css("table.audit tbody tr")
    assert "(a deleted account)" in newest.text()
    assert "since merged or removed" in newest.text()
    assert "network #987654" in newest.text()
    assert "Data team structure?" in merge.text() and "Data teams" in merge.text()
    link = merge.css_first(f'a[href="{url(target)}"]')
    assert link is not None
