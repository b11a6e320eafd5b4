"""Every write to threads, posts and summaries.

Each public function checks that the viewer may do it, validates the input, writes in one
transaction, and records the change for the search indexer in that same transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from forum import changes, permissions, rendering
from forum.config import LimitSettings
from forum.errors import NotFound, PermissionDenied, ValidationError
from forum.mail import services as mail
from forum.networks.models import Network
from forum.notifications import services as notifications
from forum.permissions import Viewer
from forum.text import TAG_RE, clean, clean_line, parse_tags, slugify
from forum.threads.models import Post, PostRevision, Tag, Thread
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


async def preview(body: str, limits: LimitSettings = DEFAULT_LIMITS) -> str:
    """The HTML a body would be stored as, for a preview: validated and rendered like a post
    (off the event loop, within the time and size budgets). Raises ValidationError."""
    body = validate_body(body, limits)
    return (await rendering.render(body, limits)).html


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
    rendered = await rendering.render(draft.body, limits)
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
        await notifications.post_created(
            post=post,
            thread=thread,
            network=network,
            mentions=rendered.mentions,
            new_thread=True,
            using=conn,
        )
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
    rendered = await rendering.render(body, limits)
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
        await notifications.post_created(
            post=post,
            thread=thread,
            network=network,
            mentions=rendered.mentions,
            new_thread=False,
            using=conn,
        )
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
    rendered = await rendering.render(body, limits)
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
    """Soft-delete a post: it keeps its place (and its replies) but shows a placeholder;
    emails quoting it that are not yet sent are cancelled (`mail.withdraw_posts`).

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
        await mail.withdraw_posts([post.id], using=conn)
        await changes.record("post", post.id, using=conn)
    post.deleted = True
    post.deleted_at = now
    return post


async def _is_opening(post: Post) -> bool:
    first = await Post.filter(thread_id=post.thread_id).order_by("created_at", "id").first()
    return first is not None and first.id == post.id


async def get_post(post_id: int) -> Post:
    """A post with its thread and network loaded. Raises NotFound."""
    post = await Post.filter(id=post_id).select_related("thread__network").first()
    if post is None:
        raise NotFound("no such post")
    return post
