"""One row per curating or moderating action, readable by admins at /admin/audit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from forum.accounts.models import User


class AuditEntry(Model):
    id = fields.IntField(primary_key=True)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="audit_entries", null=True, on_delete=fields.SET_NULL
    )
    # "thread.pin", "thread.move", "post.hide", "post.redact", …
    action = fields.CharField(max_length=64)
    # Plain ids, not foreign keys: the entry outlives a merged thread or a deleted network.
    network_id = fields.IntField(null=True)
    thread_id = fields.IntField(null=True)
    post_id = fields.IntField(null=True)
    # What the object looked like before and after (small JSON objects).
    before: Any = fields.JSONField(default=dict)
    after: Any = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(db_index=True)

    actor_id: int | None

    class Meta:
        table = "audit_log"
        ordering = ["-created_at", "-id"]
