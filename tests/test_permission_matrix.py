"""Who may do what: every action, for six kinds of visitor, over HTTP, on a public and on a
members-only network.

Each row of ACTIONS says how to do one thing with the test client, how to tell that it
happened, and which actors may do it. An actor who may is answered with the action's success
status (a 303 redirect for a form's POST) and the effect is there; anyone else is refused —
404 where they may not read the members-only network (so its names do not leak), 403
otherwise — and nothing changed.

To add an action: write a `prepare` that
builds what it acts on (fresh for each actor), a `perform` that sends the request, a
`happened` that looks in the database, and add an `Action` to ACTIONS. The prepared dict also
holds the acting actor's name under "actor", for actions on one's own things (sessions).
carries the acting user as "actor" (None when anonymous), for actions that act on oneself
(joining, leaving).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from forum.accounts import services
from forum.accounts import services as accounts
from forum.accounts.models import Invitation, Organisation, Session, Token, User
from forum.audit.models import AuditEntry
from forum.knowledge import services as knowledge
from forum.moderation import services as moderation
from forum.moderation.models import Flag, FlagReason, FlagStatus
from forum.networks.models import (
    JoinPolicy,
    Membership,
    MembershipRequest,
    Network,
    RequestStatus,
    Role,
    Visibility,
)
from forum.notifications import feeds as feed_keys
from forum.notifications import weeknotes
from forum.notifications.models import (
    FeedToken,
    FollowLevel,
    NetworkWatch,
    Preferences,
    ThreadFollow,
    WatchLevel,
    Weeknote,
    WeeknoteStatus,
)
from forum.permissions import viewer_for
from forum.threads import curation as curate
from forum.threads.models import Post, Summary, Tag, Thread
from forum.timeutil import utcnow
from tests.factories import (
    PASSWORD,
    csrf,
    login,
    make_member,
    make_network,
    make_org,
    make_reply,
    make_thread,
    make_user,
)

ACTORS = ("anonymous", "outsider", "member", "facilitator", "other_facilitator", "admin")
# Who may read a members-only network: everyone else is told it does not exist.
READERS = frozenset({"member", "facilitator", "admin"})
CURATORS = frozenset({"facilitator", "admin"})
ADMINS = frozenset({"admin"})
EVERYONE = frozenset(ACTORS)
# Who may write in the network (members, its facilitators, admins): they may flag posts.
WRITERS = frozenset({"member", "facilitator", "admin"})
# Who facilitates some network: they have a summary queue and a flag queue.
ANY_FACILITATOR = frozenset({"facilitator", "other_facilitator", "admin"})
SIGNED_IN = EVERYONE - {"anonymous"}
# Who belongs to the network under test (admins do not, unless they join).
MEMBERS = frozenset({"member", "facilitator"})
# Signed in but not a member: they may ask to join (even a members-only network, which they
# know of from the list of networks).
NON_MEMBERS = SIGNED_IN - MEMBERS


@dataclass
class World:
    """The network under test (`here`), another network (`elsewhere`, public), and one user
    for each actor but the anonymous one."""

    here: Network
    elsewhere: Network
    users: dict[str, User]

    @property
    def author(self) -> User:
        return self.users["member"]

    async def thread(self, title: str = "How is your data team structured?", **kw: Any) -> Thread:
        return await make_thread(self.here, self.author, title=title, **kw)

    async def as_admin(self) -> Any:
        return await viewer_for(self.users["admin"])


async def make_world(visibility: Visibility) -> World:
    here = await make_network(visibility=visibility)
    elsewhere = await make_network()
    users = {
        "outsider": await make_user(),
        "member": await make_member(here),
        "facilitator": await make_member(here, role=Role.FACILITATOR),
        "other_facilitator": await make_member(elsewhere, role=Role.FACILITATOR),
        "admin": await make_user(is_admin=True),
    }
    # The facilitator of `here` may move threads to `elsewhere`: they facilitate both.
    await make_member(elsewhere, users["facilitator"], role=Role.FACILITATOR)
    return World(here=here, elsewhere=elsewhere, users=users)


Prepared = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    allowed: frozenset[str]
    # Builds what the action acts on; called afresh for each actor.
    prepare: Callable[[World], Awaitable[Prepared]]
    # Sends the request with a client that is logged in as the actor (or anonymous).
    perform: Callable[[httpx.AsyncClient, World, Prepared], Awaitable[httpx.Response]]
    # True once the action has had its effect.
    happened: Callable[[World, Prepared], Awaitable[bool]]
    success: int = 303
    # A fixed status for every refusal (e.g. 404 for admin pages), instead of 403/404.
    refused_status: int | None = None
    notes: dict[str, str] = field(default_factory=dict)
    # Who may, when the network is public (reading pages: everyone); default `allowed`.
    allowed_public: frozenset[str] | None = None
    # What the anonymous visitor gets instead, when it differs (303: sent to log in).
    anonymous_status: int | None = None

    def allowed_on(self, visibility: Visibility) -> frozenset[str]:
        if visibility == Visibility.PUBLIC and self.allowed_public is not None:
            return self.allowed_public
        return self.allowed


async def _token(client: httpx.AsyncClient) -> str:
    # Every page carries the logout form's token once logged in; the login page before.
    return await csrf(client, "/" if client.cookies.get("forum_session") else "/login")


async def _post(client: httpx.AsyncClient, path: str, data: dict[str, str]) -> httpx.Response:
    return await client.post(path, data={"csrf_token": await _token(client), **data})


def _thread_path(world: World, thread: Thread, tail: str) -> str:
    return f"/n/{world.here.slug}/t/{thread.id}/{tail}"


async def _fresh(p: Prepared) -> Thread | None:
    return await Thread.get_or_none(id=p["thread"].id)


# Curating threads.


async def a_thread(world: World) -> Prepared:
    return {"thread": await world.thread()}


async def a_pinned_thread(world: World) -> Prepared:
    thread = await world.thread()
    await curate.set_pinned(viewer=await world.as_admin(), thread=thread, pinned=True)
    return {"thread": thread}


async def a_locked_thread(world: World) -> Prepared:
    thread = await world.thread()
    await curate.set_locked(viewer=await world.as_admin(), thread=thread, locked=True)
    return {"thread": thread}


async def a_duplicate_pair(world: World) -> Prepared:
    return {
        "thread": await world.thread("Data team structures"),
        "target": await world.thread("How is your data team structured?"),
    }


def post_to(tail: str, **data: str) -> Callable[..., Awaitable[httpx.Response]]:
    async def perform(client: httpx.AsyncClient, world: World, p: Prepared) -> httpx.Response:
        return await _post(client, _thread_path(world, p["thread"], tail), dict(data))

    return perform


def get_page(tail: str) -> Callable[..., Awaitable[httpx.Response]]:
    async def perform(client: httpx.AsyncClient, world: World, p: Prepared) -> httpx.Response:
        return await client.get(_thread_path(world, p["thread"], tail))

    return perform


async def merge(client: httpx.AsyncClient, world: World, p: Prepared) -> httpx.Response:
    data = {"target": str(p["target"].id), "confirm": "1"}
    return await _post(client, _thread_path(world, p["thread"], "merge"), data)


async def move(client: httpx.AsyncClient, world: World, p: Prepared) -> httpx.Response:
    data = {"network": world.elsewhere.slug}
    return await _post(client, _thread_path(world, p["thread"], "move"), data)


async def pinned(world: World, p: Prepared) -> bool:
    thread = await _fresh(p)
    return thread is not None and thread.pinned


async def unpinned(world: World, p: Prepared) -> bool:
    return not await pinned(world, p)


async def locked(world: World, p: Prepared) -> bool:
    thread = await _fresh(p)
    return thread is not None and thread.locked and thread.lock_reason == "Answered"


async def unlocked(world: World, p: Prepared) -> bool:
    thread = await _fresh(p)
    return thread is not None and not thread.locked


async def tagged(world: World, p: Prepared) -> bool:
    slugs = await Tag.filter(threads__id=p["thread"].id).values_list("slug", flat=True)
    return sorted(str(s) for s in slugs) == ["alpha", "beta"]


async def renamed(world: World, p: Prepared) -> bool:
    thread = await _fresh(p)
    return thread is not None and thread.title == "Renamed by a curator"


async def moved(world: World, p: Prepared) -> bool:
    thread = await _fresh(p)
    return thread is not None and thread.network_id == world.elsewhere.id


async def merged(world: World, p: Prepared) -> bool:
    return await _fresh(p) is None


async def always(world: World, p: Prepared) -> bool:
    """For pages that only show something: the status is the whole answer."""
    return True


async def nothing(world: World) -> Prepared:
    return {}


async def audit_log(client: httpx.AsyncClient, world: World, p: Prepared) -> httpx.Response:
    return await client.get("/admin/audit")


# Summaries and the knowledge base.


async def a_summarised_thread(world: World) -> Prepared:
    """A thread whose summary has two versions, "First version." then "Second version."."""
    thread = await world.thread()
    viewer = await world.as_admin()
    for body in ("First version.", "Second version."):
        await knowledge.write_summary(viewer=viewer, thread=thread, body=body)
    return {"thread": thread, "since": utcnow()}


async def a_stale_summary(world: World) -> Prepared:
    p = await a_summarised_thread(world)
    long_ago = utcnow() - timedelta(days=30)
    await Summary.filter(thread_id=p["thread"].id).update(reviewed_at=long_ago)
    return p


async def _summary(p: Prepared) -> Summary | None:
    return await Summary.get_or_none(thread_id=p["thread"].id)


async def summarised(world: World, p: Prepared) -> bool:
    summary = await _summary(p)
    return summary is not None and summary.body == "Three models came up."


async def restored(world: World, p: Prepared) -> bool:
    summary = await _summary(p)
    return summary is not None and summary.body == "First version."


async def reviewed(world: World, p: Prepared) -> bool:
    summary = await _summary(p)
    return summary is not None and summary.last_reviewed >= p["since"]


def get_path(path: Callable[[World, Prepared], str]) -> Callable[..., Awaitable[httpx.Response]]:
    async def perform(client: httpx.AsyncClient, world: World, p: Prepared) -> httpx.Response:
        return await client.get(path(world, p))

    return perform


def kb_article(world: World, p: Prepared) -> str:
    return f"/n/{world.here.slug}/kb/{p['thread'].id}-{p['thread'].slug}"


# Moderation.


async def a_post(world: World) -> Prepared:
    thread = await world.thread()
    return {"thread": thread, "post": await make_reply(thread, world.users["facilitator"])}


async def a_hidden_post(world: World) -> Prepared:
    p = await a_post(world)
    await moderation.hide_post(viewer=await world.as_admin(), post=p["post"], network=world.here)
    return p


async def a_flag(world: World) -> Prepared:
    p = await a_post(world)
    p["flag"] = await Flag.create(
        post=p["post"], reporter=world.users["member"], reason=FlagReason.SPAM, created_at=utcnow()
    )
    return p


def post_on_post(tail: str, **data: str) -> Callable[..., Awaitable[httpx.Response]]:
    async def perform(client: httpx.AsyncClient, world: World, p: Prepared) -> httpx.Response:
        return await _post(client, f"/n/{world.here.slug}/p/{p['post'].id}/{tail}", dict(data))

    return perform


def post_page(tail: str) -> Callable[[World, Prepared], str]:
    return lambda world, p: f"/n/{world.here.slug}/p/{p['post'].id}/{tail}"


async def _post_now(p: Prepared) -> Post:
    return await Post.get(id=p["post"].id)


async def flagged(world: World, p: Prepared) -> bool:
    return await Flag.exists(post_id=p["post"].id, status=FlagStatus.OPEN)


async def hidden(world: World, p: Prepared) -> bool:
    return (await _post_now(p)).hidden


async def shown_again(world: World, p: Prepared) -> bool:
    return not await hidden(world, p)


async def redacted(world: World, p: Prepared) -> bool:
    return (await _post_now(p)).redacted_at is not None


async def dismiss(client: httpx.AsyncClient, world: World, p: Prepared) -> httpx.Response:
    return await _post(client, f"/n/{world.here.slug}/flags/{p['flag'].id}/dismiss", {})


async def dismissed(world: World, p: Prepared) -> bool:
    flag = await Flag.get(id=p["flag"].id)
    return flag.status == FlagStatus.DISMISSED


def site_page(path: str) -> Callable[..., Awaitable[httpx.Response]]:
    async def perform(client: httpx.AsyncClient, world: World, p: Prepared) -> httpx.Response:
        return await client.get(path)

    return perform


async def muted(world: World, p: Prepared) -> bool:
    return await ThreadFollow.exists(thread_id=p["thread"].id, level=FollowLevel.MUTED)


async def watch_everything(client: httpx.AsyncClient, world: World, p: Prepared) -> httpx.Response:
    return await _post(client, f"/n/{world.here.slug}/watch", {"level": "all"})


async def no_watches(world: World) -> Prepared:
    """Each actor starts with nobody watching the network (the world is shared)."""
    await NetworkWatch.filter(network_id=world.here.id).delete()
    return {}


async def watching(world: World, p: Prepared) -> bool:
    return await NetworkWatch.exists(network_id=world.here.id, level=WatchLevel.ALL)


# One's own sessions.


async def _spare_session(user: User) -> int:
    """A session of `user`'s in another browser; returns its id."""
    before = set(await Session.filter(user_id=user.id).values_list("id", flat=True))
    await accounts.start_session(user=user, days=1, user_agent="Firefox/140.0 (X11; Linux)")
    after = set(await Session.filter(user_id=user.id).values_list("id", flat=True))
    (new,) = after - before
    return int(new)


