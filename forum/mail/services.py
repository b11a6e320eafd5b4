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
    *, to: str, subject: str, text: str, using: BaseDBAsyncClient | None = None
) -> OutboundEmail:
    """Put a plain-text message in the outbox for the mailer to send."""
    now = utcnow()
    return await OutboundEmail.create(
        to_address=to.strip()[:254],
        subject=clean_line(" ".join(subject.split()))[:300],
        body_text=text,
        status=MailStatus.QUEUED,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
        using_db=using,
    )
