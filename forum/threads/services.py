"""Every write to threads, posts and summaries.

Each public function checks that the viewer may do it, validates the input, writes in one
transaction, and records the change for the search indexer in that same transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from forum import changes, markdown, permissions
from forum.audit import services as audit
from forum.config import LimitSettings
from forum.errors import NotFound, PermissionDenied, ValidationError
from forum.networks.models import Network
from forum.permissions import Viewer
from forum.text import TAG_RE, clean, clean_line, parse_tags, slugify
from forum.threads.models import Post, PostRevision, Summary, Tag, Thread, ThreadRedirect
from forum.timeutil import utcnow

DEFAULT_LIMITS = LimitSettings()


def new_ref(prefix: str) -> str:
    """An archive id for a record written here (imported records keep the archive's own)."""
    return f"{prefix}-{secrets.token_hex(6)}"


@dataclass(frozen=True, slots=True)
class Draft:
    """Validated, cleaned input for a new thread or post."""

    title: str
    body: str
    tags: list[str]


def validate_body(body: str, limits: LimitSettings) -> str:
    """Clean a Markdown body; raise ValidationError naming the problem."""
    body = clean(body)
    if not body.strip():
        raise ValidationError({"body": "Write something before posting."})
    if len(body) > limits.body_max:
        raise ValidationError(
            {
                "body": f"This is {len(body):,} characters long; the limit is "
                f"{limits.body_max:,}. Shorten it or split it into several posts."
            }
        )
    return body


def validate_thread(
    *, title: str, body: str, tags: str | list[str], limits: LimitSettings
) -> Draft:
    errors: dict[str, str] = {}
    title = clean_line(title)
    if not title:
        errors["title"] = "Give the thread a title."
    elif len(title) > limits.title_max:
        errors["title"] = (
            f"The title is {len(title)} characters long; the limit is {limits.title_max}."
        )
    try:
        body = validate_body(body, limits)
    except ValidationError as exc:
        errors.update(exc.errors)
    tag_list = parse_tags(tags) if isinstance(tags, str) else [t for t in tags if t]
    bad = [t for t in tag_list if not TAG_RE.match(t)]
    if bad:
        errors["tags"] = f"Tag {bad[0]!r} is not valid: use letters, digits and hyphens."
    elif len(tag_list) > limits.tags_max:
        errors["tags"] = f"Use at most {limits.tags_max} tags (you gave {len(tag_list)})."
    if errors:
        raise ValidationError(errors)
    return Draft(title=title, body=body, tags=tag_list)


async def get_or_create_tags(slugs: list[str], using: BaseDBAsyncClient) -> list[Tag]:
    found = {t.slug: t for t in await Tag.filter(slug__in=slugs).using_db(using)}
    return [found.get(slug) or await Tag.create(slug=slug, using_db=using) for slug in slugs]


async def create_thread(
    *,
    viewer: Viewer,
    network: Network,
    title: str,
    body: str,
    tags: str | list[str] = "",
    limits: LimitSettings = DEFAULT_LIMITS,
) -> Thread:
    """Start a thread with its opening post.

    Raises NotFound if the viewer may not see the network, PermissionDenied if they may not
    write in it, ValidationError for a bad title, body or tags.
    """
    permissions.require_post(viewer, network)
    assert viewer.user is not None
    draft = validate_thread(title=title, body=body, tags=tags, limits=limits)
    rendered = markdown.render(draft.body)
    now = utcnow()
    async with in_transaction() as conn:
        thread = await Thread.create(
            ref=new_ref("t"),
            network=network,
            title=draft.title,
            slug=slugify(draft.title),
            author=viewer.user,
            created_at=now,
            last_activity_at=now,
            using_db=conn,
        )
        if draft.tags:
            await thread.tags.add(*await get_or_create_tags(draft.tags, conn), using_db=conn)
        post = await Post.create(
            ref=new_ref("p"),
            thread=thread,
            author=viewer.user,
            body=draft.body,
            body_html=rendered.html,
            body_text=rendered.text,
            created_at=now,
            using_db=conn,
        )
        await changes.record("thread", thread.id, using=conn)
        await changes.record("post", post.id, using=conn)
    return thread


async def reply(
    *,
    viewer: Viewer,
    thread: Thread,
    body: str,
    parent_id: int | None = None,
    limits: LimitSettings = DEFAULT_LIMITS,
) -> Post:
    """Reply to a thread, or to one of its posts (`parent_id`).

    Raises PermissionDenied if the viewer may not write here or the thread is locked,
    ValidationError for an empty or overlong body or a parent that is not a post of this thread.
    """
    network = thread.network
    permissions.require_post(viewer, network)
    assert viewer.user is not None
    if thread.locked and not viewer.is_facilitator(network):
        raise PermissionDenied("This thread is locked: no new replies can be added.")
    body = validate_body(body, limits)
    if parent_id is not None and not await Post.exists(id=parent_id, thread_id=thread.id):
        raise ValidationError({"parent": "The post you are replying to is not in this thread."})
    rendered = markdown.render(body)
    now = utcnow()
    async with in_transaction() as conn:
        post = await Post.create(
            ref=new_ref("p"),
            thread_id=thread.id,
            author=viewer.user,
            parent_id=parent_id,
            body=body,
            body_html=rendered.html,
            body_text=rendered.text,
            created_at=now,
            using_db=conn,
        )
        await (
            Thread.filter(id=thread.id)
            .using_db(conn)
            .update(reply_count=F("reply_count") + 1, last_activity_at=now)
        )
        await changes.record("post", post.id, using=conn)
    return post


async def edit_post(
    *,
    viewer: Viewer,
    post: Post,
    network: Network,
    body: str,
    limits: LimitSettings = DEFAULT_LIMITS,
) -> Post:
    """Replace a post's body, keeping the previous version in its history.

    Raises PermissionDenied unless the viewer wrote it (and is still a member) or facilitates
    the network; ValidationError for an empty or overlong body.
    """
    permissions.require_read(viewer, network)
    if not permissions.can_edit_post(viewer, post, network):
        raise PermissionDenied("You can only edit your own posts.")
    assert viewer.user is not None
    body = validate_body(body, limits)
    if body == post.body:
        return post
    rendered = markdown.render(body)
    now = utcnow()
    async with in_transaction() as conn:
        await PostRevision.create(
            post_id=post.id,
            body=post.body,
            body_html=post.body_html,
            created_at=post.edited_at or post.created_at,
            editor_id=post.edited_by_id or post.author_id,
            using_db=conn,
        )
        post.body = body
        post.body_html = rendered.html
        post.body_text = rendered.text
        post.edited_at = now
        post.edited_by_id = viewer.user.id
        await post.save(
            using_db=conn,
            update_fields=["body", "body_html", "body_text", "edited_at", "edited_by_id"],
        )
        await changes.record("post", post.id, using=conn)
    return post


async def delete_post(*, viewer: Viewer, post: Post, network: Network) -> Post:
    """Soft-delete a post: it keeps its place (and its replies) but shows a placeholder.

    Raises PermissionDenied unless the viewer wrote it or facilitates the network.
    """
    permissions.require_read(viewer, network)
    if not permissions.can_edit_post(viewer, post, network):
        raise PermissionDenied("You can only delete your own posts.")
    now = utcnow()
    async with in_transaction() as conn:
        updated = (
            await Post.filter(id=post.id, deleted=False)
            .using_db(conn)
            .update(deleted=True, deleted_at=now)
        )
        # The reply count leaves out the opening post.
        if updated and not await _is_opening(post):
            await (
                Thread.filter(id=post.thread_id, reply_count__gt=0)
                .using_db(conn)
                .update(reply_count=F("reply_count") - 1)
            )
        await changes.record("post", post.id, using=conn)
    post.deleted = True
    post.deleted_at = now
    return post


async def _is_opening(post: Post) -> bool:
    first = await Post.filter(thread_id=post.thread_id).order_by("created_at", "id").first()
    return first is not None and first.id == post.id


# Curating threads: facilitators of the thread's network, and admins. Each action is one
# transaction that also writes its audit entry and tells search what changed; an action that
# would change nothing writes nothing.

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


async def get_post(post_id: int) -> Post:
    """A post with its thread and network loaded. Raises NotFound."""
    post = await Post.filter(id=post_id).select_related("thread__network").first()
    if post is None:
        raise NotFound("no such post")
    return post
