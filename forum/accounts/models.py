"""Organisations, users and login sessions."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Organisation(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    # Domains whose addresses may self-register into this organisation.
    email_domains: fields.Field[list[str]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "organisations"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(Model):
    id = fields.IntField(primary_key=True)
    # Stored lowercase: usernames are compared without regard to case.
    username = fields.CharField(max_length=40, unique=True)
    email = fields.CharField(max_length=254, unique=True)
    display_name = fields.CharField(max_length=100)
    # Empty for an account that cannot log in yet (imported, or invited).
    password_hash = fields.CharField(max_length=255, default="")
    organisation: fields.ForeignKeyNullableRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="users", null=True, on_delete=fields.SET_NULL
    )
    is_admin = fields.BooleanField(default=False)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()

    organisation_id: int | None

    class Meta:
        table = "users"

    def __str__(self) -> str:
        return self.display_name


class Session(Model):
    """A logged-in browser. The cookie carries a random id, and only its hash is stored."""

    id = fields.IntField(primary_key=True)
    key_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sessions", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(db_index=True)

    user_id: int

    class Meta:
        table = "sessions"
