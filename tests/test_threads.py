"""Threads and posts, through the services: ordering, history, soft delete, refusals."""

from __future__ import annotations

import pytest

from forum.config import LimitSettings
from forum.errors import NotFound, PermissionDenied, ValidationError
from forum.networks.models import Role, Visibility
from forum.permissions import viewer_for
from forum.threads import curation as curate
from forum.threads import queries, reading, services
from forum.threads.models import Post, PostRevision, Thread
from tests.factories import make_member, make_network, make_reply, make_thread, make_user


async def test_reply_to_reply_is_nested_under_its_parent(db: str) -> None:
    network = await make_network()
    alice = await make_member(network)
    thread = await make_thread(network, alice)
    a = await make_reply(thread, alice, "A")
    b = await make_reply(thread, alice, "B")
    a1 = await make_reply(thread, alice, "A1", parent=a)
    a1x = await make_reply(thread, alice, "A1x", parent=a1)
    a2 = await make_reply(thread, alice, "A2", parent=a)
    nodes = await reading.thread_posts(thread.id)
    order = [n.post.body_html for n in nodes]
    assert order == [
        f"<p>{text}</p>\n"
        for text in ("Hub and spoke, or centralised?", "A", "A1", "A1x", "A2", "B")
    ]
    depths = {n.post.id: n.depth for n in nodes}
    assert (depths[a.id], depths[a1.id], depths[a1x.id], depths[a2.id], depths[b.id]) == (
        0,
        1,
        2,
        1,
        0,
    )


async def test_replies_deeper_than_four_levels_sit_at_the_fourth_with_their_parent(db: str) -> None:
    network = await make_network()
    alice = await make_member(network)
    thread = await make_thread(network, alice)
    parent = None
    for i in range(7):
        parent = await make_reply(thread, alice, f"level {i}", parent=parent)
    nodes = await reading.thread_posts(thread.id)
    deepest = nodes[-1]
    assert deepest.depth == 6
    assert deepest.shown_depth == reading.MAX_DEPTH
    assert deepest.flattened
    assert deepest.parent is not None and deepest.parent.body_html == "<p>level 5</p>\n"


def test_conversation_handles_a_chain_of_thousands_without_recursion() -> None:
    posts = []
    for i in range(5000):
        p = Post(id=i + 1, parent_id=i if i else None, body=str(i))
        posts.append(p)
    nodes = reading.conversation(posts)
    assert len(nodes) == 5000
    assert nodes[-1].depth == 4999


async def test_thread_keeps_counts_and_latest_activity(db: str) -> None:
    network = await make_network()
    alice = await make_member(network)
    thread = await make_thread(network, alice)
    reply = await make_reply(thread, alice)
    fresh = await Thread.get(id=thread.id)
    assert fresh.reply_count == 1
    assert fresh.last_activity_at == reply.created_at


async def test_edit_keeps_every_version(db: str) -> None:
    network = await make_network()
    alice = await make_member(network)
    thread = await make_thread(network, alice)
    post = await make_reply(thread, alice, "first version")
    viewer = await viewer_for(alice)
    await services.edit_post(viewer=viewer, post=post, network=network, body="second *version*")
    await services.edit_post(viewer=viewer, post=post, network=network, body="third version")
    fresh = await Post.get(id=post.id)
    assert fresh.body == "third version"
    assert fresh.edited_at is not None
    history = await queries.post_history(fresh)
    assert [r.body for r in history] == ["first version", "second *version*"]
    assert "<em>version</em>" in history[1].body_html


async def test_members_cannot_edit_other_peoples_posts_but_facilitators_can(db: str) -> None:
    network = await make_network()
    alice = await make_member(network)
    bob = await make_member(network)
    fac = await make_member(network, role=Role.FACILITATOR)
    thread = await make_thread(network, alice)
    post = await make_reply(thread, alice, "mine")
    with pytest.raises(PermissionDenied):
        await services.edit_post(
            viewer=await viewer_for(bob), post=post, network=network, body="hijacked"
        )
    await services.edit_post(
        viewer=await viewer_for(fac), post=post, network=network, body="tidied by facilitator"
    )
    revision = await PostRevision.get(post_id=post.id)
    assert revision.editor_id == alice.id
    assert (await Post.get(id=post.id)).edited_by_id == fac.id


async def test_soft_delete_keeps_replies_in_place(db: str) -> None:
    network = await make_network()
    alice = await make_member(network)
    bob = await make_member(network)
    thread = await make_thread(network, alice)
    parent = await make_reply(thread, alice, "to be deleted")
    child = await make_reply(thread, bob, "answer", parent=parent)
    await services.delete_post(viewer=await viewer_for(alice), post=parent, network=network)
    nodes = await reading.thread_posts(thread.id)
    by_id = {n.post.id: n for n in nodes}
    assert by_id[parent.id].post.deleted
    assert by_id[child.id].depth == 1
    assert by_id[child.id].parent is not None and by_id[child.id].parent.id == parent.id
    assert (await Thread.get(id=thread.id)).reply_count == 1


async def test_reply_to_a_post_of_another_thread_is_refused(db: str) -> None:
    network = await make_network()
    alice = await make_member(network)
    one = await make_thread(network, alice, title="One")
    two = await make_thread(network, alice, title="Two")
    other = await make_reply(two, alice)
    with pytest.raises(ValidationError) as exc:
        await make_reply(one, alice, parent=other)
    assert "not in this thread" in exc.value.errors["parent"]


