"""Who belongs to a network: joining, asking to join, leaving, and facilitators admitting,
removing and promoting members.

Every write here checks who may do it, happens in one transaction with its audit entry (where
the audit log has an action for it), and queues the emails it causes in that same
transaction, so a request is never approved without the requester being told, nor told
without being approved. Changes to one network's members take a lock on the network's row
(PostgreSQL; SQLite has a single writer anyway), so two facilitators stepping down at the same
moment cannot leave it without one.
"""

from __future__ import annotations

from datetime import timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from forum import permissions, ratelimit
from forum.accounts import invitations
from forum.accounts.models import Organisation, User
from forum.accounts.services import EMAIL_RE, USERNAME_RE, account_changed, normalise_username
from forum.audit import services as audit
from forum.config import SiteSettings
from forum.errors import NotFound, PermissionDenied, ValidationError
from forum.mail import services as mail
from forum.networks.models import Membership, MembershipRequest, Network, RequestStatus, Role
from forum.notifications import services as notifications
from forum.notifications.models import NotificationKind
from forum.permissions import Viewer
from forum.text import clean, clean_line
from forum.timeutil import utcnow

MESSAGE_MAX = 1000
NOT_VERIFIED = (
    "Confirm your email address before you join a network: follow the link in the email we "
    "sent you when you signed up."
)
# Each request emails the network's facilitators: asking, withdrawing and asking again must
# not become a way to flood their inboxes.
REQUEST_LIMIT = ratelimit.Limit(events=10, window=timedelta(days=1))


def _require_verified(viewer: Viewer, doing: str) -> User:
    user = viewer.user
    if user is None:
        raise PermissionDenied(f"Log in to {doing}.")
    if user.email_verified_at is None:
        raise PermissionDenied(NOT_VERIFIED)
    return user


def _require_manager(viewer: Viewer, network: Network) -> User:
    if viewer.user is None or not permissions.can_manage_members(viewer, network):
        raise PermissionDenied("Only the network's facilitators can manage its members.")
    return viewer.user


async def _lock(network: Network, conn: BaseDBAsyncClient) -> None:
    await Network.filter(id=network.id).using_db(conn).select_for_update().first()


async def _facilitator_count(network: Network, conn: BaseDBAsyncClient) -> int:
    return await (
        Membership.filter(network_id=network.id, role=Role.FACILITATOR).using_db(conn).count()
    )


async def _settle_requests(
    network: Network,
    user: User,
    status: RequestStatus,
    decided_by: User | None,
    conn: BaseDBAsyncClient,
) -> None:
    """Close the user's waiting requests to `network` (they joined some other way)."""
    await (
        MembershipRequest.filter(
            network_id=network.id, user_id=user.id, status=RequestStatus.PENDING
        )
        .using_db(conn)
        .update(
            status=status,
            decided_at=utcnow(),
            decided_by_id=decided_by.id if decided_by else None,
        )
    )


async def join(*, viewer: Viewer, network: Network) -> Membership:
    """Join `network` as a member, with one click: public networks open to everyone, and any
    network for an admin. Joining a network one already belongs to changes nothing. A waiting
    request of the viewer's is closed as withdrawn. Audited as `member.add`.

    Raises PermissionDenied: not logged in, email not confirmed, or the network admits members
    by request.
    """
    user = _require_verified(viewer, "join a network")
    existing = await Membership.get_or_none(network_id=network.id, user_id=user.id)
    if existing is not None:
        return existing
    if not permissions.can_join(viewer, network):
        raise PermissionDenied(
            f"{network.name} admits members by request: ask its facilitators to let you join."
        )
    async with in_transaction() as conn:
        await _lock(network, conn)
        membership, created = await Membership.get_or_create(
            network_id=network.id,
            user_id=user.id,
            defaults={"role": Role.MEMBER, "created_at": utcnow()},
            using_db=conn,
        )
        if created:
            await account_changed(user.id, using=conn)
            await _settle_requests(network, user, RequestStatus.WITHDRAWN, None, conn)
            await audit.record(
                actor=user,
                action="member.add",
                using=conn,
                network_id=network.id,
                after={"user": user.username, "role": Role.MEMBER.value, "how": "joined"},
            )
    return membership


async def _request_recipients(network: Network, conn: BaseDBAsyncClient) -> list[str]:
    """The addresses told of a new request: the network's facilitators, or the admins when
    it has none (someone must be able to answer)."""
    rows = await (
        Membership.filter(network_id=network.id, role=Role.FACILITATOR, user__is_active=True)
        .using_db(conn)
        .values_list("user__email", flat=True)
    )
    if not rows:
        rows = await (
            User.filter(is_admin=True, is_active=True)
            .using_db(conn)
            .values_list("email", flat=True)
        )
    return sorted({str(address) for address in rows})


