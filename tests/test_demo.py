"""The demo forum that `make run` loads on first run (`forum demo`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tortoise.models import Model

from forum import markdown
from forum.accounts import services as accounts
from forum.accounts.models import Organisation, User
from forum.changes import Change
from forum.demo import DEMO_PASSWORD, content, is_empty, load_demo
from forum.demo.loader import OPENED_DAYS_AGO
from forum.networks.models import Membership, Network, Role, Visibility
from forum.threads import reading
from forum.threads.models import Post, PostRevision, Summary, Tag, Thread
from forum.timeutil import utcnow

USERNAMES = {user.username for user in content.USERS}
NETWORKS = {network.slug: network for network in content.NETWORKS}


def _writers(network: str) -> set[str]:
    demo = NETWORKS[network]
    admins = {user.username for user in content.USERS if user.is_admin}
    return {demo.facilitator, *demo.members} | admins


# --- the content, as data ------------------------------------------------------------------


def test_every_name_in_the_content_refers_to_something_in_it() -> None:
    organisations = {org.slug for org in content.ORGANISATIONS}
    assert len(USERNAMES) == len(content.USERS)
    assert {user.organisation for user in content.USERS} <= organisations
    for network in content.NETWORKS:
        assert {network.facilitator, *network.members} <= USERNAMES
    for thread in content.THREADS:
        assert thread.network in NETWORKS, thread.title
        keys = [post.key for post in thread.posts]
        assert len(keys) == len(set(keys)), thread.title
        for post in thread.posts:
            assert post.author in _writers(thread.network), (thread.title, post.key)
            if post.edit and post.edit.editor:
                assert post.edit.editor == NETWORKS[thread.network].facilitator
        if thread.summary:
            assert thread.summary.author == NETWORKS[thread.network].facilitator, thread.title


def test_every_mention_names_a_demo_user() -> None:
    bodies = [post.body for thread in content.THREADS for post in thread.posts]
    bodies += [post.edit.body for thread in content.THREADS for post in thread.posts if post.edit]
    bodies += [thread.summary.body for thread in content.THREADS if thread.summary]
    mentioned = {name for body in bodies for name in markdown.render(body).mentions}
    assert mentioned
    assert mentioned <= USERNAMES


def test_each_thread_opens_with_its_first_post_and_every_reply_follows_its_parent() -> None:
    for thread in content.THREADS:
        opening, *replies = thread.posts
        assert opening.reply_to is None and opening.hours_after == 0, thread.title
        hours = {post.key: post.hours_after for post in thread.posts}
        for post in replies:
            assert post.hours_after > 0, (thread.title, post.key)
            if post.reply_to is not None:
                assert hours[post.reply_to] < post.hours_after, (thread.title, post.key)


def test_everything_in_the_content_happened_within_the_last_six_months() -> None:
    for thread in content.THREADS:
        assert 0 < thread.days_ago <= 180 < OPENED_DAYS_AGO, thread.title
        times = [post.hours_after for post in thread.posts]
        times += [post.edit.hours_after for post in thread.posts if post.edit]
        times += [p.deleted_hours_after for p in thread.posts if p.deleted_hours_after]
        times += [thread.summary.hours_after] if thread.summary else []
        assert max(times) < thread.days_ago * 24, thread.title
        for post in thread.posts:
            if post.edit:
                assert post.edit.hours_after > post.hours_after, (thread.title, post.key)
            if post.deleted_hours_after is not None:
                assert post.deleted_hours_after > post.hours_after, (thread.title, post.key)


def test_each_network_has_three_to_five_threads_of_four_to_twelve_posts() -> None:
    for slug in NETWORKS:
        threads = [thread for thread in content.THREADS if thread.network == slug]
        assert 3 <= len(threads) <= 5, slug
        for thread in threads:
            assert 4 <= len(thread.posts) <= 12, thread.title


# --- loading it ----------------------------------------------------------------------------


async def test_is_empty_until_the_demo_is_loaded(db: str) -> None:
    assert await is_empty()
    await load_demo()
    assert not await is_empty()


async def test_the_demo_s_emails_link_to_the_site_it_is_loaded_for(db: str) -> None:
    from forum.config import SiteSettings
    from forum.mail.models import OutboundEmail

    await load_demo(SiteSettings(base_url="http://127.0.0.1:8010"))
    bodies = [m.body_text for m in await OutboundEmail.all()]
    assert bodies and all("http://127.0.0.1:8000" not in b for b in bodies)
    assert any("http://127.0.0.1:8010/n/" in b for b in bodies)


async def test_load_demo_fills_every_network_with_threads_and_a_facilitator(db: str) -> None:
    await load_demo()
    networks = await Network.all()
    assert {network.slug for network in networks} == set(NETWORKS)
    assert any(network.visibility == Visibility.MEMBERS for network in networks)
    assert any(network.visibility == Visibility.PUBLIC for network in networks)
    for network in networks:
        assert await Thread.filter(network_id=network.id).count() >= 3, network.slug
        assert await Membership.exists(network_id=network.id, role=Role.FACILITATOR)
    admin = await User.get(username="admin")
    assert admin.is_admin
    assert await Organisation.all().count() == len(content.ORGANISATIONS) >= 12
    assert await User.all().count() == len(content.USERS)
    assert await Post.all().count() == sum(len(thread.posts) for thread in content.THREADS)
    assert await Tag.exists()


async def test_named_threads_have_nested_replies_and_summaries(db: str) -> None:
    await load_demo()
    for network, title in [
        ("data-leaders", content.DATA_TEAM_THREAD),
        ("data-science", content.PACKAGES_THREAD),
    ]:
        thread = await Thread.get(title=title, network__slug=network)
        nodes = await reading.thread_posts(thread.id)
        assert max(node.depth for node in nodes) >= 2, title
        summary = await Summary.get(thread_id=thread.id)
        assert summary.body_html.strip()
        assert summary.body_text.strip()
    data_team = await Thread.get(title=content.DATA_TEAM_THREAD)
    summary = await Summary.get(thread_id=data_team.id)
    assert "hub and spoke, centralised and federated" in summary.body_text


async def test_summaries_are_by_facilitators_and_logged_for_search(db: str) -> None:
    await load_demo()
    summaries = await Summary.all().select_related("thread")
    assert len(summaries) >= len(NETWORKS)
    for summary in summaries:
        assert await Membership.exists(
            network_id=summary.thread.network_id, user_id=summary.author_id, role=Role.FACILITATOR
        )
    logged = await Change.filter(kind="summary").values_list("object_id", flat=True)
    # Summary changes name the thread (that is how the indexer reads them); a revised summary
    # is logged once per version.
    assert sorted(set(logged)) == sorted(summary.thread_id for summary in summaries)


async def test_demo_gives_facilitators_work_a_stale_summary_a_revised_one_and_a_flag(
    db: str,
) -> None:
    from forum.knowledge.queries import replies_since_review
    from forum.moderation.models import Flag, FlagStatus
    from forum.threads.models import SummaryRevision

    await load_demo()
    summarised: list[int] = [
        int(i) for i in await Summary.all().values_list("thread_id", flat=True)
    ]
    assert list((await replies_since_review(summarised)).values()) == [2]
    assert await SummaryRevision.all().count() == 1
    flag = await Flag.get(status=FlagStatus.OPEN).select_related("post__thread")
    assert flag.post.thread.title == content.DATA_TEAM_THREAD
    # A request to join a members-only network waits for its facilitator, who was emailed.
    from forum.mail.models import OutboundEmail
    from forum.networks.models import MembershipRequest, RequestStatus

    request = await MembershipRequest.get(status=RequestStatus.PENDING).select_related(
        "network", "user"
    )
    assert not request.network.is_public and request.user.username == "kwame.mensah"
    assert await OutboundEmail.filter(subject__contains="asks to join").count() == 1


async def test_demo_has_pinned_locked_edited_and_deleted_content(db: str) -> None:
    await load_demo()
    assert await Thread.filter(pinned=True).count() in (1, 2)
    assert await Thread.filter(locked=True).count() == 1
    edited = await Post.filter(edited_at__not_isnull=True)
    assert edited
    for post in edited:
        revisions = await PostRevision.filter(post_id=post.id)
        assert [revision.created_at for revision in revisions] == [post.created_at]
        assert revisions[0].body != post.body
    assert any(post.edited_by_id != post.author_id for post in edited)
    deleted = await Post.get(deleted=True)
    assert deleted.deleted_at is not None and deleted.deleted_at > deleted.created_at
    assert await Post.exists(parent_id=deleted.id)
    thread = await Thread.get(id=deleted.thread_id)
    live_replies = await Post.filter(thread_id=thread.id, deleted=False).count() - 1
    assert thread.reply_count == live_replies


async def test_demo_looks_alive_over_the_last_six_months(db: str) -> None:
    now = utcnow()
    await load_demo()
    threads = await Thread.all()
    for thread in threads:
        posts = await Post.filter(thread_id=thread.id).order_by("created_at", "id")
        assert posts[0].created_at == thread.created_at, thread.title
        assert thread.last_activity_at == posts[-1].created_at, thread.title
        by_id = {post.id: post for post in posts}
        for post in posts:
            assert now - timedelta(days=181) < post.created_at < now
            if post.parent_id is not None:
                assert by_id[post.parent_id].created_at < post.created_at
            if post.edited_at is not None:
                assert post.created_at < post.edited_at < now
    assert min(thread.created_at for thread in threads) < now - timedelta(days=150)
    assert max(thread.last_activity_at for thread in threads) > now - timedelta(days=7)
    for user in await User.all():
        assert user.created_at < min(thread.created_at for thread in threads)


async def test_logins_are_the_admin_then_a_facilitator_for_each_network(db: str) -> None:
    logins = await load_demo()
    assert logins[0].username == "admin" and logins[0].role == "admin"
    roles = {login.role for login in logins}
    for network in content.NETWORKS:
        assert f"facilitator of {network.name}" in roles
    assert {login.username for login in logins} == USERNAMES


async def test_demo_users_log_in_with_the_demo_password(db: str) -> None:
    logins = await load_demo()
    for login in logins:
        user = await accounts.authenticate(login=login.username, password=DEMO_PASSWORD)
        assert user is not None and user.username == login.username
    assert await accounts.authenticate(login="admin", password="not-the-password") is None


async def test_loading_twice_raises_and_changes_nothing(db: str) -> None:
    await load_demo()
    models: list[type[Model]] = [
        Organisation,
        User,
        Network,
        Membership,
        Thread,
        Post,
        PostRevision,
        Summary,
        Tag,
        Change,
    ]
    before = [await model.all().count() for model in models]
    with pytest.raises(RuntimeError, match="not empty"):
        await load_demo()
    assert [await model.all().count() for model in models] == before


async def test_demo_history_sends_no_mail_and_keeps_its_times(db: str) -> None:
    from datetime import timedelta

    from forum.notifications import emails
    from forum.notifications.models import Notification
    from forum.timeutil import utcnow

    await load_demo()
    assert await Notification.all().count() > 0
    assert await Notification.filter(email_pending=True).count() == 0
    # Most of what the demo notifies about happened days or months ago.
    old = await Notification.filter(created_at__lt=utcnow() - timedelta(days=1)).count()
    assert old > await Notification.all().count() // 2
    assert await emails.send_digests(site_name="Forum") == 0
