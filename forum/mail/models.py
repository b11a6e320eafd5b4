"""The outbox: every email is a row first, sent by the mailer, retried until it goes."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class MailStatus(StrEnum):
    QUEUED = "queued"  # waiting for its next attempt
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry; kept for the admin to see
    CANCELLED = "cancelled"  # its recipient may no longer read what it carries


class OutboundEmail(Model):
    id = fields.IntField(primary_key=True)
    to_address = fields.CharField(max_length=254)
    subject = fields.CharField(max_length=300)
    body_text = fields.TextField()
    # An HTML alternative (digests and weeknotes); empty for plain-text-only messages.
    body_html = fields.TextField(default="", db_default="")
    # What kind of email: "account" (links for the account itself: never unsubscribed) or
    # one a person can turn off ("reply", "mention", "digest", "weeknote"); for those the
    # mailer adds a signed one-click unsubscribe link and the List-Unsubscribe headers.
    kind = fields.CharField(max_length=32, default="account", db_default="account")
    # The recipient's account, when they have one, and the networks whose content the
    # message carries: checked again just before sending, so that a person removed from a
    # network stops receiving its content at once.
    user_id = fields.IntField(null=True)
    network_ids: fields.Field[list[int]] = fields.JSONField(default=list, db_default="[]")
    # What a message that is built again at send time was built from (a digest: its period
    # and the site's name), so that the mailer can build it from the content as it is then.
    built_from: fields.Field[dict[str, str] | None] = fields.JSONField(null=True)
    status = fields.CharEnumField(MailStatus, max_length=16, default=MailStatus.QUEUED)
    attempts = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    next_attempt_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=1000, default="")

    class Meta:
        table = "outbound_email"
        indexes = (("status", "next_attempt_at"),)


class OutboundEmailPost(Model):
    """A post whose text an email carries (a reply or mention email quotes its post). When
    the post is deleted, hidden or redacted (`forum.mail.services.withdraw_posts`), an email
    not yet sent is cancelled and every email that carried it loses its text; `withdrawn_at`
    then marks the copies in the mail folder for the mailer to remove, after which the row
    goes. `post_id` is no foreign key: an email whose post is gone altogether is not sent."""

    id = fields.IntField(primary_key=True)
    email: fields.ForeignKeyRelation[OutboundEmail] = fields.ForeignKeyField(
        "models.OutboundEmail", related_name="posts", on_delete=fields.CASCADE
    )
    post_id = fields.IntField(db_index=True)
    withdrawn_at = fields.DatetimeField(null=True, db_index=True)

    email_id: int

    class Meta:
        table = "outbound_email_posts"


class OutboundEmailThread(Model):
    """A thread an email names (a digest lists threads by title), as it was when the email
    was queued: its network and a fingerprint of its title. Just before sending, the mailer
    compares them with the thread as it is now (`forum.mail.sender`): a thread gone, moved,
    renamed or out of the recipient's reach has a digest built again from the content as it
    is now (cancelled if nothing is left) and any other email cancelled, so that no email
    names a thread its recipient may no longer read. `thread_id` is no foreign key: a thread
    merged away is noticed, not cascaded."""

    id = fields.IntField(primary_key=True)
    email: fields.ForeignKeyRelation[OutboundEmail] = fields.ForeignKeyField(
        "models.OutboundEmail", related_name="threads", on_delete=fields.CASCADE
    )
    thread_id = fields.IntField(db_index=True)
    network_id = fields.IntField()
    title_sha256 = fields.CharField(max_length=64)

    email_id: int

    class Meta:
        table = "outbound_email_threads"