async def a_members_other_session(world: World) -> Prepared:
    return {"session": await _spare_session(world.users["member"])}


async def everyones_other_session(world: World) -> Prepared:
    return {"spares": {actor: await _spare_session(u) for actor, u in world.users.items()}}


async def end_session(client: httpx.AsyncClient, world: World, p: Prepared) -> httpx.Response:
    return await _post(client, f"/account/sessions/{p['session']}/end", {})


async def session_ended(world: World, p: Prepared) -> bool:
    return not await Session.exists(id=p["session"])


async def only_own_others_ended(world: World, p: Prepared) -> bool:
    """The actor's other session ended, and nobody else's; the actor is still logged in."""
    spares: dict[str, int] = p["spares"]
    alive = set(await Session.filter(id__in=list(spares.values())).values_list("id", flat=True))
    left = {actor for actor, sid in spares.items() if sid in alive}
    actor = p["actor_name"]
    if actor == "anonymous":
        return left != set(spares)
    still_in = await Session.exists(user_id=world.users[actor].id)
    return left == set(spares) - {actor} and still_in


# One's own account settings.


def _acting(world: World, p: Prepared) -> User | None:
    return world.users.get(p["actor_name"])


async def name_changed(world: World, p: Prepared) -> bool:
    user = _acting(world, p)
    return user is not None and (await User.get(id=user.id)).display_name == "Renamed Person"


