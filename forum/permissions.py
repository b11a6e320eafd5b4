"""Who may read and do what: the one place that decides.

A members-only network is invisible to anyone outside it: every query that lists content
takes its network ids from `readable_network_ids`, and every page that shows one object asks
`can_read`. Outsiders get NotFound, never PermissionDenied, so names do not leak.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from forum.accounts.models import User
from forum.errors import NotFound, PermissionDenied
from forum.networks.models import Membership, Network, Role, Visibility
from forum.notifications.models import NotificationKind
from forum.threads.models import Post, Thread


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person asking: anonymous (user None) or a user with their memberships."""

    user: User | None = None
    roles: dict[int, Role] = field(default_factory=dict)  # network id -> role

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.is_admin

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None

    def is_member(self, network: Network) -> bool:
        return network.id in self.roles

    def is_facilitator(self, network: Network) -> bool:
        return self.is_admin or self.roles.get(network.id) == Role.FACILITATOR


ANONYMOUS = Viewer()


async def viewer_for(user: User | None) -> Viewer:
    """Load a user's memberships (one query) into a Viewer."""
    if user is None:
        return ANONYMOUS
    rows = await Membership.filter(user_id=user.id).values_list("network_id", "role")
    return Viewer(user=user, roles={int(nid): Role(role) for nid, role in rows})


def can_read(viewer: Viewer, network: Network) -> bool:
    return network.visibility == Visibility.PUBLIC or viewer.is_admin or viewer.is_member(network)


def require_read(viewer: Viewer, network: Network) -> None:
    if not can_read(viewer, network):
        raise NotFound("no such network")


def can_post(viewer: Viewer, network: Network) -> bool:
    """Members write in their networks, admins anywhere; both once their address is
    confirmed."""
    if viewer.user is None or not viewer.user.email_verified:
        return False
    return viewer.is_admin or viewer.is_member(network)


def require_post(viewer: Viewer, network: Network) -> None:
    require_read(viewer, network)
    _require_confirmed(viewer, "log in to write", "write")
    if not can_post(viewer, network):
        raise PermissionDenied("only members of this network can write here")


def require_preview(viewer: Viewer) -> None:
    """A preview renders a body, which costs the server: signed-in people whose address is
    confirmed only (nobody else can post what they would preview)."""
    _require_confirmed(viewer, "Log in to preview a post.", "preview or write")


def _require_confirmed(viewer: Viewer, anonymous: str, doing: str) -> None:
    """Signed in (else PermissionDenied(`anonymous`)) with a confirmed address."""
    if viewer.user is None:
        raise PermissionDenied(anonymous)
    if not viewer.user.email_verified:
        raise PermissionDenied(
            f"Confirm your email address before you {doing}: open the link we sent you "
            "(or ask for a new one from the notice at the top of the page)."
        )


def can_reply(viewer: Viewer, thread: Thread, network: Network) -> bool:
    if not can_post(viewer, network):
        return False
    return not thread.locked or viewer.is_facilitator(network)


def can_moderate(viewer: Viewer, network: Network) -> bool:
    return viewer.is_facilitator(network)


def can_manage_members(viewer: Viewer, network: Network) -> bool:
    """Facilitators admit, remove and promote the members of their networks; admins of all."""
    return viewer.is_facilitator(network)


def can_see_listed(viewer: Viewer, network: Network) -> bool:
    """Whether the viewer may know that `network` exists: its name and description, never its
    content. Anyone signed in sees every network listed (at /networks), so that a newcomer can
    ask to join a members-only one; anonymous visitors only the networks they may read."""
    return can_read(viewer, network) or viewer.is_authenticated


def can_join(viewer: Viewer, network: Network) -> bool:
    """One-click joining: public networks open to all, and any network for an admin (who may
    add anyone to any network, themselves included)."""
    return viewer.is_authenticated and (network.open_to_join or viewer.is_admin)


def can_edit_post(viewer: Viewer, post: Post, network: Network) -> bool:
    """Authors (still members) edit and delete their posts; facilitators any post. Nobody
    edits a deleted or redacted post, and only facilitators a hidden one."""
    if viewer.user is None or post.deleted or post.redacted_at is not None:
        return False
    if viewer.is_facilitator(network):
        return True
    return post.author_id == viewer.user.id and viewer.is_member(network) and not post.hidden


async def readable_network_ids(viewer: Viewer) -> list[int]:
    """Ids of every network the viewer may read."""
    if viewer.is_admin:
        every: list[Any] = list(await Network.all().values_list("id", flat=True))
        return [int(i) for i in every]
    public: list[Any] = list(
        await Network.filter(visibility=Visibility.PUBLIC).values_list("id", flat=True)
    )
    return sorted({int(i) for i in public} | set(viewer.roles))


async def facilitated_network_ids(viewer: Viewer) -> list[int]:
    """Ids of the networks the viewer facilitates (every network, for an admin)."""
    if viewer.is_admin:
        return await readable_network_ids(viewer)
    return sorted(nid for nid, role in viewer.roles.items() if role == Role.FACILITATOR)


# --- The same decisions, as SQL -------------------------------------------------------------
# For the reads that must stay one bounded query over many rows (the header's count of unread
# notifications, the notifications page): `can_read` and `Post.withdrawn` written as SQL
# conditions, decided here and nowhere else.


def readable_network_sql(network: str, user: str) -> str:
    """SQL true where the user whose id is `user` may read the network whose id is
    `network` (both column expressions, e.g. `x.user_id`, `t.network_id`): as `can_read`, a
    public network, one they belong to, or any for an admin."""
    # (Names only go into it: S608 guards against values written into SQL.)
    return (
        f"({network} IN (SELECT rn.id FROM networks rn"  # noqa: S608
        f" WHERE rn.visibility = '{Visibility.PUBLIC.value}')"
        f" OR {network} IN (SELECT rm.network_id FROM memberships rm WHERE rm.user_id = {user})"
        f" OR EXISTS (SELECT 1 FROM users ru WHERE ru.id = {user} AND ru.is_admin))"
    )


# `Post.withdrawn`, negated: the post `rp` is shown to readers.
_POST_SHOWN = "(rp.deleted = FALSE AND rp.hidden = FALSE AND rp.redacted_at IS NULL)"


def notification_shown_sql(note: str) -> str:
    """SQL true where the notification `note` (an alias of the notifications table) may be
    shown to its recipient now, whatever was true when it was made. What it is about decides,
    as it stands now: a post's notification, by the network of the thread the post is in now
    (moved or merged since) and, unless it tells of a flag dealt with (often by hiding the
    post), by the post still being shown (not deleted, hidden or redacted); a thread's, by
    the thread's network now (a removed thread: never); a network's, by that network."""
    user = f"{note}.user_id"
    flag = NotificationKind.FLAG_RESOLVED.value
    of_network = readable_network_sql(f"{note}.network_id", user)
    return (
        f"(CASE WHEN {note}.post_id IS NOT NULL THEN EXISTS (SELECT 1 FROM posts rp"  # noqa: S608
        f" JOIN threads rt ON rt.id = rp.thread_id WHERE rp.id = {note}.post_id"
        f" AND ({note}.kind = '{flag}' OR {_POST_SHOWN})"
        f" AND {readable_network_sql('rt.network_id', user)})"
        f" WHEN {note}.thread_id IS NOT NULL THEN EXISTS (SELECT 1 FROM threads rt"
        f" WHERE rt.id = {note}.thread_id AND {readable_network_sql('rt.network_id', user)})"
        f" WHEN {note}.network_id IS NOT NULL THEN {of_network}"
        " ELSE TRUE END)"
    )
