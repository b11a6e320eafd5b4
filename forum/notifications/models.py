"""Following threads, watching networks, reading, notifications, preferences and weeknotes."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from forum.accounts.models import User
    from forum.networks.models import Network
    from forum.threads.models import Thread


class FollowLevel(StrEnum):
    FOLLOWING = "following"  # replies to the thread notify
    MUTED = "muted"  # nothing from this thread, even when it would follow automatically


class ThreadFollow(Model):
    """A person's choice about one thread: made for them when they start or reply to it."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="follows", on_delete=fields.CASCADE
    )
    thread: fields.ForeignKeyRelation[Thread] = fields.ForeignKeyField(
        "models.Thread", related_name="follows", on_delete=fields.CASCADE
    )
    level = fields.CharEnumField(FollowLevel, max_length=16, default=FollowLevel.FOLLOWING)
    created_at = fields.DatetimeField()

    user_id: int
    thread_id: int

    class Meta:
        table = "thread_follows"
        unique_together = (("user", "thread"),)


class WatchLevel(StrEnum):
    ALL = "all"  # every new thread and every summary
    SUMMARIES = "summaries"  # summaries pinned or updated only (the default)
    NOTHING = "nothing"


class NetworkWatch(Model):
    """A member's level for one network (no row: the default, summaries only)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="watches", on_delete=fields.CASCADE
    )
    network: fields.ForeignKeyRelation[Network] = fields.ForeignKeyField(
        "models.Network", related_name="watches", on_delete=fields.CASCADE
    )
    level = fields.CharEnumField(WatchLevel, max_length=16, default=WatchLevel.SUMMARIES)

    user_id: int
    network_id: int

    class Meta:
        table = "network_watches"
        unique_together = (("user", "network"),)


class ThreadRead(Model):
    """How far a person has read a thread: the highest post id they have been shown."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="reads", on_delete=fields.CASCADE
    )
    thread: fields.ForeignKeyRelation[Thread] = fields.ForeignKeyField(
        "models.Thread", related_name="reads", on_delete=fields.CASCADE
    )
    last_post_id = fields.IntField(default=0)
    read_at = fields.DatetimeField()

    user_id: int
    thread_id: int

    class Meta:
        table = "thread_reads"
        unique_together = (("user", "thread"),)


class NotificationKind(StrEnum):
    REPLY = "reply"  # a reply to your post, or in a thread you follow
    MENTION = "mention"
    NEW_THREAD = "new-thread"  # in a network you watch
    SUMMARY = "summary"  # pinned or updated on a thread you took part in
    FLAG_RESOLVED = "flag-resolved"
    MEMBERSHIP_APPROVED = "membership-approved"


class Notification(Model):
    """One line in a person's notifications. Shown only while they may still read its
    network (checked when the list is shown, not only when it was made)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="notifications", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(NotificationKind, max_length=32)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="notifications_caused", null=True, on_delete=fields.SET_NULL
    )
    network_id = fields.IntField(null=True)
    thread_id = fields.IntField(null=True)
    post_id = fields.IntField(null=True)
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)
    # True until the background mailer has decided about emailing it (replies and mentions
    # only): posting never waits for email, and a crash between the two loses nothing.
    email_pending = fields.BooleanField(default=False)

    user_id: int
    actor_id: int | None

    class Meta:
        table = "notifications"
        indexes = (("user_id", "read_at"), ("user_id", "created_at"), ("email_pending", "id"))


class DigestFrequency(StrEnum):
    NEVER = "never"
    DAILY = "daily"
    WEEKLY = "weekly"


class Preferences(Model):
    """A person's email choices (no row: the defaults below)."""

    id = fields.IntField(primary_key=True)
    user: fields.OneToOneRelation[User] = fields.OneToOneField(
        "models.User", related_name="preferences", on_delete=fields.CASCADE
    )
    email_replies = fields.BooleanField(default=True)
    email_mentions = fields.BooleanField(default=True)
    digest = fields.CharEnumField(DigestFrequency, max_length=16, default=DigestFrequency.WEEKLY)
    weeknotes = fields.BooleanField(default=True)
    digest_sent_at = fields.DatetimeField(null=True)

    user_id: int

    class Meta:
        table = "preferences"


class ThreadEmail(Model):
    """When a person was last emailed about a thread: one email per quiet period."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="thread_emails", on_delete=fields.CASCADE
    )
    thread: fields.ForeignKeyRelation[Thread] = fields.ForeignKeyField(
        "models.Thread", related_name="emails", on_delete=fields.CASCADE
    )
    sent_at = fields.DatetimeField()

    user_id: int
    thread_id: int

    class Meta:
        table = "thread_emails"
        unique_together = (("user", "thread"),)


class WeeknoteStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class Weeknote(Model):
    """A network's account of a week or month (network None: the site-wide one)."""

    id = fields.IntField(primary_key=True)
    network: fields.ForeignKeyNullableRelation[Network] = fields.ForeignKeyField(
        "models.Network", related_name="weeknotes", null=True, on_delete=fields.CASCADE
    )
    slug = fields.CharField(max_length=80)
    title = fields.CharField(max_length=200)
    period_start = fields.DatetimeField()
    period_end = fields.DatetimeField()
    body = fields.TextField()
    body_html = fields.TextField()
    status = fields.CharEnumField(WeeknoteStatus, max_length=16, default=WeeknoteStatus.DRAFT)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="weeknotes_drafted", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    published_at = fields.DatetimeField(null=True)
    emailed_at = fields.DatetimeField(null=True)

    network_id: int | None
    created_by_id: int | None

    class Meta:
        table = "weeknotes"
        indexes = (("network_id", "status", "published_at"),)


class FeedToken(Model):
    """A private feed URL's key (hashed), revocable, for members-only networks' feeds."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="feed_tokens", on_delete=fields.CASCADE
    )
    key_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    user_id: int

    class Meta:
        table = "feed_tokens"