async def choices_saved(world: World, p: Prepared) -> bool:
    user = _acting(world, p)
    return user is not None and await Preferences.exists(user_id=user.id, digest="daily")


async def email_change_sent(world: World, p: Prepared) -> bool:
    user = _acting(world, p)
    return user is not None and await Token.exists(user_id=user.id, email="moved@example.org")


async def password_changed(world: World, p: Prepared) -> bool:
    user = _acting(world, p)
    return (
        user is not None
        and await services.authenticate(login=user.username, password="a brand new passphrase")
        is not None
    )


def account_post(path: str, **data: str) -> Callable[..., Awaitable[httpx.Response]]:
    async def perform(client: httpx.AsyncClient, world: World, p: Prepared) -> httpx.Response:
        return await _post(client, path, dict(data))

    return perform


# Weeknotes.


async def _weeknote(world: World, network: Network | None, publish: bool) -> Prepared:
    writer = await (world.as_admin() if network is None else viewer_for(world.users["facilitator"]))
    note = await weeknotes.draft(
        viewer=writer, network=network, start=utcnow() - timedelta(days=7), end=utcnow()
    )
    if publish:
        await weeknotes.publish(viewer=writer, weeknote=note, site_name="Forum")
    return {"weeknote": note, "base": f"/n/{network.slug}/weeknotes" if network else "/weeknotes"}


async def a_published_weeknote(world: World) -> Prepared:
    return await _weeknote(world, world.here, True)


async def a_draft_weeknote(world: World) -> Prepared:
    return await _weeknote(world, world.here, False)


async def a_site_draft(world: World) -> Prepared:
    return await _weeknote(world, None, False)


def on_weeknote(tail: str, **data: str) -> Callable[..., Awaitable[httpx.Response]]:
    async def perform(client: httpx.AsyncClient, world: World, p: Prepared) -> httpx.Response:
        path = f"{p['base']}/{p['weeknote'].id}{tail}"
        if data:
            return await _post(client, path, dict(data))
        return await client.get(path)

    return perform


async def weeknote_drafted(world: World, p: Prepared) -> bool:
    return await Weeknote.filter(network_id=world.here.id).exists()


async def weeknote_renamed(world: World, p: Prepared) -> bool:
    return (await Weeknote.get(id=p["weeknote"].id)).title == "Renamed weeknote"


async def weeknote_published(world: World, p: Prepared) -> bool:
    return (await Weeknote.get(id=p["weeknote"].id)).status == WeeknoteStatus.PUBLISHED


async def weeknote_gone(world: World, p: Prepared) -> bool:
    return not await Weeknote.exists(id=p["weeknote"].id)


async def draft_here(client: httpx.AsyncClient, world: World, p: Prepared) -> httpx.Response:
    await Weeknote.filter(network_id=world.here.id).delete()
    return await _post(
        client,
        f"/n/{world.here.slug}/weeknotes/draft",
        {"start": "2026-11-02", "end": "2026-11-08"},
    )


