"""Organisations, users and login sessions."""

from __future__ import annotations

from enum import StrEnum

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
    # Set when the owner follows the link mailed to `email`; until then they may read but not
    # write. Accounts made by an admin, the demo or an import count as verified.
    email_verified_at = fields.DatetimeField(null=True)

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

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
    # Refreshed at most every few minutes; a session idle for longer than the configured
    # time has ended.
    last_seen_at = fields.DatetimeField(null=True)
    # What the owner sees in their list of sessions ("Firefox on Linux, 10.0.0.1").
    user_agent = fields.CharField(max_length=200, default="", db_default="")
    address = fields.CharField(max_length=64, default="", db_default="")

    user_id: int

    class Meta:
        table = "sessions"


class TokenPurpose(StrEnum):
    VERIFY_EMAIL = "verify-email"  # confirms `email` (a new account's, or a changed address)
    RESET_PASSWORD = "reset-password"  # noqa: S105 (a purpose, not a password)


class Token(Model):
    """A single-use, expiring link sent by email. Only the hash of its key is stored."""

    id = fields.IntField(primary_key=True)
    key_hash = fields.CharField(max_length=64, unique=True)
    purpose = fields.CharEnumField(TokenPurpose, max_length=32)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="tokens", on_delete=fields.CASCADE
    )
    # The address the link was sent to (for a change of email, the new one).
    email = fields.CharField(max_length=254)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    user_id: int

    class Meta:
        table = "tokens"


class Invitation(Model):
    """An emailed, single-use, expiring invitation to the site and optionally to networks."""

    id = fields.IntField(primary_key=True)
    key_hash = fields.CharField(max_length=64, unique=True)
    email = fields.CharField(max_length=254, db_index=True)
    invited_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="invitations_sent", null=True, on_delete=fields.SET_NULL
    )
    organisation: fields.ForeignKeyNullableRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="invitations", null=True, on_delete=fields.SET_NULL
    )
    # Ids of the networks the invitee joins (as a member) on accepting.
    network_ids: fields.Field[list[int]] = fields.JSONField(default=list)
    message = fields.CharField(max_length=1000, default="")
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    used_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="invitations_used", null=True, on_delete=fields.SET_NULL
    )
    revoked_at = fields.DatetimeField(null=True)

    invited_by_id: int | None
    organisation_id: int | None
    used_by_id: int | None

    class Meta:
        table = "invitations"
        ordering = ["-created_at"]
