"""Networks and who belongs to them."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from forum.accounts.models import User


class Visibility(StrEnum):
    PUBLIC = "public"  # readable and searchable by anyone
    MEMBERS = "members"  # members only; outsiders are told it does not exist


class Role(StrEnum):
    MEMBER = "member"
    FACILITATOR = "facilitator"


class JoinPolicy(StrEnum):
    OPEN = "open"  # a public network any signed-in user joins with one click
    REQUEST = "request"  # a facilitator approves each request (always so when members-only)


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class Network(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    description_html = fields.TextField(default="")
    visibility = fields.CharEnumField(Visibility, max_length=16, default=Visibility.MEMBERS)
    # For public networks; members-only networks admit by invitation or approved request.
    join_policy = fields.CharEnumField(
        JoinPolicy, max_length=16, default=JoinPolicy.OPEN, db_default=JoinPolicy.OPEN.value
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "networks"
        ordering = ["name"]

    @property
    def is_public(self) -> bool:
        return self.visibility == Visibility.PUBLIC

    @property
    def open_to_join(self) -> bool:
        """Any signed-in user may join with one click."""
        return self.is_public and self.join_policy == JoinPolicy.OPEN

    def __str__(self) -> str:
        return self.name


class Membership(Model):
    id = fields.IntField(primary_key=True)
    network: fields.ForeignKeyRelation[Network] = fields.ForeignKeyField(
        "models.Network", related_name="memberships", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="memberships", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(Role, max_length=16, default=Role.MEMBER)
    created_at = fields.DatetimeField()

    network_id: int
    user_id: int

    class Meta:
        table = "memberships"
        unique_together = (("network", "user"),)
        # A signed-in request reads its user's memberships (`accounts.services.visit`).
        indexes = (("user_id", "network_id", "role"),)


class MembershipRequest(Model):
    """A user asking to join a network that a facilitator admits."""

    id = fields.IntField(primary_key=True)
    network: fields.ForeignKeyRelation[Network] = fields.ForeignKeyField(
        "models.Network", related_name="requests", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="membership_requests", on_delete=fields.CASCADE
    )
    message = fields.CharField(max_length=1000, default="")
    status = fields.CharEnumField(RequestStatus, max_length=16, default=RequestStatus.PENDING)
    created_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)
    decided_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="requests_decided", null=True, on_delete=fields.SET_NULL
    )

    network_id: int
    user_id: int
    decided_by_id: int | None

    class Meta:
        table = "membership_requests"
        indexes = (("network_id", "status"),)