async def request_to_join(
    *, viewer: Viewer, network: Network, message: str = "", site: SiteSettings
) -> MembershipRequest:
    """Ask the facilitators of `network` to admit the viewer, with an optional message; each
    facilitator (or, when there is none, each admin) is emailed. Asking again while a request
    is waiting returns that request and sends nothing.

    Raises PermissionDenied (not logged in, email not confirmed, already a member, or the
    network is open: join it instead), ValidationError (message too long), RateLimited (too
    many requests in a day).
    """
    user = _require_verified(viewer, "ask to join a network")
    if await Membership.exists(network_id=network.id, user_id=user.id):
        raise PermissionDenied(f"You are already a member of {network.name}.")
    if network.open_to_join:
        raise PermissionDenied(f"Anyone can join {network.name}: use its Join button.")
    message = clean(message).strip()
    if len(message) > MESSAGE_MAX:
        too_long = f"Keep the message to {MESSAGE_MAX:,} characters (it has {len(message):,})."
        raise ValidationError({"message": too_long})
    waiting = await MembershipRequest.filter(
        network_id=network.id, user_id=user.id, status=RequestStatus.PENDING
    ).first()
    if waiting is not None:
        return waiting
    await ratelimit.hit(f"join-request:{user.id}", REQUEST_LIMIT)
    async with in_transaction() as conn:
        request = await MembershipRequest.create(
            network_id=network.id,
            user_id=user.id,
            message=message,
            status=RequestStatus.PENDING,
            created_at=utcnow(),
            using_db=conn,
        )
        who = user.display_name
        org = await Organisation.filter(id=user.organisation_id or 0).using_db(conn).first()
        lines = [
            f"{who}{f' ({org.name})' if org else ''} has asked to join {network.name}.",
            "",
        ]
        if message:
            lines += ["Their message:", "", *(f"> {line}" for line in message.splitlines()), ""]
        lines += [
            "Approve or decline the request on the network's members page:",
            site.link(f"/n/{network.slug}/members"),
        ]
        for address in await _request_recipients(network, conn):
            await mail.queue(
                to=address,
                subject=f"{who} asks to join {network.name}",
                text="\n".join(lines),
                using=conn,
            )
    return request


async def withdraw_request(*, viewer: Viewer, network: Network) -> bool:
    """Withdraw the viewer's waiting request to join `network`. Returns whether there was one
    (withdrawing twice changes nothing). Raises PermissionDenied when not logged in."""
    if viewer.user is None:
        raise PermissionDenied("Log in to withdraw a request.")
    changed = await MembershipRequest.filter(
        network_id=network.id, user_id=viewer.user.id, status=RequestStatus.PENDING
    ).update(status=RequestStatus.WITHDRAWN, decided_at=utcnow())
    return bool(changed)


def _last_facilitator(network: Network, who: str) -> ValidationError:
    return ValidationError(
        {
            "role": f"{who} the only facilitator of {network.name}: make another member a "
            "facilitator first, so that someone can still admit members and curate threads."
        }
    )


async def leave(*, viewer: Viewer, network: Network) -> None:
    """Leave `network`; posts stay. Audited as `member.remove`.

    Raises PermissionDenied (not a member), ValidationError (the viewer is its only
    facilitator: another member must be made one first).
    """
    user = viewer.user
    if user is None or not viewer.is_member(network):
        raise PermissionDenied(f"You are not a member of {network.name}.")
    async with in_transaction() as conn:
        await _lock(network, conn)
        membership = (
            await Membership.filter(network_id=network.id, user_id=user.id).using_db(conn).first()
        )
        if membership is None:
            return
        if membership.role == Role.FACILITATOR and await _facilitator_count(network, conn) <= 1:
            raise _last_facilitator(network, "You are")
        await Membership.filter(id=membership.id).using_db(conn).delete()
        await account_changed(user.id, using=conn)
        await audit.record(
            actor=user,
            action="member.remove",
            using=conn,
            network_id=network.id,
            before={"user": user.username, "role": membership.role.value, "how": "left"},
        )


async def get_request(network: Network, request_id: int) -> MembershipRequest:
    """A request to join `network`, with its requester. Raises NotFound."""
    request = (
        await MembershipRequest.filter(id=request_id, network_id=network.id)
        .select_related("user")
        .first()
    )
    if request is None:
        raise NotFound("no such request")
    request.network = network
    return request


