"""The outbox: every email is a row first, sent by the mailer, retried until it goes."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class MailStatus(StrEnum):
    QUEUED = "queued"  # waiting for its next attempt
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry; kept for the admin to see


class OutboundEmail(Model):
    id = fields.IntField(primary_key=True)
    to_address = fields.CharField(max_length=254)
    subject = fields.CharField(max_length=300)
    body_text = fields.TextField()
    status = fields.CharEnumField(MailStatus, max_length=16, default=MailStatus.QUEUED)
    attempts = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    next_attempt_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=1000, default="")

    class Meta:
        table = "outbound_email"
        indexes = (("status", "next_attempt_at"),)
