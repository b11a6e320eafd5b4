"""Every write of moderation: flag a post; hide, restore or redact it; dismiss a flag.

Members flag posts of their networks. Facilitators of the post's network (and admins) deal
with flags. Each facilitator action writes an audit entry and, where search must learn it,
a change, in its own transaction; dealing with a post closes its open flags.
"""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from forum import changes, permissions
from forum.audit import services as audit
from forum.errors import PermissionDenied, ValidationError
from forum.mail import services as mail
from forum.moderation.models import Flag, FlagReason, FlagStatus
from forum.networks.models import Network
from forum.notifications import services as notifications
from forum.notifications.models import NotificationKind
from forum.permissions import Viewer
from forum.text import clean_line
from forum.threads.models import Post, PostRevision, Thread
from forum.timeutil import utcnow

NOTE_MAX = 1000
HIDE_NOTE_MAX = 500
# What stays of a redacted post's text, in every version.
REDACTED = "[Removed: personal data shared by mistake]"


def _require_facilitator(viewer: Viewer, network: Network) -> None:
    permissions.require_read(viewer, network)
    if not permissions.can_moderate(viewer, network):
        raise PermissionDenied("Only the network's facilitators can moderate its posts.")


async def flag_post(
    *, viewer: Viewer, post: Post, network: Network, reason: str, note: str = ""
) -> Flag:
    """A member reports a post. One open flag per member and post: flagging again updates it.

    Raises NotFound, PermissionDenied (not a member, or the post is gone) or ValidationError
    (an unknown reason, "other" without a note, an overlong note).
    """
    permissions.require_post(viewer, network)
    assert viewer.user is not None
    if post.withdrawn:
        raise PermissionDenied("This post is no longer shown: there is nothing to flag.")
    errors: dict[str, str] = {}
    try:
        why = FlagReason(reason)
    except ValueError:
        errors["reason"] = "Choose why you are flagging this post."
        why = FlagReason.OTHER
    note = clean_line(note)
    if len(note) > NOTE_MAX:
        errors["note"] = f"The note is {len(note):,} characters long; the limit is {NOTE_MAX:,}."
    elif why == FlagReason.OTHER and not note and "reason" not in errors:
        errors["note"] = "Say what is wrong with the post."
    if errors:
        raise ValidationError(errors)
    flag = await Flag.filter(
        post_id=post.id, reporter_id=viewer.user.id, status=FlagStatus.OPEN
    ).first()
    if flag is not None:
        flag.reason, flag.note = why, note
        await flag.save(update_fields=["reason", "note"])
        return flag
    return await Flag.create(
        post_id=post.id, reporter_id=viewer.user.id, reason=why, note=note, created_at=utcnow()
    )


async def _close_flags(
    post: Post, viewer: Viewer, status: FlagStatus, conn: BaseDBAsyncClient
) -> int:
    """Close the post's open flags, telling each reporter that theirs was dealt with."""
    reporters: list[Any] = list(
        await Flag.filter(post_id=post.id, status=FlagStatus.OPEN)
        .using_db(conn)
        .values_list("reporter_id", flat=True)
    )
    closed = int(
        await Flag.filter(post_id=post.id, status=FlagStatus.OPEN)
        .using_db(conn)
        .update(status=status, resolved_by_id=viewer.user_id, resolved_at=utcnow())
    )
    for reporter_id in reporters:
        await _tell_reporter(int(reporter_id), post, viewer, conn)
    return closed


async def _tell_reporter(
    reporter_id: int, post: Post, viewer: Viewer, conn: BaseDBAsyncClient
) -> None:
    thread = await Thread.filter(id=post.thread_id).using_db(conn).only("id", "network_id").first()
    await notifications.notify(
        user_id=reporter_id,
        kind=NotificationKind.FLAG_RESOLVED,
        actor=viewer.user,
        network_id=thread.network_id if thread else None,
        thread_id=post.thread_id,
        post_id=post.id,
        using=conn,
    )


