"""Queueing email: the one way any part of the forum sends a message.

`queue` writes the message to the outbox table, on the caller's connection when it is given,
so a message is committed with the action that caused it (an invitation and its email, or
neither). The mailer (`forum.mail.sender`) delivers it; a mail server that is down only
delays it.

A message that quotes posts names them (`post_ids`), and `withdraw_posts`, called in the
transaction that deletes, hides or redacts a post, reaches every message that quoted it:
not yet sent, it is cancelled; sent or not, the outbox keeps no more of its text; and the
mailer removes its copy from the mail folder.

A message that lists threads by title (a digest, a weeknote) names them (`threads`): just
before sending, the mailer compares them with the threads as they are now, and a digest is
built again (`rebuild`) or any other message cancelled when one has gone, moved, been
renamed or left the recipient's reach.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from forum.mail.models import MailStatus, OutboundEmail, OutboundEmailPost, OutboundEmailThread
from forum.text import clean_line
from forum.threads.models import Thread
from forum.timeutil import utcnow

SITE = "{site}"  # in a queued body: replaced by the site's base URL when it is sent


def title_sha256(title: str) -> str:
    """The fingerprint by which a queued message remembers a thread's title (not the title
    itself: the outbox keeps no copy of it outside the message)."""
    return hashlib.sha256(title.encode()).hexdigest()


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
    threads: Iterable[Thread] = (),
    built_from: dict[str, str] | None = None,
    using: BaseDBAsyncClient | None = None,
) -> OutboundEmail:
    """Put a message in the outbox for the mailer to send.

    `kind` "account" is for the account's own business (never unsubscribed); other kinds
    (forum.mail.unsubscribe.KINDS) get a signed unsubscribe link. With `user_id` and
    `network_ids`, the mailer checks just before sending that the recipient may still read
    those networks. `post_ids` names the posts whose text the message quotes: it is not sent
    once one of them is withdrawn (`withdraw_posts`). `threads` names the threads it lists
    by title, and `built_from` what a digest was built from (see the module's docstring).
    `{site}` in the bodies becomes the site's base URL.
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
        built_from=built_from,
        using_db=using,
    )
    await _name_threads(row, threads, using)
    carried = sorted({int(i) for i in post_ids})
    if carried:
        await OutboundEmailPost.bulk_create(
            [OutboundEmailPost(email_id=row.id, post_id=i) for i in carried], using_db=using
        )
    return row


async def _name_threads(
    row: OutboundEmail, threads: Iterable[Thread], using: BaseDBAsyncClient | None
) -> None:
    named = {t.id: t for t in threads}
    if named:
        await OutboundEmailThread.bulk_create(
            [
                OutboundEmailThread(
                    email_id=row.id,
                    thread_id=t.id,
                    network_id=t.network_id,
                    title_sha256=title_sha256(t.title),
                )
                for t in named.values()
            ],
            using_db=using,
        )


async def rebuild(
    row: OutboundEmail,
    *,
    text: str,
    html: str,
    network_ids: list[int],
    threads: Iterable[Thread],
    using: BaseDBAsyncClient,
) -> None:
    """Give a queued message new bodies, built again from the content as it is now, and
    the networks and threads they draw on now (the old bodies are not kept)."""
    await (
        OutboundEmail.filter(id=row.id)
        .using_db(using)
        .update(body_text=text, body_html=html, network_ids=list(network_ids))
    )
    await OutboundEmailThread.filter(email_id=row.id).using_db(using).delete()
    await _name_threads(row, threads, using)
    row.body_text, row.body_html, row.network_ids = text, html, list(network_ids)


# What the outbox keeps of a message cancelled because it named a thread out of reach.
OUT_OF_REACH = "[Not kept: this message named a thread its recipient may no longer read.]"


async def cancel_out_of_reach(row: OutboundEmail, *, using: BaseDBAsyncClient) -> None:
    """Cancel a queued message that names a thread its recipient may no longer read, its
    bodies not kept (they name the thread)."""
    await (
        OutboundEmail.filter(id=row.id)
        .using_db(using)
        .update(
            status=MailStatus.CANCELLED,
            last_error="it named a thread the recipient may no longer read",
            body_text=OUT_OF_REACH,
            body_html="",
        )
    )


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
