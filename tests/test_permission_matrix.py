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
from forum.accounts.models import Session, Token, User
from forum.audit.models import AuditEntry
from forum.knowledge import services as knowledge
from forum.moderation import services as moderation
from forum.moderation.models import Flag, FlagReason, FlagStatus
from forum.networks.models import Network, Role, Visibility
from forum.notifications.models import (
    FollowLevel,
    NetworkWatch,
    Preferences,
    ThreadFollow,
    WatchLevel,
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
    actor = p["actor"]
    if actor == "anonymous":
        return left != set(spares)
    still_in = await Session.exists(user_id=world.users[actor].id)
    return left == set(spares) - {actor} and still_in


# One's own account settings.


def _acting(world: World, p: Prepared) -> User | None:
    return world.users.get(p["actor"])


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
        prepared = await action.prepare(world)
        prepared["actor"] = actor
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
    }
    routes = {r.name for r in ROUTES if isinstance(r, Route) and r.path.startswith("/account/")}
    assert routes == set(covered)
    assert set(covered.values()) <= {a.name for a in ACTIONS}
