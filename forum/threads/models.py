"""Threads, posts (with their edit history), summaries and tags."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from forum.accounts.models import User
    from forum.networks.models import Network


class Tag(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)

    class Meta:
        table = "tags"
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Thread(Model):
    id = fields.IntField(primary_key=True)
    # The archive's identifier for this thread: kept so that export → import → export is stable.
    ref = fields.CharField(max_length=200, unique=True)
    network: fields.ForeignKeyRelation[Network] = fields.ForeignKeyField(
        "models.Network", related_name="threads", on_delete=fields.CASCADE
    )
    title = fields.CharField(max_length=500)
    slug = fields.CharField(max_length=80)
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="threads", on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField()
    # Denormalised so that a network page is one query whatever its size.
    last_activity_at = fields.DatetimeField()
    reply_count = fields.IntField(default=0)
    pinned = fields.BooleanField(default=False)
    locked = fields.BooleanField(default=False)
    # Why it was locked, shown in place of the reply box.
    lock_reason = fields.CharField(max_length=500, default="", db_default="")
    tags: fields.ManyToManyRelation[Tag] = fields.ManyToManyField(
        "models.Tag", related_name="threads", through="thread_tags"
    )

    network_id: int
    author_id: int

    class Meta:
        table = "threads"
        indexes = (("network_id", "pinned", "last_activity_at"),)

    def __str__(self) -> str:
        return self.title


class Post(Model):
    id = fields.IntField(primary_key=True)
    ref = fields.CharField(max_length=200, unique=True)
    thread: fields.ForeignKeyRelation[Thread] = fields.ForeignKeyField(
        "models.Thread", related_name="posts", on_delete=fields.CASCADE
    )
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="posts", on_delete=fields.RESTRICT
    )
    parent: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="replies", null=True, on_delete=fields.RESTRICT
    )
    # The Markdown source as written, and its rendering (made once, when saved).
    body = fields.TextField()
    body_html = fields.TextField()
    body_text = fields.TextField()
    created_at = fields.DatetimeField(db_index=True)
    edited_at = fields.DatetimeField(null=True)
    # Who wrote the current version, when that is not the author (a facilitator's edit).
    edited_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="edits", null=True, on_delete=fields.RESTRICT
    )
    deleted = fields.BooleanField(default=False)
    deleted_at = fields.DatetimeField(null=True)
    # Hidden by a facilitator: kept, shown to facilitators with the note, out of search.
    hidden = fields.BooleanField(default=False, db_default=False)
    hidden_note = fields.CharField(max_length=500, default="", db_default="")
    hidden_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="hidden_posts", null=True, on_delete=fields.RESTRICT
    )
    hidden_at = fields.DatetimeField(null=True)
    # Personal data removed from every version of the text (data protection duties).
    redacted_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="redactions", null=True, on_delete=fields.RESTRICT
    )
    redacted_at = fields.DatetimeField(null=True)

    thread_id: int
    author_id: int
    parent_id: int | None
    edited_by_id: int | None
    hidden_by_id: int | None
    redacted_by_id: int | None

    class Meta:
        table = "posts"
        # A thread page reads its posts in this order (with `id` it needs no sort).
        indexes = (("thread_id", "created_at", "id"),)

    @property
    def withdrawn(self) -> bool:
        """Its text is not shown to readers: deleted, hidden by a facilitator, or redacted."""
        return self.deleted or self.hidden or self.redacted_at is not None


class PostRevision(Model):
    """One earlier version of a post, kept when the post is edited."""

    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="revisions", on_delete=fields.CASCADE
    )
    body = fields.TextField()
    body_html = fields.TextField()
    # When this version was written, and by whom.
    created_at = fields.DatetimeField()
    editor: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="revisions", on_delete=fields.RESTRICT
    )

    post_id: int
    editor_id: int

    class Meta:
        table = "post_revisions"
        ordering = ["created_at", "id"]


class Summary(Model):
    """A facilitator's summary pinned to a thread: what the discussion concluded."""

    id = fields.IntField(primary_key=True)
    thread: fields.OneToOneRelation[Thread] = fields.OneToOneField(
        "models.Thread", related_name="summary", on_delete=fields.CASCADE
    )
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="summaries", on_delete=fields.RESTRICT
    )
    body = fields.TextField()
    body_html = fields.TextField()
    body_text = fields.TextField()
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField(null=True)
    # Who wrote the current version, when not the first author.
    edited_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="summary_edits", null=True, on_delete=fields.RESTRICT
    )
    # When a facilitator last confirmed that the summary still covers the discussion (null:
    # when it was last written). Replies after this make it stale.
    reviewed_at = fields.DatetimeField(null=True)
    reviewed_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="summary_reviews", null=True, on_delete=fields.RESTRICT
    )
    # The reply this summary was promoted from, credited on the page.
    source_post: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="promoted_to", null=True, on_delete=fields.SET_NULL
    )

    thread_id: int
    author_id: int
    edited_by_id: int | None
    reviewed_by_id: int | None
    source_post_id: int | None

    class Meta:
        table = "summaries"

    @property
    def last_reviewed(self) -> datetime:
        return self.reviewed_at or self.updated_at or self.created_at


class SummaryRevision(Model):
    """One earlier version of a summary, kept when it is edited or restored."""

    id = fields.IntField(primary_key=True)
    summary: fields.ForeignKeyRelation[Summary] = fields.ForeignKeyField(
        "models.Summary", related_name="revisions", on_delete=fields.CASCADE
    )
    body = fields.TextField()
    body_html = fields.TextField()
    # When this version was written, and by whom.
    created_at = fields.DatetimeField()
    editor: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="summary_revisions", on_delete=fields.RESTRICT
    )

    summary_id: int
    editor_id: int

    class Meta:
        table = "summary_revisions"
        ordering = ["created_at", "id"]


class ThreadRedirect(Model):
    """A thread merged into another: its old id keeps working as a link."""

    id = fields.IntField(primary_key=True)
    old_thread_id = fields.IntField(unique=True)
    thread: fields.ForeignKeyRelation[Thread] = fields.ForeignKeyField(
        "models.Thread", related_name="redirects", on_delete=fields.CASCADE
    )

    thread_id: int

    class Meta:
        table = "thread_redirects"