ACTIONS: list[Action] = [
    Action("pin", CURATORS, a_thread, post_to("pin", value="1"), pinned),
    Action("unpin", CURATORS, a_pinned_thread, post_to("pin", value="0"), unpinned),
    Action("lock", CURATORS, a_thread, post_to("lock", value="1", reason="Answered"), locked),
    Action("unlock", CURATORS, a_locked_thread, post_to("lock", value="0"), unlocked),
    Action("tags", CURATORS, a_thread, post_to("tags", tags="alpha, beta"), tagged),
    Action("rename", CURATORS, a_thread, post_to("rename", title="Renamed by a curator"), renamed),
    Action("move", CURATORS, a_thread, move, moved),
    Action("merge", CURATORS, a_duplicate_pair, merge, merged),
    Action("lock form", CURATORS, a_thread, get_page("lock"), always, success=200),
    Action("tags form", CURATORS, a_thread, get_page("tags"), always, success=200),
    Action("rename form", CURATORS, a_thread, get_page("rename"), always, success=200),
    Action("move form", CURATORS, a_thread, get_page("move"), always, success=200),
    Action("merge form", CURATORS, a_thread, get_page("merge"), always, success=200),
    Action("audit log", ADMINS, nothing, audit_log, always, success=200, refused_status=404),
    # Summaries and the knowledge base.
    Action(
        "write summary",
        CURATORS,
        a_thread,
        post_to("summary", body="Three models came up."),
        summarised,
        # Signed out: the login page, carrying the text to send once logged in (web.unsent).
        anonymous_status=401,
    ),
    Action("summary form", CURATORS, a_thread, get_page("summary"), always, success=200),
    Action(
        "restore summary",
        CURATORS,
        a_summarised_thread,
        post_to("summary/restore", version="1"),
        restored,
    ),
    Action("mark reviewed", CURATORS, a_stale_summary, post_to("summary/reviewed"), reviewed),
    Action(
        "summary history",
        READERS,
        a_summarised_thread,
        get_page("summary/history"),
        always,
        success=200,
        allowed_public=EVERYONE,
    ),
    Action(
        "kb article",
        READERS,
        a_summarised_thread,
        get_path(kb_article),
        always,
        success=200,
        allowed_public=EVERYONE,
    ),
    Action(
        "kb",
        READERS,
        a_summarised_thread,
        get_path(lambda world, p: f"/n/{world.here.slug}/kb"),
        always,
        success=200,
        allowed_public=EVERYONE,
    ),
    Action(
        "kb feed",
        READERS,
        a_summarised_thread,
        get_path(lambda world, p: f"/n/{world.here.slug}/kb.atom"),
        always,
        success=200,
        allowed_public=EVERYONE,
    ),
    Action(
        "summary queue",
        ANY_FACILITATOR,
        nothing,
        site_page("/queue"),
        always,
        success=200,
        refused_status=404,
    ),
    # Moderation.
    Action("flag", WRITERS, a_post, post_on_post("flag", reason="spam"), flagged, success=200),
    Action("flag form", WRITERS, a_post, get_path(post_page("flag")), always, success=200),
    Action("hide", CURATORS, a_post, post_on_post("hide", note="Off-topic"), hidden),
    Action("hide form", CURATORS, a_post, get_path(post_page("hide")), always, success=200),
    Action("restore", CURATORS, a_hidden_post, post_on_post("restore"), shown_again),
    Action("redact", CURATORS, a_post, post_on_post("redact"), redacted),
    Action("redact form", CURATORS, a_post, get_path(post_page("redact")), always, success=200),
    Action("dismiss flag", CURATORS, a_flag, dismiss, dismissed),
    Action(
        "flag queue",
        ANY_FACILITATOR,
        nothing,
        site_page("/flags"),
        always,
        success=200,
        refused_status=404,
    ),
    # Following and watching.
    Action(
        "follow",
        READERS,
        a_thread,
        post_to("follow", level="muted"),
        muted,
        allowed_public=EVERYONE - {"anonymous"},
    ),
    Action("watch", READERS, no_watches, watch_everything, watching),
    # One's own sessions: everyone signed in, for their own only (another's id is a 404).
    Action(
        "sessions page",
        SIGNED_IN,
        nothing,
        site_page("/account/sessions"),
        always,
        success=200,
        anonymous_status=303,
    ),
    Action(
        "end session",
        frozenset({"member"}),
        a_members_other_session,
        end_session,
        session_ended,
        refused_status=404,
        anonymous_status=303,
    ),
    Action(
        "weeknotes",
        READERS,
        nothing,
        get_path(lambda world, p: f"/n/{world.here.slug}/weeknotes"),
        always,
        success=200,
        allowed_public=EVERYONE,
    ),
    Action(
        "weeknote",
        READERS,
        a_published_weeknote,
        on_weeknote(""),
        always,
        success=200,
        allowed_public=EVERYONE,
    ),
    Action("draft weeknote", CURATORS, nothing, draft_here, weeknote_drafted),
    Action(
        "weeknote edit form",
        CURATORS,
        a_published_weeknote,
        on_weeknote("/edit"),
        always,
        success=200,
    ),
    Action(
        "edit weeknote",
        CURATORS,
        a_published_weeknote,
        on_weeknote("/edit", title="Renamed weeknote", body="New words."),
        weeknote_renamed,
    ),
    # A draft is invisible to all but its writers: 404, not 403.
    Action(
        "publish weeknote",
        CURATORS,
        a_draft_weeknote,
        on_weeknote("/publish", go="1"),
        weeknote_published,
        refused_status=404,
    ),
    Action(
        "discard weeknote",
        CURATORS,
        a_draft_weeknote,
        on_weeknote("/delete", go="1"),
        weeknote_gone,
        refused_status=404,
    ),
    Action(
        "publish site weeknote",
        ADMINS,
        a_site_draft,
        on_weeknote("/publish", go="1"),
        weeknote_published,
        refused_status=404,
    ),
    Action(
        "account page",
        SIGNED_IN,
        nothing,
        site_page("/account"),
        always,
        success=200,
        anonymous_status=303,
    ),
    Action(
        "change name",
        SIGNED_IN,
        nothing,
        account_post("/account/profile", display_name="Renamed Person"),
        name_changed,
        anonymous_status=303,
    ),
    Action(
        "change email",
        SIGNED_IN,
        nothing,
        account_post("/account/email", email="moved@example.org", current_password=PASSWORD),
        email_change_sent,
        anonymous_status=303,
    ),
    Action(
        "change password",
        SIGNED_IN,
        nothing,
        account_post(
            "/account/password", current_password=PASSWORD, password="a brand new passphrase"
        ),
        password_changed,
        anonymous_status=303,
    ),
    Action(
        "email choices",
        SIGNED_IN,
        nothing,
        site_page("/account/notifications"),
        always,
        success=200,
        anonymous_status=303,
    ),
    Action(
        "save email choices",
        SIGNED_IN,
        nothing,
        account_post("/account/notifications", digest="daily"),
        choices_saved,
        anonymous_status=303,
    ),
    Action(
        "end other sessions",
        SIGNED_IN,
        everyones_other_session,
        lambda client, world, p: _post(client, "/account/sessions/end-others", {}),
        only_own_others_ended,
        anonymous_status=303,
    ),
]


