"""Queueing email: the one way any part of the forum sends a message.

`queue` writes the message to the outbox table, on the caller's connection when it is given,
so a message is committed with the action that caused it (an invitation and its email, or
neither). The mailer (`forum.mail.sender`) delivers it; a mail server that is down only
delays it.

A message that quotes posts names them (`post_ids`), and `withdraw_posts`, called in the
transaction that deletes, hides or redacts a post, reaches every message that quoted it:
not yet sent, it is cancelled; sent or not, the outbox keeps no more of its text; and the
mailer removes its copy from the mail folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from forum.mail.models import MailStatus, OutboundEmail, OutboundEmailPost
from forum.text import clean_line
from forum.timeutil import utcnow


async def queue(
    *,
    to: str,
    subject: str,
    text: str,
    html: str = "",
    kind: str = "account",
    user_id: int | None = None,
    network_ids: list[int] | None = None,
    post_ids: Iterable[int] = (),
    using: BaseDBAsyncClient | None = None,
) -> OutboundEmail:
    """Put a message in the outbox for the mailer to send.

    `kind` "account" is for the account's own business (never unsubscribed); other kinds
    (forum.mail.unsubscribe.KINDS) get a signed unsubscribe link. With `user_id` and
    `network_ids`, the mailer checks just before sending that the recipient may still read
    those networks. `post_ids` names the posts whose text the message quotes: it is not sent
    once one of them is withdrawn (`withdraw_posts`). `{site}` in the bodies becomes the
    site's base URL.
    """
    now = utcnow()
    row = await OutboundEmail.create(
        to_address=to.strip()[:254],
        subject=clean_line(" ".join(subject.split()))[:300],
        body_text=text,
        body_html=html,
        kind=kind,
        user_id=user_id,
        network_ids=list(network_ids or []),
        status=MailStatus.QUEUED,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
        using_db=using,
    )
    carried = sorted({int(i) for i in post_ids})
    if carried:
        await OutboundEmailPost.bulk_create(
            [OutboundEmailPost(email_id=row.id, post_id=i) for i in carried], using_db=using
        )
    return row


# What the outbox keeps of a message that quoted a post since withdrawn (its text is gone).
WITHDRAWN = (
    "[Not kept: this message quoted a post that has since been deleted, hidden or redacted.]"
)


async def withdraw_posts(post_ids: Iterable[int], *, using: BaseDBAsyncClient) -> int:
    """The posts' text leaves the outbox: every message that quoted one of them and is not
    yet sent (queued, even mid-retry, or given up) is cancelled, and every such message,
    sent or not, keeps `WITHDRAWN` in place of its bodies. The mailer then removes their
    copies from the mail folder (`sender.remove_withdrawn_copies`). A message is withdrawn
    whole, never sent with a gap where the post stood (see docs/notifications.md). Call it
    in the transaction that deletes, hides or redacts the posts. Returns how many messages
    it reached."""
    ids = sorted({int(i) for i in post_ids})
    if not ids:
        return 0
    links = OutboundEmailPost.filter(post_id__in=ids, withdrawn_at__isnull=True).using_db(using)
    found: list[Any] = list(await links.values_list("email_id", flat=True))
    emails = sorted({int(i) for i in found})
    if not emails:
        return 0
    await (
        OutboundEmail.filter(id__in=emails, status__in=[MailStatus.QUEUED, MailStatus.FAILED])
        .using_db(using)
        .update(status=MailStatus.CANCELLED, last_error="it quoted a post since withdrawn")
    )
    await (
        OutboundEmail.filter(id__in=emails)
        .using_db(using)
        .update(body_text=WITHDRAWN, body_html="")
    )
    await (
        OutboundEmailPost.filter(email_id__in=emails).using_db(using).update(withdrawn_at=utcnow())
    )
    return len(emails)
