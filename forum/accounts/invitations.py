"""Invitations: an admin or facilitator invites an email address to the site and, optionally,
to networks. The emailed link is single-use and expires; following it lets the invitee make
an account (their address is proven by the link) and joins them to the networks.
"""

from __future__ import annotations

from datetime import timedelta

from tortoise.transactions import in_transaction

from forum import permissions
from forum.accounts import passwords, tokens
from forum.accounts.models import Invitation, Organisation, User
from forum.accounts.services import EMAIL_RE, create_user
from forum.audit import services as audit
from forum.errors import NotFound, PermissionDenied, ValidationError
from forum.mail import services as mail
from forum.networks.models import Membership, Network, Role
from forum.text import clean
from forum.timeutil import utcnow

VALID_FOR = timedelta(days=14)
MESSAGE_MAX = 1000


async def create_invitation(
    *,
    viewer: permissions.Viewer,
    email: str,
    networks: list[Network],
    organisation: Organisation | None = None,
    message: str = "",
    base_url: str,
    site_name: str,
) -> tuple[Invitation, str] | None:
    """Invite `email`, and mail the link. Returns the invitation and its key.

    Admins invite to the site and any networks; facilitators only to networks they facilitate
    (and at least one). Raises ValidationError, PermissionDenied.

    An address that already has an account is refused for an admin (who may look accounts
    up anyway). For a facilitator it is answered as a new one is (the same page), but no
    invitation is made: its owner is mailed how to join the networks, the audit entry names
    the existing account, and None is returned.
    """
    user = viewer.user
    if user is None:
        raise PermissionDenied("log in to invite")
    email = email.strip()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise ValidationError({"email": "Enter an email address like name@example.org."})
    if not viewer.is_admin:
        if not networks:
            raise ValidationError({"networks": "Choose at least one network you facilitate."})
        if any(not viewer.is_facilitator(n) for n in networks):
            raise PermissionDenied("you can only invite people to networks you facilitate")
    message = clean(message).strip()
    if len(message) > MESSAGE_MAX:
        # Refused, not cut short: the inviter sees what would have been lost.
        too_long = f"Keep the message to {MESSAGE_MAX:,} characters (it has {len(message):,})."
        raise ValidationError({"message": too_long})
    existing = await User.filter(email__iexact=email).first()
    if existing is not None:
        if viewer.is_admin:
            # Admins may look any account up by its address (/admin/users): tell them.
            raise ValidationError(
                {"email": "Someone already has an account with this address: add them as a member."}
            )
        # A facilitator must not learn who is registered: the answer is the one a new
        # address gets, and the owner is told by email how to join instead.
        await _mail_existing_account(
            actor=user,
            invitee=existing,
            networks=networks,
            message=message,
            base_url=base_url,
            site_name=site_name,
        )
        return None
    key, key_hash = tokens.new_key()
    now = utcnow()
    names = ", ".join(n.name for n in networks)
    async with in_transaction() as conn:
        invitation = await Invitation.create(
            key_hash=key_hash,
            email=email,
            invited_by=user,
            organisation=organisation,
            network_ids=[n.id for n in networks],
            message=message,
            created_at=now,
            expires_at=now + VALID_FOR,
            using_db=conn,
        )
        await audit.record(
            actor=user,
            action="invitation.create",
            using=conn,
            after={"email": email, "networks": [n.slug for n in networks]},
        )
        lines = [
            f"{user.display_name} has invited you to {site_name}"
            + (f", to join {names}." if names else "."),
            "",
        ]
        if message:
            lines += [message, ""]
        lines += [
            "To accept, make your account here (the link works once, for 14 days):",
            f"{base_url.rstrip('/')}/invite/{key}",
            "",
            "If you were not expecting this, you can ignore this email.",
        ]
        await mail.queue(
            to=email,
            subject=f"You are invited to {site_name}",
            text="\n".join(lines),
            using=conn,
        )
    return invitation, key


