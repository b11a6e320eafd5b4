"""Every write to a summary. Facilitators of the thread's network (and admins) only.

Each edit keeps the previous version as a SummaryRevision, so the history holds every
version; a restore is a new version with an old text. Each write records a "summary" change
(object id: the thread's id) for the search indexer in the same transaction.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from forum import changes, permissions, rendering
from forum.config import LimitSettings
from forum.errors import NotFound, PermissionDenied, ValidationError
from forum.knowledge.queries import summary_versions
from forum.notifications import services as notifications
from forum.permissions import Viewer
from forum.threads.models import Post, Summary, SummaryRevision, Thread
from forum.threads.services import DEFAULT_LIMITS, validate_body
from forum.threads.services import preview as preview  # the summary form previews too
from forum.timeutil import utcnow


def can_facilitate(viewer: Viewer, thread: Thread) -> bool:
    return permissions.can_moderate(viewer, thread.network)


def require_facilitator(viewer: Viewer, thread: Thread) -> None:
    """NotFound for those who may not read the network, PermissionDenied for other
    non-facilitators."""
    permissions.require_read(viewer, thread.network)
    if not can_facilitate(viewer, thread):
        raise PermissionDenied("Only the network's facilitators can summarise its threads.")


async def source_post(thread: Thread, post_id: int | None) -> Post | None:
    """The reply a summary is promoted from: a live post of this thread, or ValidationError."""
    if post_id is None:
        return None
    post = (
        await Post.filter(
            id=post_id, thread_id=thread.id, deleted=False, hidden=False, redacted_at__isnull=True
        )
        .select_related("author__organisation")
        .first()
    )
    if post is None:
        raise ValidationError({"body": "The reply to promote is not a live post of this thread."})
    return post


async def write_summary(
    *,
    viewer: Viewer,
    thread: Thread,
    body: str,
    source_post_id: int | None = None,
    limits: LimitSettings = DEFAULT_LIMITS,
) -> Summary:
    """Write the thread's summary, or a new version of it (the old one goes to its history).

    `source_post_id` credits a reply the text was promoted from. Writing also marks the
    summary reviewed. Raises NotFound, PermissionDenied or ValidationError.
    """
    require_facilitator(viewer, thread)
    assert viewer.user is not None
    body = validate_body(body, limits)
    source = await source_post(thread, source_post_id)
    rendered = await rendering.render(body, limits)
    now = utcnow()
    async with in_transaction() as conn:
        summary = await Summary.filter(thread_id=thread.id).using_db(conn).first()
        if summary is None:
            summary = await Summary.create(
                thread_id=thread.id,
                author=viewer.user,
                body=body,
                body_html=rendered.html,
                body_text=rendered.text,
                created_at=now,
                reviewed_at=now,
                reviewed_by=viewer.user,
                source_post=source,
                using_db=conn,
            )
        elif body == summary.body and source is None:
            return summary
        else:
            await SummaryRevision.create(
                summary_id=summary.id,
                body=summary.body,
                body_html=summary.body_html,
                created_at=summary.updated_at or summary.created_at,
                editor_id=summary.edited_by_id or summary.author_id,
                using_db=conn,
            )
            summary.body = body
            summary.body_html = rendered.html
            summary.body_text = rendered.text
            summary.updated_at = now
            summary.edited_by_id = viewer.user.id
            summary.reviewed_at = now
            summary.reviewed_by_id = viewer.user.id
            if source is not None:
                summary.source_post_id = source.id
            await summary.save(using_db=conn)
        await changes.record("summary", thread.id, using=conn)
        await notifications.summary_changed(
            thread=thread, network=thread.network, actor=viewer.user, using=conn
        )
    return summary


async def restore_version(
    *, viewer: Viewer, thread: Thread, version: int, limits: LimitSettings = DEFAULT_LIMITS
) -> Summary:
    """Make an earlier version (1 is the first) the current one, as a new version."""
    require_facilitator(viewer, thread)
    summary = await Summary.filter(thread_id=thread.id).first()
    if summary is None:
        raise NotFound("this thread has no summary")
    versions = await summary_versions(summary)
    if not 1 <= version <= len(versions):
        raise ValidationError({"version": f"There is no version {version}."})
    return await write_summary(
        viewer=viewer, thread=thread, body=versions[version - 1].body, limits=limits
    )


async def mark_reviewed(*, viewer: Viewer, thread: Thread) -> Summary:
    """Confirm that the summary still covers the discussion: it is no longer stale."""
    require_facilitator(viewer, thread)
    assert viewer.user is not None
    summary = await Summary.filter(thread_id=thread.id).first()
    if summary is None:
        raise NotFound("this thread has no summary")
    summary.reviewed_at = utcnow()
    summary.reviewed_by_id = viewer.user.id
    async with in_transaction() as conn:
        await summary.save(update_fields=["reviewed_at", "reviewed_by_id"], using_db=conn)
        # The knowledge base orders and flags articles by their last review.
        await changes.record("summary", thread.id, using=conn)
    return summary
