"""A digest queued while the mail server was down is sent as the forum is when it goes: a
thread it named that has since moved into a members-only network the recipient is not in,
been renamed or merged away, or whose network the recipient has left, is not named; the
digest is built again from the content as it is now, the other threads still go, and a
digest with nothing left is cancelled. Through a real SMTP server on loopback, stopped while
the digest is queued and started again, and through the mail folder."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest

from forum.accounts.models import User
from forum.config import Settings
from forum.mail.models import MailStatus, OutboundEmail, OutboundEmailThread
from forum.networks import services as networks
from forum.networks.models import Network, Role, Visibility
from forum.notifications import emails, weeknotes
from forum.permissions import viewer_for
from forum.threads import curation
from forum.threads.models import Thread
from tests.factories import make_member, make_network, make_reply, make_thread, make_user
from tests.mailbox import SmtpServer, body, deliver, smtp_settings

GONE = "Quokka restructure plans"  # the title that must not go out once out of reach
KEPT = "Hiring analysts"


@dataclass
class World:
    dl: Network  # public; the reader is a member
    team: Network  # members-only; the reader is a member too
    inner: Network  # members-only; the reader is not a member
    reader: User
    fac: User  # facilitates all three
    gone: Thread  # the thread that leaves the reader's digest
    kept: Thread


async def _world(where: str = "dl") -> World:
    dl = await make_network("dl", name="Data Leaders")
    team = await make_network("team", name="Analysts", visibility=Visibility.MEMBERS)
    inner = await make_network("ig", name="Info Gov", visibility=Visibility.MEMBERS)
    reader = await make_member(dl, await make_user("reader"))
    await make_member(team, reader)
    fac = await make_user("fac")
    for network in (dl, team, inner):
        await make_member(network, fac, Role.FACILITATOR)
    gone = await make_thread(team if where == "team" else dl, fac, title=GONE)
    await make_reply(gone, fac, "Two teams become one.")
    kept = await make_thread(dl, fac, title=KEPT)
    await make_reply(kept, fac, "We hire twice a year.")
    return World(dl, team, inner, reader, fac, gone, kept)


async def _move_out_of_reach(w: World) -> None:
    await curation.move_thread(viewer=await viewer_for(w.fac), thread=w.gone, to=w.inner)


async def _rename(w: World) -> None:
    await curation.rename_thread(viewer=await viewer_for(w.fac), thread=w.gone, title="Team plans")


async def _merge_away(w: World) -> None:
    await curation.merge_threads(viewer=await viewer_for(w.fac), duplicate=w.gone, into=w.kept)


async def _reader_leaves(w: World) -> None:
    await networks.remove_membership(network=w.team, user=w.reader)


CHANGES: dict[str, tuple[str, Callable[[World], Awaitable[None]]]] = {
    # what happens to the thread after the digest is queued: (where it starts, the change)
    "moved into a members-only network": ("dl", _move_out_of_reach),
    "renamed": ("dl", _rename),
    "merged into another thread": ("dl", _merge_away),
    "its network left by the reader": ("team", _reader_leaves),
}


async def _queue_digests() -> OutboundEmail:
    """Everyone's weekly digest is queued; returns the reader's."""
    assert await emails.send_digests(site_name="Forum", now=datetime.now(UTC)) >= 1
    row = await OutboundEmail.get(kind="digest", to_address="reader@example.org")
    assert GONE in row.body_text and KEPT in row.body_text
    return row


def _everything_in(message: EmailMessage) -> str:
    """The message's headers and every part, decoded."""
    parts = [str(value) for value in message.values()]
    parts += [str(part.get_content()) for part in message.walk() if not part.is_multipart()]
    return "\n".join(parts)