async def _mail_existing_account(
    *,
    actor: User,
    invitee: User,
    networks: list[Network],
    message: str,
    base_url: str,
    site_name: str,
) -> None:
    base = base_url.rstrip("/")
    lines = [
        f"Hello {invitee.display_name},",
        "",
        f"{actor.display_name} has invited you to join "
        + ", ".join(n.name for n in networks)
        + f" on {site_name}.",
        "",
    ]
    if message:
        lines += [message, ""]
    lines += [
        f"You already have an account with this address (username: {invitee.username}).",
        "Log in, then join from here (a members-only network asks its facilitators first):",
        *(f"{base}/n/{n.slug}/request" for n in networks),
        "",
        "Forgotten your password? " + f"{base}/password/forgot",
    ]
    async with in_transaction() as conn:
        await audit.record(
            actor=actor,
            action="invitation.create",
            using=conn,
            after={
                "email": invitee.email,
                "networks": [n.slug for n in networks],
                # No link: the address has this account, whose owner was told how to join.
                "existing_account": invitee.username,
            },
        )
        await mail.queue(
            to=invitee.email,
            subject=f"You are invited to {', '.join(n.name for n in networks)}",
            text="\n".join(lines),
            using=conn,
        )


async def revoke(*, viewer: permissions.Viewer, invitation: Invitation) -> None:
    """Withdraw an unused invitation (its link stops working)."""
    if not (viewer.is_admin or (viewer.user and invitation.invited_by_id == viewer.user.id)):
        raise PermissionDenied("only an admin or the person who sent it can withdraw it")
    if invitation.used_at is not None or invitation.revoked_at is not None:
        return
    async with in_transaction() as conn:
        invitation.revoked_at = utcnow()
        await invitation.save(using_db=conn, update_fields=["revoked_at"])
        await audit.record(
            actor=viewer.user,
            action="invitation.revoke",
            using=conn,
            before={"email": invitation.email},
        )


async def find_valid(key: str) -> Invitation:
    """The usable invitation a link's key names. Raises NotFound when it is unknown, used,
    withdrawn or expired (one message for all: the page cannot tell which)."""
    if not key or len(key) > 100:
        raise NotFound("no such invitation")
    invitation = (
        await Invitation.filter(key_hash=tokens.hash_key(key))
        .select_related("organisation")
        .first()
    )
    if (
        invitation is None
        or invitation.used_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= utcnow()
    ):
        raise NotFound("This invitation link has been used, withdrawn or has expired.")
    return invitation


async def accept(*, key: str, username: str, display_name: str, password: str) -> User:
    """Make the invitee's account (verified: the link proved the address), join the networks
    and use up the invitation. Raises NotFound (bad link), ValidationError, Conflict."""
    invitation = await find_valid(key)
    weak = passwords.problem(password, username=username, email=invitation.email)
    if weak:
        raise ValidationError({"password": weak})
    now = utcnow()
    async with in_transaction() as conn:
        # Used once: of two acceptances racing, the second claims nothing and is refused
        # (and its account is rolled back with it).
        # Withdrawn or expired since `find_valid` looked: refused too.
        claimed = (
            await Invitation.filter(
                id=invitation.id,
                used_at__isnull=True,
                revoked_at__isnull=True,
                expires_at__gt=now,
            )
            .using_db(conn)
            .update(used_at=now)
        )
        if not claimed:
            raise NotFound("This invitation link has been used, withdrawn or has expired.")
        user = await create_user(
            username=username,
            email=invitation.email,
            display_name=display_name,
            password=password,
            organisation=invitation.organisation,
            email_verified=True,
            using=conn,
        )
        await Invitation.filter(id=invitation.id).using_db(conn).update(used_by_id=user.id)
        for network_id in invitation.network_ids:
            if await Network.filter(id=network_id).using_db(conn).exists():
                await Membership.get_or_create(
                    network_id=network_id,
                    user_id=user.id,
                    defaults={"role": Role.MEMBER, "created_at": now},
                    using_db=conn,
                )
    return user
