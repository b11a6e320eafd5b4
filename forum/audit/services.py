"""Writing the audit log: one helper every curating and moderating service calls.

The entry is written on the caller's connection, inside the transaction of the action it
describes, so an action is never committed without its record (nor recorded without
having happened).
"""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from forum.accounts.models import User
from forum.audit.models import AuditEntry
from forum.timeutil import utcnow

# Every action the log knows, with the words the admin page shows for it. An action must be
# listed here before a service may record it (so the page can always name it, and filter by it).
ACTIONS: dict[str, str] = {
    "thread.pin": "Pinned a thread",
    "thread.unpin": "Unpinned a thread",
    "thread.lock": "Locked a thread",
    "thread.unlock": "Unlocked a thread",
    "thread.tags": "Changed a thread's tags",
    "thread.rename": "Renamed a thread",
    "thread.move": "Moved a thread",
    "thread.merge": "Merged a thread into another",
    "post.hide": "Hid a post",
    "post.restore": "Restored a hidden post",
    "post.redact": "Redacted personal data from a post",
    "flag.dismiss": "Dismissed a flag",
    "network.create": "Created a network",
    "network.edit": "Changed a network's settings",
    "organisation.create": "Created an organisation",
    "organisation.edit": "Changed an organisation",
    "member.add": "Added a member to a network",
    "member.remove": "Removed a member from a network",
    "member.role": "Changed a member's role",
    "request.approve": "Approved a request to join",
    "request.decline": "Declined a request to join",
    "user.deactivate": "Deactivated an account",
    "user.reactivate": "Reactivated an account",
    "user.admin": "Changed who is an admin",
    "invitation.create": "Sent an invitation",
    "invitation.revoke": "Withdrew an invitation",
    "archive.import": "Imported an archive (forum import)",
}


async def record(
    *,
    actor: User | None,
    action: str,
    using: BaseDBAsyncClient,
    network_id: int | None = None,
    thread_id: int | None = None,
    post_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record that `actor` did `action` (a key of ACTIONS) to the object named by the ids.

    `before`/`after` are small JSON objects naming what changed. `using` is the connection of
    the action's own transaction. Raises ValueError for an action not in ACTIONS (a
    programming error, not user input).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to ACTIONS")
    return await AuditEntry.create(
        actor_id=actor.id if actor else None,
        action=action,
        network_id=network_id,
        thread_id=thread_id,
        post_id=post_id,
        before=before or {},
        after=after or {},
        created_at=utcnow(),
        using_db=using,
    )
