"""A post deleted, hidden or redacted after an email quoting it was queued (the mail server
was down) is never sent, and its text leaves the outbox and the mail folder; a thread moved
where the recipient may not read stops its queued emails too. Through a real SMTP server on
loopback, stopped while the mail is queued and started again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from forum.accounts.models import User
from forum.config import Settings
from forum.mail import sender
from forum.mail.models import MailStatus, OutboundEmail, OutboundEmailPost
from forum.moderation import services as moderation
from forum.networks.models import Network, Role, Visibility
from forum.notifications import emails
from forum.permissions import viewer_for
from forum.threads import curation
from forum.threads import services as threads
from forum.threads.models import Post, Thread
from forum.timeutil import utcnow
from tests.factories import make_member, make_network, make_reply, make_thread, make_user
from tests.mailbox import SmtpServer, body, deliver, smtp_settings

QUIET = timedelta(minutes=60)
SECRET = "Call Dana on 07700 900461"  # what must never go out once withdrawn


async def _hide(fac: User, post: Post, network: Network) -> None:
    await moderation.hide_post(viewer=await viewer_for(fac), post=post, network=network)


async def _redact(fac: User, post: Post, network: Network) -> None:
    await moderation.redact_post(viewer=await viewer_for(fac), post=post, network=network)


async def _delete(fac: User, post: Post, network: Network) -> None:
    await threads.delete_post(viewer=await viewer_for(fac), post=post, network=network)


WITHDRAWALS: dict[str, Callable[[User, Post, Network], Awaitable[None]]] = {
    "hidden": _hide,
    "redacted": _redact,
    "deleted": _delete,
}


async def _world() -> tuple[Network, User, Thread, Post, Thread]:
    """Alice's two threads in a public network; the facilitator replies to both, once with
    the secret. Returns the network, the facilitator, the secret's thread and reply, and the
    other thread."""
    dl = await make_network("dl")
    alice = await make_member(dl, await make_user("alice"))
    fac = await make_member(dl, await make_user("fac"), Role.FACILITATOR)
    thread = await make_thread(dl, alice, title="Budgets for data teams")
    secret = await make_reply(thread, fac, SECRET)
    other = await make_thread(dl, alice, title="Hiring analysts")
    await make_reply(other, fac, "We hire twice a year.")
    return dl, fac, thread, secret, other


async def _retry_now() -> None:
    """The next attempt is due now (the mailer waits longer after each failure)."""
    await OutboundEmail.filter(status=MailStatus.QUEUED).update(next_attempt_at=utcnow())


async def _outbox_text() -> str:
    rows = await OutboundEmail.all().values_list("subject", "body_text", "body_html")
    return "\n".join(part for row in rows for part in row)


@pytest.mark.parametrize("withdrawal", sorted(WITHDRAWALS))
async def test_a_post_withdrawn_while_the_mail_server_is_down_is_never_emailed(
    db: str, settings: Settings, smtp: SmtpServer, withdrawal: str
) -> None:
    settings = smtp_settings(settings, smtp.port)
    dl, fac, _, secret, _ = await _world()
    smtp.stop()  # the mail server is down when the emails are queued and first tried
    assert await emails.send_pending(quiet=QUIET) == 2
    assert await deliver(settings) == 0
    assert SECRET in await _outbox_text()

    await WITHDRAWALS[withdrawal](fac, secret, dl)
    assert SECRET not in await _outbox_text()

    smtp.start()
    await _retry_now()
    assert await deliver(settings) == 1
    [message] = smtp.mailbox.messages
    assert "Hiring analysts" in message["Subject"] and "twice a year" in body(message)
    assert not any(SECRET.encode() in raw for raw in smtp.mailbox.raw)
    assert SECRET not in await _outbox_text()
    statuses = sorted(await OutboundEmail.all().values_list("status", flat=True))
    assert statuses == [MailStatus.CANCELLED, MailStatus.SENT]


async def test_a_withdrawn_post_leaves_the_outbox_and_the_mail_folder_after_it_went(
    db: str, settings: Settings
) -> None:
    """With the folder backend every message is an .eml file: once its post is redacted,
    the message's copy goes from the folder and its text from the outbox; others stay."""
    settings = replace(settings, email=replace(settings.email, backend="folder", folder="mail"))
    folder = settings.base_dir / "mail"
    dl, fac, _, secret, _ = await _world()
    assert await emails.send_pending(quiet=QUIET) == 2
    assert await deliver(settings) == 2
    assert any(SECRET in path.read_text() for path in folder.glob("*.eml"))

    await _redact(fac, secret, dl)
    assert SECRET not in await _outbox_text()
    await sender.deliver_due(settings)  # the mailer's next round
    copies = [path.read_text() for path in folder.iterdir()]
    assert len(copies) == 1 and "Hiring analysts" in copies[0]
    assert not any(SECRET in text for text in copies)
    assert await OutboundEmailPost.filter(withdrawn_at__isnull=False).count() == 0
    assert sorted(await OutboundEmail.all().values_list("status", flat=True)) == [
        MailStatus.SENT,
        MailStatus.SENT,
    ]


async def test_mail_about_a_thread_moved_out_of_the_recipient_s_reach_is_not_sent(
    db: str, settings: Settings, smtp: SmtpServer
) -> None:
    """Queued while the thread was public; moved into a members-only network the recipient
    is not in before it went: cancelled, as when the recipient leaves a network."""
    settings = smtp_settings(settings, smtp.port)
    dl, fac, thread, _, _ = await _world()
    inner = await make_network("ig", visibility=Visibility.MEMBERS)
    await make_member(inner, fac, Role.FACILITATOR)
    assert await emails.send_pending(quiet=QUIET) == 2
    thread.network = dl
    await curation.move_thread(viewer=await viewer_for(fac), thread=thread, to=inner)
    assert await deliver(settings) == 1
    [message] = smtp.mailbox.messages
    assert "Hiring analysts" in message["Subject"]
    assert await OutboundEmail.filter(status=MailStatus.CANCELLED).count() == 1