# Membership: joining, asking, leaving, and the members page.

_seq = iter(range(1, 10**6))


def net_path(tail: str) -> Callable[[World, Prepared], str]:
    return lambda world, p: f"/n/{world.here.slug}/{tail}"


def post_path(
    path: Callable[[World, Prepared], str], **data: str
) -> Callable[..., Awaitable[httpx.Response]]:
    async def perform(client: httpx.AsyncClient, world: World, p: Prepared) -> httpx.Response:
        fields = {key: value.format(**p) for key, value in data.items()}
        return await _post(client, path(world, p), fields)

    return perform


async def _is_member(world: World, user: User | None) -> bool:
    return user is not None and await Membership.exists(network_id=world.here.id, user_id=user.id)


async def _members_now(world: World) -> Prepared:
    ids = await Membership.filter(network_id=world.here.id).values_list("user_id", flat=True)
    return {"members": {int(i) for i in ids}}


async def a_second_facilitator(world: World) -> Prepared:
    """So that the facilitator is not the last one, and may leave."""
    await make_member(world.here, role=Role.FACILITATOR)
    return await _members_now(world)


async def asking_policy(world: World) -> Prepared:
    """A public network that admits by request (members-only ones always do)."""
    await Network.filter(id=world.here.id).update(join_policy=JoinPolicy.REQUEST)
    return {}


async def waiting_requests(world: World) -> Prepared:
    """A waiting request to join from each signed-in actor who is not a member."""
    for name in NON_MEMBERS:
        user = world.users[name]
        if not await MembershipRequest.exists(
            network_id=world.here.id, user_id=user.id, status=RequestStatus.PENDING
        ):
            await MembershipRequest.create(network=world.here, user=user, created_at=utcnow())
    return {}


async def _pending(world: World, user: User | None) -> bool:
    return user is not None and await MembershipRequest.exists(
        network_id=world.here.id, user_id=user.id, status=RequestStatus.PENDING
    )


async def joined(world: World, p: Prepared) -> bool:
    return await _is_member(world, p["actor"])


async def left(world: World, p: Prepared) -> bool:
    actor = p["actor"]
    return actor is not None and actor.id in p["members"] and not await _is_member(world, actor)


async def asked(world: World, p: Prepared) -> bool:
    return await _pending(world, p["actor"])


async def withdrawn(world: World, p: Prepared) -> bool:
    return p["actor"] is not None and not await _pending(world, p["actor"])


async def a_newcomer(world: World) -> Prepared:
    return {"user": await make_user()}


async def a_new_address(world: World) -> Prepared:
    return {"email": f"invitee{next(_seq)}@example.org"}


async def a_plain_member(world: World) -> Prepared:
    return {"user": await make_member(world.here)}


async def a_second_facilitator_to_demote(world: World) -> Prepared:
    return {"user": await make_member(world.here, role=Role.FACILITATOR)}


async def a_request(world: World) -> Prepared:
    user = await make_user()
    request = await MembershipRequest.create(network=world.here, user=user, created_at=utcnow())
    return {"user": user, "request": request}


async def added(world: World, p: Prepared) -> bool:
    return await _is_member(world, p["user"])


async def removed(world: World, p: Prepared) -> bool:
    return not await _is_member(world, p["user"])


async def _role(world: World, p: Prepared) -> Role | None:
    membership = await Membership.get_or_none(network_id=world.here.id, user_id=p["user"].id)
    return membership.role if membership else None


async def promoted(world: World, p: Prepared) -> bool:
    return await _role(world, p) == Role.FACILITATOR


async def demoted(world: World, p: Prepared) -> bool:
    return await _role(world, p) == Role.MEMBER


async def invited(world: World, p: Prepared) -> bool:
    return await Invitation.exists(email=p["email"])


async def declined(world: World, p: Prepared) -> bool:
    request = await MembershipRequest.get(id=p["request"].id)
    return request.status == RequestStatus.DECLINED


def member_path(tail: str) -> Callable[[World, Prepared], str]:
    return lambda world, p: f"/n/{world.here.slug}/members/{p['user'].id}/{tail}"


def request_path(tail: str) -> Callable[[World, Prepared], str]:
    return lambda world, p: f"/n/{world.here.slug}/requests/{p['request'].id}/{tail}"


# Administration (admins only; 404 for everyone else).


async def a_new_slug(world: World) -> Prepared:
    return {"slug": f"made-{next(_seq)}"}


async def network_made(world: World, p: Prepared) -> bool:
    return await Network.exists(slug=p["slug"])


async def organisation_made(world: World, p: Prepared) -> bool:
    return await Organisation.exists(slug=p["slug"])


async def original_name(world: World) -> Prepared:
    await Network.filter(id=world.here.id).update(name="Network under test")
    return {"visibility": world.here.visibility.value}


async def network_renamed(world: World, p: Prepared) -> bool:
    return (await Network.get(id=world.here.id)).name == "Renamed by an admin"


async def an_organisation(world: World) -> Prepared:
    return {"organisation": await make_org("Borough under test")}


async def organisation_renamed(world: World, p: Prepared) -> bool:
    return (await Organisation.get(id=p["organisation"].id)).name == "Renamed by an admin"


