"""Queueing email: the one way any part of the forum sends a message.

`queue` writes the message to the outbox table, on the caller's connection when it is given,
so a message is committed with the action that caused it (an invitation and its email, or
neither). The mailer (`forum.mail.sender`) delivers it; a mail server that is down only
delays it.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from forum.mail.models import MailStatus, OutboundEmail
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
    using: BaseDBAsyncClient | None = None,
) -> OutboundEmail:
    """Put a message in the outbox for the mailer to send.

    `kind` "account" is for the account's own business (never unsubscribed); other kinds
    (forum.mail.unsubscribe.KINDS) get a signed unsubscribe link. With `user_id` and
    `network_ids`, the mailer checks just before sending that the recipient may still read
    those networks. `{site}` in the bodies becomes the site's base URL.
    """
    now = utcnow()
    return await OutboundEmail.create(
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
