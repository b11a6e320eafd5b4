"""The mailer: delivers the outbox, retrying with backoff, and never loses a message.

Every server process delivers the outbox from its background loop (`forum.background`);
several can, safely: a process claims a message by moving its next attempt forward (a
conditional UPDATE that only one can win) before it sends, so a message is not sent twice by
two processes, and a process that dies mid-send leaves the message to be retried when its
claim lapses.

Backends: "folder" writes each message as an .eml file and logs its links (the default, so
that `make run` works on a laptop with no mail server); "smtp" sends through aiosmtplib.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from datetime import timedelta
from email import policy as email_policy
from email.header import Header
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from enum import Enum
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

import aiosmtplib
from tortoise.transactions import in_transaction

from forum import permissions
from forum.accounts.models import User
from forum.config import Settings, secret_key
from forum.mail import services as mail
from forum.mail import unsubscribe
from forum.mail.models import MailStatus, OutboundEmail, OutboundEmailPost, OutboundEmailThread
from forum.mail.services import SITE
from forum.notifications import emails
from forum.threads.models import Post, Thread
from forum.timeutil import utcnow

log = logging.getLogger("forum.mail")

# Retries wait 30 s, 1 min, 2 min, … up to an hour between attempts; after MAX_ATTEMPTS
# (about two days of trying) the message is marked failed and kept for the admin.
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
MAX_ATTEMPTS = 60
# How long a claim lasts: a process that dies while sending leaves the message for another.
CLAIM = timedelta(minutes=5)
_LINK = re.compile(r"https?://\S+")


def backoff(attempts: int) -> timedelta:
    """The wait before the next attempt, after `attempts` failed ones (1, 2, …)."""
    return min(FIRST_RETRY * (2 ** min(max(0, attempts - 1), 16)), LONGEST_WAIT)


# How every message is written out, for the SMTP server and the mail folder alike: CRLF,
# header objects folded by the standard library, and the two headers we fold ourselves
# (`_raw` below) written exactly as given. The standard folding encodes a long URL as
# RFC 2047 words (a List-Unsubscribe that mail programs cannot follow) and, at some line
# lengths, writes an empty `=?utf-8?q??=` word into a non-ASCII subject.
POLICY = email_policy.SMTP.clone(refold_source="none")
HEADER_LINE = 998  # RFC 5322's hard limit on a header line


def _subject(text: str) -> str:
    """The subject as its header value: ASCII folded at spaces, anything else as RFC 2047
    encoded words of at most 75 characters each (email.header, which splits on character
    boundaries and never writes an empty word)."""
    if text.isascii():
        return Header(text, "us-ascii", header_name="Subject").encode(linesep="\r\n")
    return Header(text, "utf-8", maxlinelen=76, header_name="Subject").encode(linesep="\r\n")


def _raw(message: EmailMessage, name: str, value: str) -> None:
    """A header written as given (already folded, or a single line such as `<url>`)."""
    if any(len(line) + len(name) + 2 > HEADER_LINE for line in value.split("\r\n")):
        raise ValueError(f"{name} is too long for one header line")
    message.set_raw(name, value)


def build_message(settings: Settings, row: OutboundEmail) -> EmailMessage:
    message = EmailMessage(policy=POLICY)
    message["From"] = settings.email.from_address
    message["To"] = row.to_address
    _raw(message, "Subject", _subject(row.subject))
    message["Date"] = formatdate(row.created_at.timestamp(), usegmt=True)
    domain = settings.email.from_address.rpartition("@")[2].strip("> ") or "localhost"
    message["Message-ID"] = make_msgid(idstring=f"forum-{row.id}", domain=domain)
    base = settings.site.base_url.rstrip("/")
    text = row.body_text.replace(SITE, base)
    html = row.body_html.replace(SITE, base)
    if row.user_id is not None and row.kind in unsubscribe.KINDS:
        url = f"{base}/unsubscribe/{unsubscribe.token(secret_key(settings), row.user_id, row.kind)}"
        # RFC 2369 and RFC 8058: mail programs offer a one-click unsubscribe button, but
        # only for a plain `<https://…>` (never RFC 2047-encoded), so it is written as is.
        _raw(message, "List-Unsubscribe", f"<{url}>")
        _raw(message, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
        what = unsubscribe.KINDS[row.kind]
        text += f"\n\n--\nStop {what}: {url}\n"
        if html:
            html += (
                '<hr><p style="font-size:small">'
                f'<a href="{escape(url)}">Stop {escape(what)}</a></p>'
            )
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


class Verdict(Enum):
    GO = "go"
    CANCEL = "cancel"  # the recipient may no longer have it (the row is kept for the admin)
    OUT_OF_REACH = "out of reach"  # it names a thread out of reach: cancelled, text not kept
    REBUILD = "rebuild"  # a digest whose threads changed: built again from what is now


async def _still_allowed(row: OutboundEmail) -> Verdict:
    """Whether the message may still go as it is: every post it quotes is still there and
    shown (not deleted, hidden or redacted: `withdraw_posts` cancels it in the same
    transaction, and this check covers a post gone altogether), every thread it names is
    still there as it was named (same network, same title), and the recipient may still
    read everything it carries, the networks of the quoted posts and named threads as they
    are now included (an account deactivated, removed from a network, or whose thread has
    moved where they may not read since it was queued, gets nothing). A digest that fails
    on its threads or networks is built again instead (`Verdict.REBUILD`)."""
    carried: list[Any] = list(
        await OutboundEmailPost.filter(email_id=row.id).values_list("post_id", flat=True)
    )
    networks = set(row.network_ids)
    if carried:
        posts = await Post.filter(id__in=carried).select_related("thread")
        if len(posts) < len(set(carried)) or any(p.withdrawn for p in posts):
            return Verdict.CANCEL
        networks |= {p.thread.network_id for p in posts}
    named = await OutboundEmailThread.filter(email_id=row.id)
    rebuilt = row.kind == "digest" and row.built_from is not None
    if named:
        now = {t.id: t for t in await Thread.filter(id__in=[n.thread_id for n in named])}
        if any(n.thread_id not in now for n in named):
            return Verdict.REBUILD if rebuilt else Verdict.OUT_OF_REACH
        changed = any(
            now[n.thread_id].network_id != n.network_id
            or mail.title_sha256(now[n.thread_id].title) != n.title_sha256
            for n in named
        )
        if changed and rebuilt:
            return Verdict.REBUILD
        networks |= {t.network_id for t in now.values()}
    if row.user_id is None:
        return Verdict.GO
    user = await User.get_or_none(id=row.user_id)
    if user is None or not user.is_active:
        return Verdict.CANCEL
    if not networks:
        return Verdict.GO
    readable = await permissions.readable_network_ids(await permissions.viewer_for(user))
    if networks <= set(readable):
        return Verdict.GO
    if rebuilt:
        return Verdict.REBUILD
    return Verdict.OUT_OF_REACH if named else Verdict.CANCEL


async def _as_it_may_go(row: OutboundEmail) -> OutboundEmail | None:
    """The message as it may be sent now, built again if it is a digest whose threads
    changed; None once it is cancelled (the outbox row says why)."""
    verdict = await _still_allowed(row)
    if verdict is Verdict.REBUILD:
        # Built from the content as it is now, so it passes unless something changed again
        # meanwhile; then it is cancelled rather than built in a loop.
        if await emails.rebuild_digest(row):
            verdict = await _still_allowed(row)
            if verdict is Verdict.REBUILD:
                verdict = Verdict.OUT_OF_REACH
        else:
            return None  # nothing left to tell: rebuild_digest cancelled it
    if verdict is Verdict.GO:
        return row
    if verdict is Verdict.OUT_OF_REACH:
        async with in_transaction() as conn:
            await mail.cancel_out_of_reach(row, using=conn)
    else:
        await OutboundEmail.filter(id=row.id).update(
            status=MailStatus.CANCELLED,
            last_error="recipient may no longer read this, or a post it quotes is withdrawn",
        )
    return None


async def _deliver(settings: Settings, row: OutboundEmail) -> None:
    """Hand one message to the configured backend. Raises on failure."""
    message = build_message(settings, row)
    email = settings.email
    if email.backend == "folder":
        folder = settings.path(email.folder)
        await asyncio.to_thread(_write_file, folder, row, message)
        links = " ".join(_LINK.findall(row.body_text))
        log.info("mail to %s: %s%s", row.to_address, row.subject, f" — {links}" if links else "")
        return
    # Sent as the bytes we wrote: aiosmtplib would otherwise write the message again with
    # its own policy, refolding (and encoding) the headers written as given.
    await aiosmtplib.send(
        message.as_bytes(policy=POLICY),
        sender=_address_of(settings.email.from_address),
        recipients=[row.to_address],
        hostname=email.host,
        port=email.port,
        username=email.username or None,
        password=email.password or None,
        use_tls=email.security == "tls",
        start_tls=email.security == "starttls",
        tls_context=_tls_context(str(settings.path(email.ca_file))) if email.ca_file else None,
        timeout=email.timeout_seconds,
    )


def _address_of(value: str) -> str:
    """The bare address of a From value such as `Forum <forum@example.org>`."""
    return parseaddr(value)[1] or value


@cache
def _tls_context(ca_file: str) -> ssl.SSLContext:
    """Verifies the server against `ca_file` only (its host name too), as the default
    context does against the system's authorities. Read once per process."""
    return ssl.create_default_context(cafile=ca_file)


