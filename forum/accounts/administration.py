"""What admins do to accounts: deactivate and reactivate them, and decide who is an admin.

A deactivated account cannot log in and its sessions end at once (their rows are deleted, so
a browser that is logged in is logged out on its next request); everything its owner wrote
stays, under their name. Reactivating restores the account as it was, memberships included.
An admin cannot deactivate themselves or give up their own admin role: the site must never
be left with nobody able to undo it.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from forum.accounts.models import Session, User
from forum.accounts.services import account_changed, retire_links
from forum.audit import services as audit
from forum.errors import PermissionDenied, ValidationError
from forum.permissions import Viewer


def _require_admin(viewer: Viewer) -> User:
    if viewer.user is None or not viewer.is_admin:
        raise PermissionDenied("Only admins can change accounts.")
    return viewer.user


async def set_active(*, viewer: Viewer, user: User, active: bool) -> User:
    """Deactivate (ending every session) or reactivate `user`. Audited as `user.deactivate`
    or `user.reactivate`; asking for the state the account is in changes nothing.

    Raises PermissionDenied (not an admin), ValidationError (an admin deactivating
    themselves).
    """
    actor = _require_admin(viewer)
    if not active and user.id == actor.id:
        raise ValidationError(
            {"account": "You cannot deactivate your own account: ask another admin."}
        )
    if user.is_active == active:
        return user
    user.is_active = active
    async with in_transaction() as conn:
        await user.save(using_db=conn, update_fields=["is_active"])
        if not active:
            await Session.filter(user_id=user.id).using_db(conn).delete()
            # Or a link mailed before would work again once the account is reactivated.
            await retire_links(user.id, using=conn)
        await account_changed(user.id, using=conn)
        await audit.record(
            actor=actor,
            action="user.reactivate" if active else "user.deactivate",
            using=conn,
            after={"user": user.username},
        )
    return user


async def set_admin(*, viewer: Viewer, user: User, is_admin: bool) -> User:
    """Make `user` an admin, or no longer one. Audited as `user.admin`; asking for the role
    they have changes nothing.

    Raises PermissionDenied (not an admin), ValidationError (an admin removing their own
    admin role, or making a deactivated account an admin).
    """
    actor = _require_admin(viewer)
    if not is_admin and user.id == actor.id:
        raise ValidationError(
            {"account": "You cannot remove your own admin role: ask another admin."}
        )
    if is_admin and not user.is_active:
        raise ValidationError(
            {"account": f"{user.display_name}'s account is deactivated: reactivate it first."}
        )
    if user.is_admin == is_admin:
        return user
    user.is_admin = is_admin
    async with in_transaction() as conn:
        await user.save(using_db=conn, update_fields=["is_admin"])
        await account_changed(user.id, using=conn)
        await audit.record(
            actor=actor,
            action="user.admin",
            using=conn,
            before={"user": user.username, "admin": not is_admin},
            after={"user": user.username, "admin": is_admin},
        )
    return user