async def hide_post(*, viewer: Viewer, post: Post, network: Network, note: str = "") -> Post:
    """Hide a post from everyone but facilitators (kept, with the note); it leaves search,
    and emails quoting it that are not yet sent are cancelled (`mail.withdraw_posts`)."""
    _require_facilitator(viewer, network)
    note = clean_line(note)
    if len(note) > HIDE_NOTE_MAX:
        raise ValidationError(
            {"note": f"The note is {len(note):,} characters long; the limit is {HIDE_NOTE_MAX}."}
        )
    if post.hidden or post.deleted:
        return post
    now = utcnow()
    async with in_transaction() as conn:
        await (
            Post.filter(id=post.id)
            .using_db(conn)
            .update(hidden=True, hidden_note=note, hidden_by_id=viewer.user_id, hidden_at=now)
        )
        closed = await _close_flags(post, viewer, FlagStatus.ACTIONED, conn)
        await mail.withdraw_posts([post.id], using=conn)
        await changes.record("post", post.id, using=conn)
        await audit.record(
            actor=viewer.user,
            action="post.hide",
            network_id=network.id,
            thread_id=post.thread_id,
            post_id=post.id,
            before={"hidden": False},
            after={"hidden": True, "note": note, "flags closed": closed},
            using=conn,
        )
    post.hidden, post.hidden_note, post.hidden_by_id, post.hidden_at = (
        True,
        note,
        viewer.user_id,
        now,
    )
    return post


async def restore_post(*, viewer: Viewer, post: Post, network: Network) -> Post:
    """Show a hidden post again; it returns to search."""
    _require_facilitator(viewer, network)
    if not post.hidden:
        return post
    async with in_transaction() as conn:
        await (
            Post.filter(id=post.id)
            .using_db(conn)
            .update(hidden=False, hidden_note="", hidden_by_id=None, hidden_at=None)
        )
        await changes.record("post", post.id, using=conn)
        await audit.record(
            actor=viewer.user,
            action="post.restore",
            network_id=network.id,
            thread_id=post.thread_id,
            post_id=post.id,
            before={"hidden": True, "note": post.hidden_note},
            after={"hidden": False},
            using=conn,
        )
    post.hidden, post.hidden_note, post.hidden_by_id, post.hidden_at = False, "", None, None
    return post


async def redact_post(*, viewer: Viewer, post: Post, network: Network) -> Post:
    """Remove a post's text from every one of its versions (personal data shared by
    mistake), keeping who redacted it and when. The post leaves search, and the outbox and
    the mail folder (`mail.withdraw_posts`). Cannot be undone: the audit entry does not keep
    the text either."""
    _require_facilitator(viewer, network)
    if post.redacted_at is not None:
        return post
    now = utcnow()
    async with in_transaction() as conn:
        await (
            Post.filter(id=post.id)
            .using_db(conn)
            .update(
                body=REDACTED,
                body_html="",
                body_text="",
                redacted_by_id=viewer.user_id,
                redacted_at=now,
            )
        )
        versions = (
            await PostRevision.filter(post_id=post.id)
            .using_db(conn)
            .update(body=REDACTED, body_html="")
        )
        closed = await _close_flags(post, viewer, FlagStatus.ACTIONED, conn)
        await mail.withdraw_posts([post.id], using=conn)
        await changes.record("post", post.id, using=conn)
        await audit.record(
            actor=viewer.user,
            action="post.redact",
            network_id=network.id,
            thread_id=post.thread_id,
            post_id=post.id,
            before={"versions": int(versions) + 1},
            after={"redacted": True, "flags closed": closed},
            using=conn,
        )
    post.body, post.body_html, post.body_text = REDACTED, "", ""
    post.redacted_by_id, post.redacted_at = viewer.user_id, now
    return post


async def dismiss_flag(*, viewer: Viewer, flag: Flag, network: Network) -> Flag:
    """Close a flag without acting on the post."""
    _require_facilitator(viewer, network)
    if flag.status != FlagStatus.OPEN:
        return flag
    now = utcnow()
    async with in_transaction() as conn:
        await (
            Flag.filter(id=flag.id)
            .using_db(conn)
            .update(status=FlagStatus.DISMISSED, resolved_by_id=viewer.user_id, resolved_at=now)
        )
        post = await Post.filter(id=flag.post_id).using_db(conn).get()
        await _tell_reporter(flag.reporter_id, post, viewer, conn)
        await audit.record(
            actor=viewer.user,
            action="flag.dismiss",
            network_id=network.id,
            post_id=flag.post_id,
            before={"flag": flag.id, "reason": str(flag.reason)},
            after={"status": "dismissed"},
            using=conn,
        )
    flag.status, flag.resolved_by_id, flag.resolved_at = FlagStatus.DISMISSED, viewer.user_id, now
    return flag
