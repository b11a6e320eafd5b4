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


class Network(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    description_html = fields.TextField(default="")
    visibility = fields.CharEnumField(Visibility, max_length=16, default=Visibility.MEMBERS)
    created_at = fields.DatetimeField()

    class Meta:
        table = "networks"
        ordering = ["name"]

    @property
    def is_public(self) -> bool:
        return self.visibility == Visibility.PUBLIC

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
