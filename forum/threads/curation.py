"""Curating threads: pin, lock, tags, rename, move, merge.

Facilitators of the thread's network, and admins. Each action is one transaction that also
writes its audit entry and tells search what changed; an action that would change nothing
writes nothing.
"""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from forum import changes, permissions
from forum.audit import services as audit
from forum.config import LimitSettings
from forum.errors import PermissionDenied, ValidationError
from forum.networks.models import Network
from forum.permissions import Viewer
from forum.text import clean_line, slugify
from forum.threads.models import Post, Summary, Tag, Thread, ThreadRedirect
from forum.threads.services import DEFAULT_LIMITS, Draft, get_or_create_tags, validate_thread

# Thread.lock_reason's column.
LOCK_REASON_MAX = 500


def _require_curate(viewer: Viewer, network: Network) -> None:
    permissions.require_read(viewer, network)
    if not permissions.can_moderate(viewer, network):
        raise PermissionDenied("Only the network's facilitators can do this.")


def _checked(limits: LimitSettings, *, title: str = "-", tags: str | list[str] = "") -> Draft:
    # validate_thread checks a whole new thread; curating changes one part of it, so the other
    # parts are placeholders that always pass, and the rules stay in one place.
    return validate_thread(title=title, body="-", tags=tags, limits=limits)