async def an_account(world: World) -> Prepared:
    return {"user": await make_user()}


async def a_deactivated_account(world: World) -> Prepared:
    user = await make_user()
    await User.filter(id=user.id).update(is_active=False)
    return {"user": user}


async def another_admin(world: World) -> Prepared:
    return {"user": await make_user(is_admin=True)}


async def _account(p: Prepared) -> User:
    return await User.get(id=p["user"].id)


async def deactivated(world: World, p: Prepared) -> bool:
    return not (await _account(p)).is_active


async def reactivated(world: World, p: Prepared) -> bool:
    return (await _account(p)).is_active


async def made_admin(world: World, p: Prepared) -> bool:
    return (await _account(p)).is_admin


async def unmade_admin(world: World, p: Prepared) -> bool:
    return not (await _account(p)).is_admin


async def an_invitation(world: World) -> Prepared:
    now = utcnow()
    n = next(_seq)
    invitation = await Invitation.create(
        key_hash=f"key-{n}",
        email=f"invited{n}@example.org",
        created_at=now,
        expires_at=now + timedelta(days=14),
    )
    return {"invitation": invitation}


async def revoked(world: World, p: Prepared) -> bool:
    return (await Invitation.get(id=p["invitation"].id)).revoked_at is not None


def admin_page(path: str | Callable[[World, Prepared], str], **kw: Any) -> dict[str, Any]:
    """What every admin page's row shares: admins only, everyone else told 404."""
    perform = site_page(path) if isinstance(path, str) else get_path(path)
    return {"perform": perform, "happened": always, "success": 200, "refused_status": 404, **kw}


ACTIONS += [
    # Belonging to the network.
    Action("join", READERS, nothing, post_path(net_path("join")), joined, allowed_public=SIGNED_IN),
    Action(
        "request form",
        SIGNED_IN,
        nothing,
        get_path(net_path("request")),
        always,
        success=200,
        allowed_public=EVERYONE,
    ),
    Action(
        "request to join",
        NON_MEMBERS,
        asking_policy,
        post_path(net_path("request"), message="I lead data at Brent."),
        asked,
    ),
    Action(
        "withdraw request",
        SIGNED_IN,
        waiting_requests,
        post_path(net_path("request/withdraw")),
        withdrawn,
    ),
    Action("leave", MEMBERS, a_second_facilitator, post_path(net_path("leave")), left),
    # The members page.
    Action("members page", CURATORS, nothing, get_path(net_path("members")), always, success=200),
    Action(
        "add member",
        CURATORS,
        a_newcomer,
        post_path(net_path("members/add"), who="{user.username}"),
        added,
    ),
    Action(
        "invite member",
        CURATORS,
        a_new_address,
        post_path(net_path("members/invite"), email="{email}"),
        invited,
    ),
    Action("remove member", CURATORS, a_plain_member, post_path(member_path("remove")), removed),
    Action(
        "make facilitator",
        CURATORS,
        a_plain_member,
        post_path(member_path("role"), role="facilitator"),
        promoted,
    ),
    Action(
        "make member",
        CURATORS,
        a_second_facilitator_to_demote,
        post_path(member_path("role"), role="member"),
        demoted,
    ),
    Action("approve request", CURATORS, a_request, post_path(request_path("approve")), added),
    Action("decline request", CURATORS, a_request, post_path(request_path("decline")), declined),
    # Pages about the whole site.
    Action("networks list", EVERYONE, nothing, site_page("/networks"), always, success=200),
    Action(
        "organisation page",
        EVERYONE,
        an_organisation,
        get_path(lambda world, p: f"/o/{p['organisation'].slug}"),
        always,
        success=200,
    ),
    # Administration.
    Action("admin overview", ADMINS, nothing, **admin_page("/admin")),
    Action("admin networks", ADMINS, nothing, **admin_page("/admin/networks")),
    Action("new network form", ADMINS, nothing, **admin_page("/admin/networks/new")),
    Action(
        "create network",
        ADMINS,
        a_new_slug,
        post_path(
            lambda world, p: "/admin/networks/new",
            slug="{slug}",
            name="Made by an admin",
            visibility="public",
            join_policy="open",
        ),
        network_made,
        refused_status=404,
    ),
    Action(
        "network settings form",
        ADMINS,
        nothing,
        **admin_page(lambda world, p: f"/admin/networks/{world.here.slug}/edit"),
    ),
    Action(
        "edit network",
        ADMINS,
        original_name,
        post_path(
            lambda world, p: f"/admin/networks/{world.here.slug}/edit",
            name="Renamed by an admin",
            visibility="{visibility}",
            join_policy="open",
        ),
        network_renamed,
        refused_status=404,
    ),
    Action("admin organisations", ADMINS, nothing, **admin_page("/admin/organisations")),
    Action("new organisation form", ADMINS, nothing, **admin_page("/admin/organisations/new")),
    Action(
        "create organisation",
        ADMINS,
        a_new_slug,
        post_path(
            lambda world, p: "/admin/organisations/new",
            slug="{slug}",
            name="Made by an admin",
            email_domains="",
        ),
        organisation_made,
        refused_status=404,
    ),
    Action(
        "organisation form",
        ADMINS,
        an_organisation,
        **admin_page(lambda world, p: f"/admin/organisations/{p['organisation'].slug}/edit"),
    ),
    Action(
        "edit organisation",
        ADMINS,
        an_organisation,
        post_path(
            lambda world, p: f"/admin/organisations/{p['organisation'].slug}/edit",
            name="Renamed by an admin",
        ),
        organisation_renamed,
        refused_status=404,
    ),
    Action("admin users", ADMINS, nothing, **admin_page("/admin/users")),
    Action(
        "admin user page",
        ADMINS,
        an_account,
        **admin_page(lambda world, p: f"/admin/users/{p['user'].id}"),
    ),
    Action(
        "deactivate account",
        ADMINS,
        an_account,
        post_path(lambda world, p: f"/admin/users/{p['user'].id}/active", value="0"),
        deactivated,
        refused_status=404,
    ),
    Action(
        "reactivate account",
        ADMINS,
        a_deactivated_account,
        post_path(lambda world, p: f"/admin/users/{p['user'].id}/active", value="1"),
        reactivated,
        refused_status=404,
    ),
    Action(
        "make admin",
        ADMINS,
        an_account,
        post_path(lambda world, p: f"/admin/users/{p['user'].id}/admin", value="1"),
        made_admin,
        refused_status=404,
    ),
    Action(
        "remove admin",
        ADMINS,
        another_admin,
        post_path(lambda world, p: f"/admin/users/{p['user'].id}/admin", value="0"),
        unmade_admin,
        refused_status=404,
    ),
    Action("admin invitations", ADMINS, nothing, **admin_page("/admin/invitations")),
    Action("new invitation form", ADMINS, nothing, **admin_page("/admin/invitations/new")),
    Action(
        "create invitation",
        ADMINS,
        a_new_address,
        post_path(lambda world, p: "/admin/invitations/new", email="{email}"),
        invited,
        refused_status=404,
    ),
    Action(
        "revoke invitation",
        ADMINS,
        an_invitation,
        post_path(lambda world, p: f"/admin/invitations/{p['invitation'].id}/revoke"),
        revoked,
        refused_status=404,
    ),
]


