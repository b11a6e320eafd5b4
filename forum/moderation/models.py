"""A member's flag on a post, open until a facilitator deals with it."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from forum.accounts.models import User
    from forum.threads.models import Post


class FlagReason(StrEnum):
    SPAM = "spam"
    OFF_TOPIC = "off-topic"
    INAPPROPRIATE = "inappropriate"
    PERSONAL_DATA = "personal-data"
    OTHER = "other"


REASON_LABELS = {
    FlagReason.SPAM: "Spam",
    FlagReason.OFF_TOPIC: "Off-topic",
    FlagReason.INAPPROPRIATE: "Inappropriate",
    FlagReason.PERSONAL_DATA: "Personal data shared by mistake",
    FlagReason.OTHER: "Something else",
}


class FlagStatus(StrEnum):
    OPEN = "open"
    DISMISSED = "dismissed"  # looked at; nothing to do
    ACTIONED = "actioned"  # the post was hidden or redacted


class Flag(Model):
    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="flags", on_delete=fields.CASCADE
    )
    reporter: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="flags", on_delete=fields.CASCADE
    )
    reason = fields.CharEnumField(FlagReason, max_length=32)
    note = fields.CharField(max_length=1000, default="")
    status = fields.CharEnumField(FlagStatus, max_length=16, default=FlagStatus.OPEN)
    created_at = fields.DatetimeField()
    resolved_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="resolved_flags", null=True, on_delete=fields.SET_NULL
    )
    resolved_at = fields.DatetimeField(null=True)

    post_id: int
    reporter_id: int
    resolved_by_id: int | None

    class Meta:
        table = "flags"
        indexes = (("status", "created_at"),)