async def _reader_outbox() -> str:
    rows = await OutboundEmail.filter(to_address="reader@example.org").values_list(
        "subject", "body_text", "body_html"
    )
    return "\n".join(part for row in rows for part in row)


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_a_digest_never_names_a_thread_changed_while_the_mail_server_was_down(
    db: str, settings: Settings, smtp: SmtpServer, change: str
) -> None:
    where, happen = CHANGES[change]
    settings = smtp_settings(settings, smtp.port)
    w = await _world(where)
    smtp.stop()  # the mail server is down when the digests are queued and first tried
    row = await _queue_digests()
    assert await deliver(settings) == 0

    await happen(w)
    smtp.start()
    await OutboundEmail.filter(status=MailStatus.QUEUED).update(next_attempt_at=datetime.now(UTC))
    assert await deliver(settings) >= 1

    digest = smtp.mailbox.last_to("reader@example.org")
    assert KEPT in body(digest)
    html = digest.get_body(preferencelist=("html",))
    assert html is not None and KEPT in str(html.get_content())
    to_reader = [m for m in smtp.mailbox.messages if m["To"] == "reader@example.org"]
    assert len(to_reader) == 1
    assert GONE not in _everything_in(to_reader[0])
    assert GONE not in await _reader_outbox()
    await row.refresh_from_db()
    assert row.status == MailStatus.SENT
    named = await OutboundEmailThread.filter(email_id=row.id).values_list("thread_id", flat=True)
    assert w.kept.id in named and (change == "renamed") == (w.gone.id in named)
    if change == "renamed":
        assert "Team plans" in body(digest)


async def test_a_digest_left_with_nothing_to_name_is_cancelled_and_not_kept(
    db: str, settings: Settings, smtp: SmtpServer
) -> None:
    settings = smtp_settings(settings, smtp.port)
    w = await _world()
    smtp.stop()
    row = await _queue_digests()
    assert await deliver(settings) == 0
    for thread in (w.gone, w.kept):
        thread.network = w.dl
        await curation.move_thread(viewer=await viewer_for(w.fac), thread=thread, to=w.inner)

    smtp.start()
    await OutboundEmail.filter(status=MailStatus.QUEUED).update(next_attempt_at=datetime.now(UTC))
    await deliver(settings)
    assert not smtp.mailbox.to("reader@example.org")
    await row.refresh_from_db()
    assert row.status == MailStatus.CANCELLED
    assert GONE not in await _reader_outbox() and KEPT not in await _reader_outbox()


async def test_a_digest_written_to_the_mail_folder_names_the_threads_as_they_are(
    db: str, settings: Settings
) -> None:
    """With the folder backend the digest's .eml copy is written when the mailer gets to
    it: a thread moved out of reach meanwhile is not in it, nor in the outbox."""
    settings = replace(settings, email=replace(settings.email, backend="folder", folder="mail"))
    folder = settings.base_dir / "mail"
    w = await _world()
    await _queue_digests()
    await _move_out_of_reach(w)
    assert await deliver(settings) >= 1

    copies = [path.read_text() for path in folder.glob("*.eml")]
    mine = [text for text in copies if "reader@example.org" in text]
    assert len(mine) == 1 and KEPT in mine[0]
    assert not any(GONE in text for text in mine)
    assert GONE not in await _reader_outbox()
    # The facilitator may read the thread where it went: their digest still names it.
    assert any(GONE in text for text in copies if "fac@example.org" in text)


async def test_a_weeknote_naming_a_thread_moved_out_of_reach_is_not_emailed(
    db: str, settings: Settings, smtp: SmtpServer
) -> None:
    """A weeknote's words are its facilitator's and are not built again: an email of it
    that names a thread moved since where its recipient may not read is cancelled, its text
    not kept; the others still go."""
    settings = smtp_settings(settings, smtp.port)
    w = await _world()
    now = datetime.now(UTC)
    viewer = await viewer_for(w.fac)
    note = await weeknotes.draft(
        viewer=viewer, network=w.dl, start=now - timedelta(days=1), end=now + timedelta(days=1)
    )
    note.network = w.dl
    assert GONE in note.body
    smtp.stop()
    assert await weeknotes.publish(viewer=viewer, weeknote=note, site_name="Forum") == 2
    assert await deliver(settings) == 0

    await _move_out_of_reach(w)
    smtp.start()
    await OutboundEmail.filter(status=MailStatus.QUEUED).update(next_attempt_at=datetime.now(UTC))
    assert await deliver(settings) == 1
    assert not smtp.mailbox.to("reader@example.org")
    assert GONE in body(smtp.mailbox.last_to("fac@example.org"))  # they may read it there
    assert GONE not in await _reader_outbox()
    row = await OutboundEmail.get(kind="weeknote", to_address="reader@example.org")
    assert row.status == MailStatus.CANCELLED