# Atom feeds (their private keys are tested in test_feeds.py), and one's own feed key.


def feed_path(tail: str) -> Callable[..., Awaitable[httpx.Response]]:
    return get_path(lambda world, p: f"/n/{world.here.slug}/{tail}")


async def a_weeknote(world: World) -> Prepared:
    now = utcnow()
    await Weeknote.create(
        network=world.here,
        slug=f"week-{next(_seq)}",
        title="A week",
        period_start=now - timedelta(days=7),
        period_end=now,
        body="A week.",
        body_html="<p>A week.</p>",
        status=WeeknoteStatus.PUBLISHED,
        created_at=now,
        published_at=now,
    )
    return {}


async def own_key_made(world: World, p: Prepared) -> bool:
    actor = p["actor"]
    return actor is not None and await FeedToken.exists(user_id=actor.id, revoked_at__isnull=True)


async def everyones_feed_key(world: World) -> Prepared:
    """A live feed key for every signed-in actor (the world is shared)."""
    for user in world.users.values():
        if not await FeedToken.exists(user_id=user.id, revoked_at__isnull=True):
            await feed_keys.create_token(user=user)
    return {}


async def only_own_keys_revoked(world: World, p: Prepared) -> bool:
    """The actor's keys were revoked, and nobody else's (for the anonymous: anyone's)."""
    live = set(await FeedToken.filter(revoked_at__isnull=True).values_list("user_id", flat=True))
    everyone = {u.id for u in world.users.values()}
    actor = p["actor"]
    if actor is None:
        return not everyone <= live
    return actor.id not in live and everyone - {actor.id} <= live


ACTIONS += [
    Action(
        "threads feed",
        READERS,
        a_thread,
        feed_path("threads.atom"),
        always,
        success=200,
        allowed_public=EVERYONE,
    ),
    Action(
        "replies feed",
        READERS,
        a_post,
        get_path(lambda world, p: _thread_path(world, p["thread"], "replies.atom")),
        always,
        success=200,
        allowed_public=EVERYONE,
    ),
    Action(
        "weeknotes feed",
        READERS,
        a_weeknote,
        feed_path("weeknotes.atom"),
        always,
        success=200,
        allowed_public=EVERYONE,
    ),
    Action(
        "site weeknotes feed",
        EVERYONE,
        nothing,
        site_page("/weeknotes.atom"),
        always,
        success=200,
    ),
    Action(
        "feeds page",
        SIGNED_IN,
        nothing,
        site_page("/account/feeds"),
        always,
        success=200,
        anonymous_status=303,
    ),
    Action(
        "make feed key",
        SIGNED_IN,
        nothing,
        account_post("/account/feeds/token"),
        own_key_made,
        success=200,
        anonymous_status=303,
    ),
    Action(
        "revoke feed keys",
        SIGNED_IN,
        everyones_feed_key,
        account_post("/account/feeds/token/revoke"),
        only_own_keys_revoked,
        anonymous_status=303,
    ),
]


def expected_refusal(action: Action, actor: str, visibility: Visibility) -> int:
    if actor == "anonymous" and action.anonymous_status is not None:
        return action.anonymous_status
    if action.refused_status is not None:
        return action.refused_status
    if visibility == Visibility.MEMBERS and actor not in READERS:
        return 404
    return 403


@pytest.fixture
async def clients(app: Starlette) -> AsyncIterator[Callable[[], httpx.AsyncClient]]:
    """A factory of fresh clients (each with its own cookies), closed at the end."""
    opened: list[httpx.AsyncClient] = []
    transport = httpx.ASGITransport(app=app)

    def new() -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        opened.append(client)
        return client

    yield new
    for client in opened:
        await client.aclose()


@pytest.mark.parametrize("visibility", [Visibility.PUBLIC, Visibility.MEMBERS], ids=str)
@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name.replace(" ", "-"))
async def test_permission_matrix(
    db: str,
    clients: Callable[[], httpx.AsyncClient],
    action: Action,
    visibility: Visibility,
) -> None:
    world = await make_world(visibility)
    wrong: list[str] = []
    for actor in ACTORS:
        client = clients()
        if actor != "anonymous":
            await login(client, world.users[actor])
        # The acting user (None when anonymous) and the actor's name.
        prepared = {
            **await action.prepare(world),
            "actor": world.users.get(actor),
            "actor_name": actor,
        }
        audited = await AuditEntry.all().count()
        response = await action.perform(client, world, prepared)
        did = await action.happened(world, prepared)
        if actor in action.allowed_on(visibility):
            expected = action.success
            ok = response.status_code == expected and did
        else:
            expected = expected_refusal(action, actor, visibility)
            ok = response.status_code == expected and (action.happened is always or not did)
            # A refused action leaves no trace in the audit log either.
            ok = ok and await AuditEntry.all().count() == audited
        if not ok:
            wrong.append(
                f"{actor}: expected {expected}, got {response.status_code}"
                f" (effect {'happened' if did else 'absent'})"
            )
    assert not wrong, f"{action.name} on a {visibility} network:\n" + "\n".join(wrong)