async def _update(
    viewer: Viewer,
    thread: Thread,
    action: str,
    values: dict[str, Any],
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> Thread:
    """Set `values` on the thread, note the change for search and audit it, in one transaction.
    The audit entry's before/after default to the old and new `values`."""
    old = {name: getattr(thread, name) for name in values}
    async with in_transaction() as conn:
        await Thread.filter(id=thread.id).using_db(conn).update(**values)
        await changes.record("thread", thread.id, using=conn)
        await audit.record(
            actor=viewer.user,
            action=action,
            network_id=thread.network_id,
            thread_id=thread.id,
            before=old if before is None else before,
            after=values if after is None else after,
            using=conn,
        )
    for name, value in values.items():
        setattr(thread, name, value)
    return thread


async def set_pinned(*, viewer: Viewer, thread: Thread, pinned: bool) -> Thread:
    """Pin a thread to the top of its network, or unpin it (audited as thread.pin/unpin).

    Raises NotFound if the viewer may not read the network, PermissionDenied unless they
    facilitate it or are an admin.
    """
    _require_curate(viewer, thread.network)
    if thread.pinned == pinned:
        return thread
    return await _update(
        viewer, thread, "thread.pin" if pinned else "thread.unpin", {"pinned": pinned}
    )


async def set_locked(*, viewer: Viewer, thread: Thread, locked: bool, reason: str = "") -> Thread:
    """Lock a thread against new replies, with a reason shown in place of the reply box, or
    unlock it (audited as thread.lock/unlock). Locking a locked thread changes its reason.

    Raises NotFound or PermissionDenied as `set_pinned`, ValidationError for an overlong
    reason.
    """
    _require_curate(viewer, thread.network)
    reason = clean_line(reason) if locked else ""
    if len(reason) > LOCK_REASON_MAX:
        raise ValidationError(
            {
                "reason": f"The reason is {len(reason)} characters long; "
                f"the limit is {LOCK_REASON_MAX}."
            }
        )
    if thread.locked == locked and thread.lock_reason == reason:
        return thread
    action = "thread.lock" if locked else "thread.unlock"
    return await _update(viewer, thread, action, {"locked": locked, "lock_reason": reason})


async def set_tags(
    *,
    viewer: Viewer,
    thread: Thread,
    tags: str | list[str],
    limits: LimitSettings = DEFAULT_LIMITS,
) -> Thread:
    """Replace a thread's tags ("data teams, governance" or a list of slugs), checked as for a
    new thread; audited as thread.tags.

    Raises NotFound or PermissionDenied as `set_pinned`, ValidationError for bad or too many
    tags.
    """
    _require_curate(viewer, thread.network)
    new = sorted(_checked(limits, tags=tags).tags)
    rows: list[Any] = await Tag.filter(threads__id=thread.id).values_list("slug", flat=True)
    old = sorted(str(slug) for slug in rows)
    if new == old:
        return thread
    async with in_transaction() as conn:
        await thread.tags.clear(using_db=conn)
        if new:
            await thread.tags.add(*await get_or_create_tags(new, conn), using_db=conn)
        await changes.record("thread", thread.id, using=conn)
        await audit.record(
            actor=viewer.user,
            action="thread.tags",
            network_id=thread.network_id,
            thread_id=thread.id,
            before={"tags": old},
            after={"tags": new},
            using=conn,
        )
    return thread


async def rename_thread(
    *, viewer: Viewer, thread: Thread, title: str, limits: LimitSettings = DEFAULT_LIMITS
) -> Thread:
    """Give a thread a new title (checked as for a new thread) and the slug that follows from
    it; links with the old slug redirect. Audited as thread.rename.

    Raises NotFound or PermissionDenied as `set_pinned`, ValidationError for a bad title.
    """
    _require_curate(viewer, thread.network)
    title = _checked(limits, title=title).title
    if title == thread.title:
        return thread
    return await _update(
        viewer,
        thread,
        "thread.rename",
        {"title": title, "slug": slugify(title)},
        before={"title": thread.title},
        after={"title": title},
    )


async def move_thread(*, viewer: Viewer, thread: Thread, to: Network) -> Thread:
    """Move a thread (with its posts and summary) to another network; links to it in the old
    network redirect. Audited as thread.move, with both networks' slugs.

    Raises NotFound or PermissionDenied as `set_pinned`; PermissionDenied unless the viewer
    also facilitates `to`; ValidationError if the thread is already there.
    """
    _require_curate(viewer, thread.network)
    if not permissions.can_moderate(viewer, to):
        raise PermissionDenied("You can only move a thread to a network you facilitate.")
    if to.id == thread.network_id:
        raise ValidationError({"network": "The thread is already in this network."})
    before = {"network": thread.network.slug}
    async with in_transaction() as conn:
        await Thread.filter(id=thread.id).using_db(conn).update(network_id=to.id)
        await changes.record("thread", thread.id, using=conn)
        await audit.record(
            actor=viewer.user,
            action="thread.move",
            network_id=to.id,
            thread_id=thread.id,
            before=before,
            after={"network": to.slug},
            using=conn,
        )
    thread.network = to
    return thread


async def merge_threads(*, viewer: Viewer, duplicate: Thread, into: Thread) -> Thread:
    """Merge `duplicate` into `into` and delete it; returns `into`, refreshed.

    The duplicate's posts move across (with their reply links; the thread reads in time
    order), the tags are united, its summary moves across if `into` has none (otherwise it is
    dropped, its text kept in the audit entry), and links to it redirect to `into` (as do
    links to threads merged into it before). Both threads' networks must be loaded. Audited as
    thread.merge.

    Raises NotFound or PermissionDenied as `set_pinned` for the duplicate's network;
    PermissionDenied unless the viewer also facilitates `into`'s network; ValidationError
    when both are the same thread.
    """
    _require_curate(viewer, duplicate.network)
    if not permissions.can_moderate(viewer, into.network):
        raise PermissionDenied("You can only merge into a thread of a network you facilitate.")
    if into.id == duplicate.id:
        raise ValidationError({"target": "A thread cannot be merged into itself."})
    before: dict[str, Any] = {
        "thread_id": duplicate.id,
        "title": duplicate.title,
        "network": duplicate.network.slug,
    }
    async with in_transaction() as conn:
        moved: list[Any] = await (
            Post.filter(thread_id=duplicate.id).using_db(conn).values_list("id", flat=True)
        )
        await Post.filter(thread_id=duplicate.id).using_db(conn).update(thread_id=into.id)

        have = {t.id for t in await Tag.filter(threads__id=into.id).using_db(conn)}
        extra = [
            t for t in await Tag.filter(threads__id=duplicate.id).using_db(conn) if t.id not in have
        ]
        if extra:
            await into.tags.add(*extra, using_db=conn)

        summary = await Summary.filter(thread_id=duplicate.id).using_db(conn).first()
        if summary is not None:
            if await Summary.filter(thread_id=into.id).using_db(conn).exists():
                before["dropped_summary"] = summary.body
                await Summary.filter(id=summary.id).using_db(conn).delete()
            else:
                await Summary.filter(id=summary.id).using_db(conn).update(thread_id=into.id)

        await ThreadRedirect.filter(thread_id=duplicate.id).using_db(conn).update(thread_id=into.id)
        await ThreadRedirect.create(old_thread_id=duplicate.id, thread_id=into.id, using_db=conn)

        # The counts follow the posts: the opening post is the earliest, and is no reply.
        first = (
            await Post.filter(thread_id=into.id).using_db(conn).order_by("created_at", "id").first()
        )
        assert first is not None
        reply_count = await (
            Post.filter(thread_id=into.id, deleted=False)
            .exclude(id=first.id)
            .using_db(conn)
            .count()
        )
        latest = await Post.filter(thread_id=into.id).using_db(conn).order_by("-created_at").first()
        last_activity = max(
            into.last_activity_at, latest.created_at if latest else first.created_at
        )
        await (
            Thread.filter(id=into.id)
            .using_db(conn)
            .update(reply_count=reply_count, last_activity_at=last_activity)
        )

        await changes.record_many("post", [int(i) for i in moved], using=conn)
        await changes.record("thread", into.id, using=conn)
        # The duplicate's own summary document goes (its summary is gone or now into's).
        await changes.record("summary", duplicate.id, using=conn)
        await audit.record(
            actor=viewer.user,
            action="thread.merge",
            network_id=into.network_id,
            thread_id=into.id,
            before=before,
            after={"thread_id": into.id, "title": into.title, "network": into.network.slug},
            using=conn,
        )
        await Thread.filter(id=duplicate.id).using_db(conn).delete()
    into.reply_count = reply_count
    into.last_activity_at = last_activity
    return into