def _file_name(row: OutboundEmail) -> str:
    """The name of the message's copy in the mail folder."""
    return f"{row.created_at.strftime('%Y%m%dT%H%M%S')}-{row.id}.eml"


def _write_file(folder: Path, row: OutboundEmail, message: EmailMessage) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _file_name(row)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(message.as_bytes(policy=POLICY))
    tmp.replace(path)


async def _claim(row: OutboundEmail) -> bool:
    """Take this message for this process (False if another process took it first)."""
    updated = await OutboundEmail.filter(
        id=row.id, status=MailStatus.QUEUED, next_attempt_at=row.next_attempt_at
    ).update(next_attempt_at=utcnow() + CLAIM)
    return bool(updated)


async def remove_withdrawn_copies(settings: Settings, *, limit: int = 200) -> int:
    """Delete from the mail folder the copies of messages that quoted a post since withdrawn
    (`forum.mail.services.withdraw_posts` has already taken the text out of the outbox).
    The folder is looked in whatever the backend is now: copies written while it was
    "folder" go too. Returns how many messages' copies were looked for."""
    links = (
        await OutboundEmailPost.filter(withdrawn_at__isnull=False)
        .select_related("email")
        .order_by("id")
        .limit(limit)
    )
    if not links:
        return 0
    folder = settings.path(settings.email.folder)
    names = sorted({_file_name(link.email) for link in links})
    await asyncio.to_thread(_remove_files, folder, names)
    await OutboundEmailPost.filter(id__in=[link.id for link in links]).delete()
    return len(names)