def test_the_matrix_covers_every_curating_route() -> None:
    from starlette.routing import Route

    from forum.web.routes import ROUTES

    curating = {
        r.name
        for r in ROUTES
        if isinstance(r, Route)
        and r.name.startswith("thread_")
        and r.name not in ("thread", "thread_new", "thread_create")
    }
    assert curating == {
        "thread_pin",
        "thread_lock",
        "thread_lock_form",
        "thread_tags",
        "thread_tags_form",
        "thread_rename",
        "thread_rename_form",
        "thread_move",
        "thread_move_form",
        "thread_merge",
        "thread_merge_form",
        "thread_follow",
    }
    names = {a.name for a in ACTIONS}
    for route in curating:
        verb = route.removeprefix("thread_").replace("_", " ")
        assert verb in names or verb.replace("pin", "unpin") in names, route


def test_the_matrix_covers_every_summary_and_moderation_route() -> None:
    from starlette.routing import Route

    from forum.web.routes import ROUTES

    covered = {
        "summary_form": "summary form",
        "summary_save": "write summary",
        "summary_restore": "restore summary",
        "summary_reviewed": "mark reviewed",
        "summary_history": "summary history",
        "kb_article": "kb article",
        "network_kb": "kb",
        "kb_feed": "kb feed",
        "facilitator_queue": "summary queue",
        "flag_form": "flag form",
        "flag": "flag",
        "hide_form": "hide form",
        "hide": "hide",
        "restore": "restore",
        "redact_form": "redact form",
        "redact": "redact",
        "dismiss": "dismiss flag",
        "flags": "flag queue",
    }
    routes = {r.name for r in ROUTES if isinstance(r, Route)}
    assert set(covered) <= routes
    names = {a.name for a in ACTIONS}
    assert set(covered.values()) <= names


def test_the_matrix_covers_every_account_session_route() -> None:
    from starlette.routing import Route

    from forum.web.routes import ROUTES

    covered = {
        "account_sessions": "sessions page",
        "account_session_end": "end session",
        "account_sessions_end_others": "end other sessions",
        "account_profile": "change name",
        "account_email": "change email",
        "account_password": "change password",
        "preferences": "email choices",
        "preferences_post": "save email choices",
        "account_feeds": "feeds page",
        "account_feeds_token": "make feed key",
        "account_feeds_revoke": "revoke feed keys",
    }
    routes = {r.name for r in ROUTES if isinstance(r, Route) and r.path.startswith("/account/")}
    assert routes == set(covered)
    assert set(covered.values()) <= {a.name for a in ACTIONS}


def test_the_matrix_covers_every_membership_and_admin_route() -> None:
    from starlette.routing import Route

    from forum.web.routes import ROUTES

    covered = {
        "network_join": "join",
        "join_request_form": "request form",
        "join_request": "request to join",
        "join_request_withdraw": "withdraw request",
        "network_leave": "leave",
        "members": "members page",
        "member_add": "add member",
        "member_invite": "invite member",
        "member_remove": "remove member",
        "member_role": "make facilitator",
        "request_approve": "approve request",
        "request_decline": "decline request",
        "networks": "networks list",
        "organisation": "organisation page",
        "admin": "admin overview",
        "admin_audit": "audit log",
        "admin_networks": "admin networks",
        "admin_network_new": "new network form",
        "admin_network_create": "create network",
        "admin_network_edit_form": "network settings form",
        "admin_network_edit": "edit network",
        "admin_organisations": "admin organisations",
        "admin_organisation_new": "new organisation form",
        "admin_organisation_create": "create organisation",
        "admin_organisation_edit_form": "organisation form",
        "admin_organisation_edit": "edit organisation",
        "admin_users": "admin users",
        "admin_user": "admin user page",
        "admin_user_active": "deactivate account",
        "admin_user_admin": "make admin",
        "admin_invitations": "admin invitations",
        "admin_invitation_new": "new invitation form",
        "admin_invitation_create": "create invitation",
        "admin_invitation_revoke": "revoke invitation",
    }
    routes = {r.name for r in ROUTES if isinstance(r, Route)}
    # Every admin and membership route is in the table above.
    prefixes = ("admin", "member", "request_", "join_", "network_join", "network_leave")
    assert {r for r in routes if r.startswith(prefixes)} <= set(covered)
    assert set(covered) <= routes
    names = {a.name for a in ACTIONS}
    assert set(covered.values()) <= names


def test_the_matrix_covers_every_weeknote_route() -> None:
    from starlette.routing import Route

    from forum.web.routes import ROUTES

    covered = {
        "weeknotes": "weeknotes",
        "weeknote": "weeknote",
        "weeknote_draft": "draft weeknote",
        "weeknote_edit_form": "weeknote edit form",
        "weeknote_edit": "edit weeknote",
        "weeknote_publish": "publish weeknote",
        "weeknote_delete": "discard weeknote",
        "site_weeknote_publish": "publish site weeknote",
    }
    routes = {
        r.name
        for r in ROUTES
        if isinstance(r, Route) and "weeknote" in r.name and not r.name.endswith("_feed")
    }
    # The site-wide pages share the network pages' handlers; publishing stands for them.
    assert set(covered) <= routes
    assert {r.removeprefix("site_") for r in routes} <= set(covered)
    assert set(covered.values()) <= {a.name for a in ACTIONS}


def test_the_matrix_covers_every_feed_route() -> None:
    from starlette.routing import Route

    from forum.web.routes import ROUTES

    covered = {
        "threads_feed": "threads feed",
        "replies_feed": "replies feed",
        "kb_feed": "kb feed",
        "weeknotes_feed": "weeknotes feed",
        "site_weeknotes_feed": "site weeknotes feed",
    }
    feeds = {r.name for r in ROUTES if isinstance(r, Route) and r.path.endswith(".atom")}
    assert feeds == set(covered)
    assert set(covered.values()) <= {a.name for a in ACTIONS}