async def test_locked_thread_refuses_members_but_not_facilitators(db: str) -> None:
    network = await make_network()
    alice = await make_member(network)
    fac = await make_member(network, role=Role.FACILITATOR)
    thread = await make_thread(network, alice)
    await curate.set_locked(viewer=await viewer_for(fac), thread=thread, locked=True)
    with pytest.raises(PermissionDenied, match="locked"):
        await make_reply(thread, alice)
    await make_reply(thread, fac, "closing note")


async def test_members_cannot_pin_or_lock(db: str) -> None:
    network = await make_network()
    alice = await make_member(network)
    thread = await make_thread(network, alice)
    with pytest.raises(PermissionDenied):
        await curate.set_pinned(viewer=await viewer_for(alice), thread=thread, pinned=True)


async def test_outsiders_cannot_write_in_members_only_networks(db: str) -> None:
    network = await make_network(visibility=Visibility.MEMBERS)
    outsider = await make_user()
    with pytest.raises(NotFound):
        await make_thread(network, outsider)
    public = await make_network()
    with pytest.raises(PermissionDenied):
        await make_thread(public, outsider)


@pytest.mark.parametrize(
    ("title", "body", "tags", "field"),
    [
        ("", "body", "", "title"),
        ("   \t ", "body", "", "title"),
        ("x" * 201, "body", "", "title"),
        ("Title", "", "", "body"),
        ("Title", "  \n ", "", "body"),
        ("Title", "x" * 50_001, "", "body"),
        ("Title", "body", ",".join(f"t{i}" for i in range(9)), "tags"),
    ],
)
async def test_bad_thread_input_names_the_field(
    db: str, title: str, body: str, tags: str, field: str
) -> None:
    network = await make_network()
    alice = await make_member(network)
    with pytest.raises(ValidationError) as exc:
        await services.create_thread(
            viewer=await viewer_for(alice),
            network=network,
            title=title,
            body=body,
            tags=tags,
            limits=LimitSettings(),
        )
    assert field in exc.value.errors
    assert await Thread.all().count() == 0


async def test_tags_are_normalised_and_shared(db: str) -> None:
    network = await make_network()
    alice = await make_member(network)
    t1 = await make_thread(network, alice, tags="Data Teams, governance, data teams")
    t2 = await make_thread(network, alice, title="Other", tags="governance")
    await t1.fetch_related("tags")
    await t2.fetch_related("tags")
    assert sorted(t.slug for t in t1.tags) == ["data-teams", "governance"]
    assert [t.slug for t in t2.tags] == ["governance"]


async def test_markdown_is_stored_rendered(db: str) -> None:
    network = await make_network()
    alice = await make_member(network)
    thread = await make_thread(network, alice, body="**bold** <script>alert(1)</script>")
    post = await Post.get(thread_id=thread.id)
    assert "<strong>bold</strong>" in post.body_html
    assert "<script>" not in post.body_html
    assert "&lt;script&gt;" in post.body_html


async def test_the_pages_post_rows_say_what_the_models_do(db: str) -> None:
    """`reading.thread_posts` reads plain rows; every field the page shows matches the model,
    times included (aware, equal), on both databases."""
    from forum.timeutil import utcnow
    from tests.factories import make_org

    network = await make_network()
    alice = await make_member(network, await make_user("alice", organisation=await make_org()))
    bob = await make_member(network, await make_user("bob"))
    fac = await make_member(network, await make_user("fac"), role=Role.FACILITATOR)
    thread = await make_thread(network, alice)
    hidden = await make_reply(thread, bob, "hidden one")
    redacted = await make_reply(thread, alice, "redacted one", parent=hidden)
    edited = await make_reply(thread, bob, "edited one")
    now = utcnow()
    await Post.filter(id=hidden.id).update(
        hidden=True, hidden_at=now, hidden_by_id=fac.id, hidden_note="off topic"
    )
    await Post.filter(id=redacted.id).update(redacted_at=now, redacted_by_id=fac.id)
    await Post.filter(id=edited.id).update(edited_at=now, deleted=True, deleted_at=now)
    rows = {n.post.id: n.post for n in await reading.thread_posts(thread.id)}
    models = await Post.filter(thread_id=thread.id).select_related(
        "author__organisation", "hidden_by", "redacted_by"
    )
    assert sorted(rows) == sorted(m.id for m in models)
    for model in models:
        row = rows[model.id]
        for name in (
            "thread_id",
            "parent_id",
            "author_id",
            "body_html",
            "created_at",
            "edited_at",
            "deleted",
            "hidden",
            "hidden_note",
            "hidden_at",
            "hidden_by_id",
            "redacted_at",
            "redacted_by_id",
            "withdrawn",
        ):
            assert getattr(row, name) == getattr(model, name), name
        assert row.created_at.tzinfo is not None
        assert (row.author.username, row.author.display_name) == (
            model.author.username,
            model.author.display_name,
        )
        org = model.author.organisation
        assert (row.author.organisation and row.author.organisation.name) == (org and org.name)
        for who in ("hidden_by", "redacted_by"):
            person, user = getattr(row, who), getattr(model, who)
            assert (person and person.display_name) == (user and user.display_name)
    assert rows[hidden.id].hidden_by is not None and rows[hidden.id].withdrawn