def _remove_files(folder: Path, names: list[str]) -> None:
    for name in names:
        (folder / name).unlink(missing_ok=True)
        (folder / name).with_suffix(".tmp").unlink(missing_ok=True)


async def deliver_due(settings: Settings, *, limit: int = 50) -> tuple[int, int]:
    """Remove the copies of withdrawn messages from the mail folder, then try every message
    whose time has come. Returns (sent, failed attempts)."""
    await remove_withdrawn_copies(settings)
    now = utcnow()
    rows = (
        await OutboundEmail.filter(status=MailStatus.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .limit(limit)
    )
    sent = failed = 0
    for row in rows:
        if not await _claim(row):
            continue
        checked = await _as_it_may_go(row)
        if checked is None:
            continue
        row = checked
        try:
            await _deliver(settings, row)
        except Exception as exc:  # any failure at all: keep the message, try again later
            failed += 1
            attempts = row.attempts + 1
            gave_up = attempts >= MAX_ATTEMPTS
            await OutboundEmail.filter(id=row.id).update(
                attempts=attempts,
                status=MailStatus.FAILED if gave_up else MailStatus.QUEUED,
                next_attempt_at=utcnow() + backoff(attempts),
                last_error=f"{type(exc).__name__}: {exc}"[:1000],
            )
            log.warning(
                "mail to %s not sent (attempt %d%s): %s",
                row.to_address,
                attempts,
                ", giving up" if gave_up else "",
                exc,
            )
            continue
        sent += 1
        await OutboundEmail.filter(id=row.id).update(
            status=MailStatus.SENT, attempts=row.attempts + 1, sent_at=utcnow(), last_error=""
        )
    return sent, failed