async def get_membership(network: Network, user_id: int) -> Membership:
    """A member of `network`, with the user. Raises NotFound."""
    membership = (
        await Membership.filter(network_id=network.id, user_id=user_id)
        .select_related("user")
        .first()
    )
    if membership is None:
        raise NotFound("no such member")
    membership.network = network
    return membership


_DECIDED = {
    RequestStatus.APPROVED: "approved",
    RequestStatus.DECLINED: "declined",
    RequestStatus.WITHDRAWN: "withdrawn by the person who asked",
}


async def _decide(
    actor: User, request: MembershipRequest, status: RequestStatus, conn: BaseDBAsyncClient
) -> None:
    """Claim a waiting request for one decision (of two racing, the second finds it decided)."""
    claimed = await (
        MembershipRequest.filter(id=request.id, status=RequestStatus.PENDING)
        .using_db(conn)
        .update(status=status, decided_at=utcnow(), decided_by_id=actor.id)
    )
    if not claimed:
        fresh = await MembershipRequest.filter(id=request.id).using_db(conn).first()
        done = _DECIDED.get(fresh.status, "decided") if fresh else "decided"
        raise ValidationError({"request": f"This request has already been {done}."})


async def approve(*, viewer: Viewer, request: MembershipRequest, site: SiteSettings) -> Membership:
    """Admit the requester as a member and email them. Audited as `request.approve`.

    `request` has its network and user loaded. Raises PermissionDenied (not a facilitator of
    the network), ValidationError (the request was already decided or withdrawn).
    """
    network, user = request.network, request.user
    actor = _require_manager(viewer, network)
    async with in_transaction() as conn:
        await _decide(actor, request, RequestStatus.APPROVED, conn)
        membership, _ = await Membership.get_or_create(
            network_id=network.id,
            user_id=user.id,
            defaults={"role": Role.MEMBER, "created_at": utcnow()},
            using_db=conn,
        )
        await account_changed(user.id, using=conn)
        await audit.record(
            actor=actor,
            action="request.approve",
            using=conn,
            network_id=network.id,
            after={"user": user.username},
        )
        await notifications.notify(
            user_id=user.id,
            kind=NotificationKind.MEMBERSHIP_APPROVED,
            actor=actor,
            network_id=network.id,
            using=conn,
        )
        await mail.queue(
            to=user.email,
            subject=f"Welcome to {network.name}",
            text="\n".join(
                [
                    f"Your request to join {network.name} on {site.name} has been approved.",
                    "",
                    "The network's discussions are here:",
                    site.link(f"/n/{network.slug}"),
                ]
            ),
            using=conn,
        )
    return membership


async def decline(
    *, viewer: Viewer, request: MembershipRequest, site: SiteSettings
) -> MembershipRequest:
    """Turn the request down and email the requester. Audited as `request.decline`.

    Raises PermissionDenied (not a facilitator of the network), ValidationError (the request
    was already decided or withdrawn).
    """
    network, user = request.network, request.user
    actor = _require_manager(viewer, network)
    async with in_transaction() as conn:
        await _decide(actor, request, RequestStatus.DECLINED, conn)
        await audit.record(
            actor=actor,
            action="request.decline",
            using=conn,
            network_id=network.id,
            after={"user": user.username},
        )
        await mail.queue(
            to=user.email,
            subject=f"Your request to join {network.name}",
            text="\n".join(
                [
                    f"Your request to join {network.name} on {site.name} was not accepted.",
                    "",
                    "If you think this is a mistake, ask a colleague in the network, or reply "
                    "to the person who invited you to the forum.",
                ]
            ),
            using=conn,
        )
    request.status = RequestStatus.DECLINED
    return request


async def find_account(who: str) -> User:
    """The account a facilitator names by username (with or without @) or email address.

    Raises ValidationError naming the problem (under the field "who").
    """
    who = clean_line(who)
    if not who:
        raise ValidationError({"who": "Enter the username or email address of the person."})
    user = None
    if len(who) <= 254:
        if "@" in who.lstrip("@"):
            if EMAIL_RE.match(who):
                user = await User.filter(email__iexact=who).first()
        elif USERNAME_RE.match(normalise_username(who)):
            user = await User.filter(username=normalise_username(who)).first()
    if user is None:
        raise ValidationError(
            {
                "who": "Nobody has an account with that username or email address. "
                "To ask someone new, invite them by email."
            }
        )
    if not user.is_active:
        raise ValidationError({"who": f"{user.display_name}'s account is deactivated."})
    if user.email_verified_at is None:
        # An unconfirmed address proves nothing: anyone could have signed up with it.
        raise ValidationError(
            {
                "who": f"{user.display_name} has not confirmed their email address yet; add "
                "them once they have."
            }
        )
    return user


