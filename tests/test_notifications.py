"""Following, unread, notifications, the emails they cause, digests and weeknotes, with mail
going through a real SMTP server on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from forum.accounts.models import User
from forum.config import Settings
from forum.knowledge import services as knowledge
from forum.mail.models import MailStatus, OutboundEmail
from forum.networks.models import Membership, Role, Visibility
from forum.notifications import emails, services, weeknotes
from forum.notifications.models import (
    DigestFrequency,
    FollowLevel,
    NetworkWatch,
    Notification,
    Preferences,
    WatchLevel,
    Weeknote,
    WeeknoteStatus,
)
from forum.permissions import viewer_for
from forum.threads.models import Post, Thread
from tests.conftest import QueryCounter
from tests.factories import (
    csrf,
    html,
    login,
    make_crowd,
    make_member,
    make_network,
    make_org,
    make_reply,
    make_thread,
    make_user,
)
from tests.mailbox import SmtpServer, body, deliver, smtp_settings

QUIET = timedelta(minutes=60)


@pytest.fixture
def settings(settings: Settings, smtp: SmtpServer) -> Settings:
    return smtp_settings(settings, smtp.port)


async def _kinds(user_id: int) -> list[str]:
    return [
        str(k)
        for k in await Notification.filter(user_id=user_id)
        .order_by("id")
        .values_list("kind", flat=True)
    ]


async def test_a_reply_notifies_and_emails_exactly_the_right_people(
    db: str, settings: Settings, smtp: SmtpServer
) -> None:
    dl = await make_network("dl")
    secret = await make_network("ig", visibility=Visibility.MEMBERS)
    alice = await make_member(dl, await make_user("alice"))  # starts the thread
    bob = await make_member(dl, await make_user("bob"))  # replies to Alice
    cara = await make_member(dl, await make_user("cara"))  # follows the thread by hand
    dan = await make_member(dl, await make_user("dan"))  # mentioned
    erin = await make_member(dl, await make_user("erin"))  # muted the thread
    thread = await make_thread(dl, alice, title="Data team structures", body="How?")
    await services.follow(user=cara, thread=thread, level=FollowLevel.FOLLOWING)
    await services.follow(user=erin, thread=thread, level=FollowLevel.MUTED)
    first = await Post.filter(thread_id=thread.id).order_by("id").first()
    assert first is not None
    reply = await make_reply(
        thread, bob, "Hub and spoke works. @dan @erin what do you think?", parent=first
    )
    assert await _kinds(alice.id) == ["reply"]
    assert await _kinds(cara.id) == ["reply"]
    assert await _kinds(dan.id) == ["mention"]
    assert await _kinds(erin.id) == []  # muted wins over a mention
    assert await _kinds(bob.id) == []  # never one's own post

    assert await emails.send_pending(quiet=QUIET) == 3
    assert await deliver(settings) == 3
    assert sorted(m["To"] for m in smtp.mailbox.messages) == [
        "alice@example.org",
        "cara@example.org",
        "dan@example.org",
    ]
    to_dan = smtp.mailbox.last_to("dan@example.org")
    assert "mentioned you" in to_dan["Subject"]
    assert f"#p{reply.id}" in body(to_dan) and "Hub and spoke works." in body(to_dan)
    assert to_dan["List-Unsubscribe"]

    # A busy thread: the next reply notifies, but emails nobody within the quiet period.
    await make_reply(thread, bob, "And another thought.")
    assert await emails.send_pending(quiet=QUIET) == 0
    assert await Notification.filter(user_id=alice.id).count() == 2

    # Someone who may not read a members-only network hears nothing from it.
    insider = await make_member(secret, await make_user("insider"))
    secret_thread = await make_thread(secret, insider, title="Quokka secrets", body="Hidden")
    await make_reply(secret_thread, insider, "@alice look at this quokka")
    assert await Notification.filter(user_id=alice.id, thread_id=secret_thread.id).count() == 0


async def test_replies_and_mentions_emails_can_be_turned_off(
    db: str, settings: Settings, smtp: SmtpServer
) -> None:
    dl = await make_network("dl")
    alice = await make_member(dl, await make_user("alice"))
    bob = await make_member(dl, await make_user("bob"))
    await services.set_preferences(
        user=alice,
        email_replies=False,
        email_mentions=True,
        digest=DigestFrequency.NEVER,
        weeknotes=True,
    )
    thread = await make_thread(dl, alice)
    await make_reply(thread, bob, "A reply for Alice")
    assert await emails.send_pending(quiet=QUIET) == 0
    assert await Notification.filter(user_id=alice.id).count() == 1  # still listed


async def test_removed_from_the_network_before_the_mail_goes(
    db: str, settings: Settings, smtp: SmtpServer
) -> None:
    secret = await make_network("ig", visibility=Visibility.MEMBERS)
    alice = await make_member(secret, await make_user("alice"))
    bob = await make_member(secret, await make_user("bob"))
    thread = await make_thread(secret, alice, title="Retention quokka")
    await make_reply(thread, bob, "quokka detail")
    assert await emails.send_pending(quiet=QUIET) == 1
    await Membership.filter(user_id=alice.id).delete()
    assert await deliver(settings) == 0
    assert smtp.mailbox.messages == []
    assert await OutboundEmail.filter(status=MailStatus.CANCELLED).count() == 1


async def test_watch_levels_and_summaries(db: str) -> None:
    dl = await make_network("dl")
    fac = await make_member(dl, await make_user("fac"), role=Role.FACILITATOR)
    keen = await make_member(dl, await make_user("keen"))
    quiet = await make_member(dl, await make_user("quiet"))
    await services.set_watch(user=keen, network=dl, level=WatchLevel.ALL)
    await services.set_watch(user=quiet, network=dl, level=WatchLevel.NOTHING)
    thread = await make_thread(dl, fac, title="New question")
    assert await _kinds(keen.id) == ["new-thread"]
    assert await _kinds(quiet.id) == []
    thread.network = dl
    await make_reply(thread, quiet, "I took part")
    await knowledge.write_summary(viewer=await viewer_for(fac), thread=thread, body="Concluded.")
    assert await _kinds(keen.id) == ["new-thread", "summary"]
    # "Nothing" wins over having taken part.
    assert "summary" not in await _kinds(quiet.id)


async def test_watchers_beyond_one_statement_s_parameters_are_told_or_not_as_one(
    db: str,
) -> None:
    """Who may be told is asked in parts: 33,000 watchers are more ids than PostgreSQL's
    driver takes in one statement (32,767). Here they have left the members-only network
    (their watch rows stay), so none of them is told; the member who watches is."""
    dl = await make_network("dl", visibility=Visibility.MEMBERS)
    fac = await make_member(dl, await make_user("fac"), role=Role.FACILITATOR)
    keen = await make_member(dl, await make_user("keen"))
    await services.set_watch(user=keen, network=dl, level=WatchLevel.ALL)
    ids = await (await make_crowd(33_000)).values_list("id", flat=True)
    await NetworkWatch.bulk_create(
        [NetworkWatch(network_id=dl.id, user_id=uid, level=WatchLevel.ALL) for uid in ids]
    )
    thread = await make_thread(dl, fac, title="New question")
    await knowledge.write_summary(viewer=await viewer_for(fac), thread=thread, body="Done.")
    assert await _kinds(keen.id) == ["new-thread", "summary"]
    assert await Notification.all().count() == 2


async def test_notification_pages_unread_and_follow_buttons(
    db: str, client: httpx.AsyncClient
) -> None:
    dl = await make_network("dl")
    alice = await make_member(dl, await make_user("alice"))
    bob = await make_member(dl, await make_user("bob"))
    thread = await make_thread(dl, alice, title="Budgets for data teams")
    reply = await make_reply(thread, bob, "Our budget is small.")
    await login(client, alice)
    home = await client.get("/")
    assert 'href="/notifications">Notifications <span class="count">1' in home.text
    page = await client.get("/notifications")
    assert "replied in" in page.text and "Budgets for data teams" in page.text
    # The listing shows one new post; the thread marks it and offers a jump to it.
    listing = await client.get("/n/dl")
    assert "1 new" in listing.text
    shown = await client.get(f"/n/dl/t/{thread.id}-{thread.slug}")
    assert f'href="#p{reply.id}">Jump to the first new post' in shown.text
    assert "post--new" in shown.text
    assert "You follow this thread" in shown.text
    # Seen: nothing new any more, and the notification is read.
    assert "new" not in (await client.get("/n/dl")).text.split("thread-list", 1)[1].split(
        "</ol>", 1
    )[0].replace("news", "")
    assert await Notification.filter(user_id=alice.id, read_at__isnull=True).count() == 0
    token = await csrf(client, "/")
    r = await client.post(
        f"/n/dl/t/{thread.id}/follow", data={"level": "muted", "csrf_token": token}
    )
    assert r.status_code == 303
    assert "You muted this thread" in (await client.get(f"/n/dl/t/{thread.id}-{thread.slug}")).text
    r = await client.post(
        f"/n/dl/t/{thread.id}/follow", data={"level": "sideways", "csrf_token": token}
    )
    assert r.status_code == 400
    r = await client.post("/notifications/read-all", data={"csrf_token": token})
    assert r.status_code == 303


async def test_notifications_of_one_kind_about_one_thread_are_one_line(
    db: str, client: httpx.AsyncClient
) -> None:
    dl = await make_network("dl", name="Data Leaders")
    alice = await make_member(dl, await make_user("alice", display_name="Alice"))
    people = {
        name: await make_member(dl, await make_user(name.lower(), display_name=name))
        for name in ("Bob", "Carol", "Dave", "Erin")
    }
    thread = await make_thread(dl, alice, title="Budgets for data teams")
    other = await make_thread(dl, alice, title="Hiring")
    first = await make_reply(thread, people["Bob"], "One.")
    for name in ("Carol", "Bob", "Dave", "Erin"):
        await make_reply(thread, people[name], f"From {name}.")
    await make_reply(thread, people["Carol"], "What do you think, @alice?")
    await make_reply(other, people["Bob"], "Me too.")
    await login(client, alice)
    page = html(await client.get("/notifications"))
    lines = [" ".join(li.text().split()) for li in page.css("li.notification")]
    assert len(lines) == 3, lines
    assert lines[0].startswith("New Bob replied in “Hiring”")
    assert lines[1].startswith("New Carol mentioned you in “Budgets for data teams”")
    assert "· 1 " not in lines[1]
    assert lines[2].startswith(
        "New Erin, Dave and 2 others replied in “Budgets for data teams” in Data Leaders"
        " · 5 replies"
    ), lines[2]
    # Opening the line reads all five and lands on the first of them; the mention stays new.
    form = page.css("li.notification form")[2]
    data = {i.attributes["name"]: i.attributes["value"] for i in form.css("input")}
    assert data["next"].endswith(f"#p{first.id}")
    r = await client.post(form.attributes["action"], data=data)
    assert r.status_code == 303 and r.headers["location"] == data["next"]
    unread = Notification.filter(user_id=alice.id, read_at__isnull=True)
    assert sorted(await unread.values_list("kind", flat=True)) == ["mention", "reply"]
    # Read now: one line still, opened at its newest post.
    page = html(await client.get("/notifications"))
    lines = [" ".join(li.text().split()) for li in page.css("li.notification")]
    assert lines[2].startswith("Erin, Dave and 2 others replied in"), lines
    # Someone else's ids in "with" change nothing.
    theirs = await Notification.create(
        user_id=people["Bob"].id, kind="reply", created_at=first.created_at
    )
    data["with"] = f"{theirs.id},x,99999999999"
    assert (await client.post(form.attributes["action"], data=data)).status_code == 303
    assert (await Notification.get(id=theirs.id)).read_at is None


async def test_preferences_page_keeps_choices(db: str, client: httpx.AsyncClient) -> None:
    user = await make_user("pat")
    await login(client, user)
    token = await csrf(client, "/account/notifications")
    r = await client.post(
        "/account/notifications",
        data={"email_mentions": "1", "digest": "daily", "csrf_token": token},
    )
    assert r.status_code == 303
    prefs = await Preferences.get(user_id=user.id)
    assert (prefs.email_replies, prefs.email_mentions, prefs.digest, prefs.weeknotes) == (
        False,
        True,
        DigestFrequency.DAILY,
        False,
    )
    page = await client.get("/account/notifications")
    assert 'id="digest-daily" name="digest" value="daily" checked' in page.text


async def test_digest_is_drafted_from_the_period_and_sent_once(
    db: str, settings: Settings, smtp: SmtpServer
) -> None:
    org = await make_org("Camden")
    dl = await make_network("dl", name="Data Leaders")
    secret = await make_network("ig", name="Info Gov", visibility=Visibility.MEMBERS)
    await make_member(dl, await make_user("reader", organisation=org))
    writer = await make_member(dl, await make_user("writer"))
    await make_member(secret, writer)
    await make_thread(dl, writer, title="Cloud contracts")
    await make_thread(secret, writer, title="Quokka incident")  # reader may not read it
    now = datetime.now(UTC)
    assert await emails.send_digests(site_name="Forum", now=now) >= 1
    assert await deliver(settings) >= 1
    digest = smtp.mailbox.last_to("reader@example.org")
    assert "weekly digest" in digest["Subject"]
    text = body(digest)
    assert "Cloud contracts" in text and "Quokka" not in text
    html = digest.get_body(preferencelist=("html",))
    assert html is not None and "Cloud contracts" in str(html.get_content())
    # Not again within the week.
    assert await emails.send_digests(site_name="Forum", now=now + timedelta(hours=1)) == 0


async def test_a_digest_sent_by_another_process_meanwhile_is_not_sent_again(db: str) -> None:
    """Two digest runs can overlap when one outlives its lease: each person's digest is
    claimed in its own transaction, so the second run skips those the first has sent."""
    from forum.mail.models import OutboundEmail
    from forum.notifications.models import Preferences

    dl = await make_network("dl", name="Data Leaders")
    reader = await make_member(dl, await make_user("reader"))
    await make_thread(dl, await make_member(dl, await make_user("writer")), title="Cloud")
    now = datetime.now(UTC)
    period = timedelta(days=7)
    # The other run sent it after this one read everyone's preferences.
    await Preferences.create(user_id=reader.id, digest_sent_at=now)
    sent = await emails._send_digest(reader, "weekly", period, now - period, now, "Forum")
    assert sent == 0
    assert await OutboundEmail.filter(kind="digest").count() == 0


async def test_weeknote_drafting_is_deterministic(db: str) -> None:
    org = await make_org("Hackney Council")
    dl = await make_network("dl", name="Data Leaders")
    fac = await make_member(dl, await make_user("fac", organisation=org), role=Role.FACILITATOR)
    member = await make_member(dl, await make_user("mem", organisation=org))
    start = datetime(2026, 11, 2, tzinfo=UTC)
    end = start + timedelta(days=7)
    answered = await make_thread(dl, fac, title="Hub or spoke?")
    await make_reply(answered, member, "Hub.")
    lonely = await make_thread(dl, member, title="Anyone using R Shiny?")
    moment = start + timedelta(days=2)
    await Thread.filter(id__in=[answered.id, lonely.id]).update(
        created_at=moment, last_activity_at=moment
    )
    await Post.all().update(created_at=moment)
    viewer = await viewer_for(fac)
    one = await weeknotes.draft(viewer=viewer, network=dl, start=start, end=end)
    two = await weeknotes.draft(viewer=viewer, network=dl, start=start, end=end)
    assert one.body == two.body
    assert one.title == "Data Leaders: 2\u20138 November 2026"
    assert one.body == (
        "3 posts in 2 new threads and ongoing discussions, 2\u20138 November 2026.\n"
        "\n"
        "## New threads\n"
        "\n"
        f"- [Hub or spoke?](/n/dl/t/{answered.id}-hub-or-spoke)\n"
        f"- [Anyone using R Shiny?](/n/dl/t/{lonely.id}-anyone-using-r-shiny)\n"
        "\n"
        "## Most active discussions\n"
        "\n"
        f"- [Hub or spoke?](/n/dl/t/{answered.id}-hub-or-spoke): 2 posts\n"
        f"- [Anyone using R Shiny?](/n/dl/t/{lonely.id}-anyone-using-r-shiny): 1 post\n"
        "\n"
        "## Who took part\n"
        "\n"
        "Hackney Council (3).\n"
        "\n"
        "## Still waiting for an answer\n"
        "\n"
        f"- [Anyone using R Shiny?](/n/dl/t/{lonely.id}-anyone-using-r-shiny)\n"
    )
    quiet = await weeknotes.draft(
        viewer=viewer, network=dl, start=end + timedelta(days=30), end=end + timedelta(days=37)
    )
    assert "A quiet spell" in quiet.body


async def test_publishing_a_weeknote_emails_members_who_want_it(
    db: str, client: httpx.AsyncClient, settings: Settings, smtp: SmtpServer
) -> None:
    dl = await make_network("dl", name="Data Leaders")
    fac = await make_member(dl, await make_user("fac"), role=Role.FACILITATOR)
    keen = await make_member(dl, await make_user("keen"))
    off = await make_member(dl, await make_user("off"))
    await make_user("outsider")
    unconfirmed = await make_member(dl, await make_user("unconfirmed"))
    gone = await make_member(dl, await make_user("gone"))
    await User.filter(id=unconfirmed.id).update(email_verified_at=None)
    await User.filter(id=gone.id).update(is_active=False)
    await services.set_preferences(
        user=off,
        email_replies=True,
        email_mentions=True,
        digest=DigestFrequency.NEVER,
        weeknotes=False,
    )
    await make_thread(dl, keen, title="What a week")
    await login(client, fac)
    token = await csrf(client, "/n/dl/weeknotes")
    r = await client.post(
        "/n/dl/weeknotes/draft", data={"start": "not a date", "end": "", "csrf_token": token}
    )
    assert r.status_code == 400 and 'value="not a date"' in r.text
    today = datetime.now(UTC).date()
    r = await client.post(
        "/n/dl/weeknotes/draft",
        data={
            "start": (today - timedelta(days=6)).isoformat(),
            "end": today.isoformat(),
            "csrf_token": token,
        },
    )
    assert r.status_code == 303
    note = await Weeknote.get()
    assert "What a week" in note.body
    # Members see no drafts.
    async with httpx.AsyncClient(
        transport=client._transport, base_url="http://testserver"
    ) as other:
        await login(other, keen)
        assert (await other.get(f"/n/dl/weeknotes/{note.id}-{note.slug}")).status_code == 404
    edit = f"/n/dl/weeknotes/{note.id}/edit"
    r = await client.post(edit, data={"title": "", "body": "Kept text", "csrf_token": token})
    assert r.status_code == 400 and "Kept text" in r.text
    r = await client.post(
        edit,
        data={
            "title": "Our week",
            "body": note.body + "\nThanks all.",
            "publish": "1",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303
    assert (await Weeknote.get(id=note.id)).status == WeeknoteStatus.PUBLISHED
    await deliver(settings)
    assert [m["To"] for m in smtp.mailbox.messages] == ["fac@example.org", "keen@example.org"]
    assert "Thanks all." in body(smtp.mailbox.messages[0])
    page = await client.get(f"/n/dl/weeknotes/{note.id}-{note.slug}")
    assert "Our week" in page.text
    assert "Our week" in (await client.get("/n/dl/weeknotes")).text
    # Publishing twice sends nothing more.
    r = await client.post(f"/n/dl/weeknotes/{note.id}/publish", data={"csrf_token": token})
    assert r.status_code == 303
    assert await OutboundEmail.all().count() == 2


async def test_a_weeknote_reaches_a_network_of_any_size(db: str, settings: Settings) -> None:
    """Its readers are asked of the database in one statement: an IN list of every member
    would break PostgreSQL's driver past 32,767 members (asyncpg's parameter limit)."""
    dl = await make_network("dl", name="Data Leaders")
    fac = await make_member(dl, await make_user("fac"), role=Role.FACILITATOR)
    keen = await make_member(dl, await make_user("keen"))
    crowd, now = 33_000, datetime.now(UTC)
    ids = await (await make_crowd(crowd)).values_list("id", flat=True)
    await Membership.bulk_create(
        [Membership(network_id=dl.id, user_id=uid, role=Role.MEMBER, created_at=now) for uid in ids]
    )
    assert await Membership.filter(network_id=dl.id).count() == crowd + 2
    await make_thread(dl, keen, title="A busy week")
    today = datetime.now(UTC)
    viewer = await viewer_for(fac)
    note = await weeknotes.draft(
        viewer=viewer, network=dl, start=today - timedelta(days=6), end=today
    )
    sent = await weeknotes.publish(viewer=viewer, weeknote=note, site_name="Forum")
    assert sent == 2
    assert sorted(await OutboundEmail.all().values_list("to_address", flat=True)) == [
        "fac@example.org",
        "keen@example.org",
    ]


async def test_unfinished_notifications_never_name_unreadable_networks(
    db: str, client: httpx.AsyncClient
) -> None:
    secret = await make_network("ig", visibility=Visibility.MEMBERS)
    alice = await make_member(secret, await make_user("alice"))
    bob = await make_member(secret, await make_user("bob"))
    thread = await make_thread(secret, alice, title="Quokka plans")
    await make_reply(thread, bob, "reply")
    await Membership.filter(user_id=alice.id).delete()
    await login(client, alice)
    assert "Quokka" not in (await client.get("/notifications")).text
    assert 'class="count"' not in (await client.get("/")).text


async def test_the_digest_is_drafted_deterministically(db: str) -> None:
    dl = await make_network("dl", name="Data Leaders")
    reader = await make_member(dl, await make_user("reader"))
    writer = await make_member(dl, await make_user("writer"))
    for title in ("Cloud contracts", "Open data portals", "Records retention"):
        thread = await make_thread(dl, writer, title=title)
        await make_reply(thread, reader, "A reply")
    now = datetime.now(UTC)
    since = now - timedelta(days=7)
    first, ids = await emails.build_digest(reader, since, now)
    second, _ = await emails.build_digest(reader, since, now)
    assert ids == [dl.id]
    assert emails.render_digest(first, "Forum", "weekly") == emails.render_digest(
        second, "Forum", "weekly"
    )
    text, _ = emails.render_digest(first, "Forum", "weekly")
    assert text.index("Records retention") < text.index("Cloud contracts")  # newest first


async def test_a_listing_s_unread_counts_are_one_query(
    db: str, count_queries: QueryCounter
) -> None:
    """Per thread of a listing: never opened, or the live posts after the viewer's last
    seen one (deleted ones not counted), or nothing new."""
    from forum.notifications import queries
    from forum.threads import services as threads

    dl = await make_network("dl")
    reader, writer = await make_member(dl), await make_member(dl)
    viewer = await viewer_for(reader)
    unopened = await make_thread(dl, writer, title="Never opened")
    behind = await make_thread(dl, writer, title="Two new replies")
    done = await make_thread(dl, writer, title="All read")
    for thread in (behind, done):
        await services.mark_read(
            user=reader, thread=thread, last_post_id=await _last_post(thread), seen=None
        )
    await make_reply(behind, writer, "One")
    await make_reply(behind, writer, "Two")
    gone = await make_reply(behind, writer, "Withdrawn")
    behind.network = dl
    await threads.delete_post(viewer=await viewer_for(writer), post=gone, network=dl)
    count_queries.statements.clear()
    unread = await queries.unread_in(viewer, [unopened.id, behind.id, done.id])
    assert count_queries.count == 1
    assert unread.never_opened == {unopened.id}
    assert unread.counts == {behind.id: 2}


async def _last_post(thread: Thread) -> int:
    return max(await Post.filter(thread_id=thread.id).values_list("id", flat=True))


async def _listed(client: httpx.AsyncClient) -> tuple[str, str]:
    """The notifications page's list and the header's count, as the person sees them."""
    page = html(await client.get("/notifications"))
    listed = " ".join(li.text() for li in page.css("li.notification"))
    count = page.css_first('a[href="/notifications"] .count')
    return " ".join(listed.split()), count.text().split()[0] if count else ""


async def test_notifications_follow_their_thread_and_post_as_they_stand_now(
    db: str, client: httpx.AsyncClient
) -> None:
    """A notification is shown (page, header count, the query the pages call) only while
    its recipient may read what it is about, as it stands now: not once its thread moved
    into a members-only network they are not in, nor once its post was hidden, deleted or
    redacted; it returns when a move or a hiding is undone."""
    from forum.moderation import services as moderation
    from forum.notifications import queries
    from forum.threads import curation
    from forum.threads import services as threads

    public = await make_network("dl", name="Data Leaders")
    secret = await make_network("ig", visibility=Visibility.MEMBERS, name="Inner Group")
    alice = await make_member(public, await make_user("alice"))
    fac = await make_member(public, await make_user("fac", display_name="Fac"), Role.FACILITATOR)
    await make_member(secret, fac, Role.FACILITATOR)
    thread = await make_thread(public, alice, title="Budgets for data teams")
    reply = await make_reply(thread, fac, "Ours is small.")
    other = await make_thread(public, alice, title="Hiring analysts")
    await make_reply(other, fac, "We hire twice a year.")
    facilitator = await viewer_for(fac)
    await login(client, alice)
    listed, count = await _listed(client)
    assert "Budgets for data teams" in listed and "Hiring analysts" in listed and count == "2"

    async def shown() -> tuple[str, str, int]:
        listed, count = await _listed(client)
        page = await queries.notifications(await viewer_for(alice))
        return listed, count, page.unread

    # Moved into a network Alice is not in: gone from the page, the count and the query,
    # with its new title and its network's name; moved back, it returns.
    thread.network = public
    moved = await curation.move_thread(viewer=facilitator, thread=thread, to=secret)
    await curation.rename_thread(viewer=facilitator, thread=moved, title="Quokka budgets")
    listed, count, unread = await shown()
    assert "Budgets" not in listed and "Quokka" not in listed and "Inner Group" not in listed
    assert "Hiring analysts" in listed and (count, unread) == ("1", 1)
    await curation.move_thread(viewer=facilitator, thread=moved, to=public)
    listed, count, unread = await shown()
    assert "Quokka budgets" in listed and "in Data Leaders" in listed
    assert (count, unread) == ("2", 2)

    # Its post hidden: gone; shown again: back. Deleted, or redacted: gone.
    await moderation.hide_post(viewer=facilitator, post=reply, network=public)
    listed, count, unread = await shown()
    assert "Quokka" not in listed and (count, unread) == ("1", 1)
    await moderation.restore_post(viewer=facilitator, post=reply, network=public)
    assert (await shown())[1:] == ("2", 2)
    await threads.delete_post(viewer=facilitator, post=reply, network=public)
    listed, count, unread = await shown()
    assert "Quokka" not in listed and (count, unread) == ("1", 1)
    hiring = await Post.filter(thread_id=other.id).order_by("-id").first()
    assert hiring is not None
    await moderation.redact_post(viewer=facilitator, post=hiring, network=public)
    listed, count, unread = await shown()
    assert listed == "" and (count, unread) == ("", 0)


async def test_the_notifications_page_is_a_fixed_number_of_queries(
    db: str, client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    dl = await make_network("dl")
    alice = await make_member(dl, await make_user("alice"))
    writers = [await make_member(dl) for _ in range(3)]
    await make_reply(await make_thread(dl, alice, title="The first"), writers[0], "One")
    await login(client, alice)
    await client.get("/notifications")
    count_queries.statements.clear()
    assert (await client.get("/notifications")).status_code == 200
    few = count_queries.count
    for n in range(12):
        thread = await make_thread(dl, alice, title=f"Thread {n}")
        await make_reply(thread, writers[n % 3], f"Reply {n} for @alice")
    await client.get("/notifications")
    count_queries.statements.clear()
    assert (await client.get("/notifications")).status_code == 200
    assert count_queries.count == few, "\n".join(s[:100] for s in count_queries.statements)