def _is_email(who: str) -> bool:
    return "@" in clean_line(who).lstrip("@")


async def add_member(
    *, viewer: Viewer, network: Network, who: str, site: SiteSettings
) -> User | None:
    """Add an existing account, named by username or email address, as a member, and email
    them. A waiting request of theirs is closed as approved. Audited as `member.add`.

    An email address named by a facilitator who is not an admin is invited instead, and
    None returned (`invitations.create_invitation`: a new address is sent a link to make an
    account, an address with one a note on how to join): adding it at once would tell
    them, by the answer or by the list of members, whether the address has an account.
    Usernames are public (every profile shows one), so naming one adds at once.

    Raises PermissionDenied (not a facilitator), ValidationError (nobody by that name, the
    account is deactivated or unconfirmed, or already a member; a malformed address).
    """
    actor = _require_manager(viewer, network)
    if _is_email(who) and not viewer.is_admin:
        try:
            await invitations.create_invitation(
                viewer=viewer,
                email=clean_line(who),
                networks=[network],
                base_url=site.base_url,
                site_name=site.name,
            )
        except ValidationError as exc:
            raise ValidationError({"who": " ".join(exc.errors.values())}) from None
        return None
    user = await find_account(who)
    async with in_transaction() as conn:
        await _lock(network, conn)
        _, created = await Membership.get_or_create(
            network_id=network.id,
            user_id=user.id,
            defaults={"role": Role.MEMBER, "created_at": utcnow()},
            using_db=conn,
        )
        if not created:
            raise ValidationError({"who": f"{user.display_name} is already a member."})
        await account_changed(user.id, using=conn)
        await _settle_requests(network, user, RequestStatus.APPROVED, actor, conn)
        await audit.record(
            actor=actor,
            action="member.add",
            using=conn,
            network_id=network.id,
            after={"user": user.username, "role": Role.MEMBER.value, "how": "added"},
        )
        await mail.queue(
            to=user.email,
            subject=f"You have been added to {network.name}",
            text="\n".join(
                [
                    f"{actor.display_name} has added you to {network.name} on {site.name}.",
                    "",
                    "The network's discussions are here:",
                    site.link(f"/n/{network.slug}"),
                ]
            ),
            using=conn,
        )
    return user


async def remove_member(*, viewer: Viewer, membership: Membership) -> None:
    """Remove a member from their network; their posts stay. Audited as `member.remove`.

    `membership` has its network and user loaded. Only an admin may remove a network's only
    facilitator. Raises PermissionDenied, ValidationError (the only facilitator).
    """
    network, user = membership.network, membership.user
    actor = _require_manager(viewer, network)
    async with in_transaction() as conn:
        await _lock(network, conn)
        current = await Membership.filter(id=membership.id).using_db(conn).first()
        if current is None:
            return
        if (
            current.role == Role.FACILITATOR
            and not viewer.is_admin
            and await _facilitator_count(network, conn) <= 1
        ):
            raise _last_facilitator(network, "You are" if user.id == actor.id else "They are")
        await Membership.filter(id=current.id).using_db(conn).delete()
        await account_changed(user.id, using=conn)
        await audit.record(
            actor=actor,
            action="member.remove",
            using=conn,
            network_id=network.id,
            before={"user": user.username, "role": current.role.value},
        )


async def set_role(*, viewer: Viewer, membership: Membership, role: Role | str) -> Membership:
    """Make a member a facilitator of their network, or a facilitator a member. Audited as
    `member.role`; asking for the role they have changes nothing.

    Only an admin may make a network's only facilitator a member. Raises PermissionDenied,
    ValidationError (an unknown role, or the only facilitator).
    """
    network, user = membership.network, membership.user
    actor = _require_manager(viewer, network)
    try:
        role = Role(role)
    except ValueError:
        raise ValidationError({"role": "Choose member or facilitator."}) from None
    async with in_transaction() as conn:
        await _lock(network, conn)
        current = await Membership.filter(id=membership.id).using_db(conn).first()
        if current is None:
            raise NotFound("no such member")
        if current.role == role:
            return current
        if (
            current.role == Role.FACILITATOR
            and not viewer.is_admin
            and await _facilitator_count(network, conn) <= 1
        ):
            raise _last_facilitator(network, "You are" if user.id == actor.id else "They are")
        before = current.role
        current.role = role
        await current.save(using_db=conn, update_fields=["role"])
        await account_changed(user.id, using=conn)
        await audit.record(
            actor=actor,
            action="member.role",
            using=conn,
            network_id=network.id,
            before={"user": user.username, "role": before.value},
            after={"user": user.username, "role": role.value},
        )
    return current
