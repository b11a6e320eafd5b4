"""A signed-in request's visit (its session, user, roles and unread count) is kept in each
process until the change log moves, for at most `accounts.services.KEPT_FOR` seconds. So
every write that changes what a visit holds must move the log, in every process and on
every host: each test here makes one such write through its service, checks that the log
moved (which is all another process learns), and that the browser's next page shows it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import pytest
from tortoise.transactions import in_transaction

from forum import changes
from forum.accounts import administration, registration
from forum.accounts import services as accounts
from forum.accounts.models import Session, TokenPurpose, User
from forum.config import Settings
from forum.networks import membership
from forum.networks import services as network_services
from forum.networks.models import Membership, Network, Role, Visibility
from forum.notifications import services as notifications
from forum.notifications.models import NotificationKind
from forum.permissions import Viewer, viewer_for
from forum.web.security import SESSION_COOKIE
from tests.conftest import QueryCounter
from tests.factories import login, make_member, make_network, make_thread, make_user


async def _log_position() -> changes.Position | None:
    with changes.per_request():
        return await changes.position()


def _session_key(client: httpx.AsyncClient) -> str:
    [key] = [v for k, v in client.cookies.items() if k.endswith(SESSION_COOKIE)]
    return key


async def _kept_page(client: httpx.AsyncClient, path: str) -> httpx.Response:
    """`path` twice: the second from a kept visit."""
    await client.get(path)
    return await client.get(path)


async def _moves_the_log(write: Awaitable[object]) -> None:
    before = await _log_position()
    await write
    assert await _log_position() != before, "this write must move the change log"


async def test_a_kept_visit_costs_one_query_where_the_log_stands(
    db: str, client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    network = await make_network("dl")
    member = await make_member(network)
    await login(client, member)
    await client.get("/")
    count_queries.statements.clear()
    page = await client.get("/")
    assert "Log out" in page.text
    [statement] = count_queries.statements
    assert statement.startswith('SELECT "id", "created_at"') and 'FROM "changes"' in statement


async def test_cookies_that_open_no_session_never_push_a_kept_visit_out(
    db: str, client: httpx.AsyncClient, count_queries: QueryCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounts._kept_visits, "size", 3)
    member = await make_member(await make_network("dl"))
    await login(client, member)
    key = _session_key(client)
    idle = timedelta(hours=1)
    assert await accounts.visit(key, idle=idle) is not None
    for i in range(10):
        assert await accounts.visit(f"made-up-{i}", idle=idle) is None
    count_queries.statements.clear()
    assert await accounts.visit("made-up-0", idle=idle) is None  # not kept: read again
    assert any("sessions" in s for s in count_queries.statements)
    count_queries.statements.clear()
    assert await accounts.visit(key, idle=idle) is not None  # still kept: no session read
    assert not any("sessions" in s for s in count_queries.statements), count_queries.statements


EndSessions = Callable[[User, str, User], Awaitable[object]]


async def _logout(user: User, key: str, admin: User) -> None:
    await accounts.end_session(key=key)


async def _end_it_from_the_sessions_page(user: User, key: str, admin: User) -> None:
    session = await Session.get(key_hash=accounts._hash_key(key))
    await accounts.end_own_session(user=user, session_id=session.id)


async def _end_others(user: User, key: str, admin: User) -> None:
    elsewhere = await accounts.start_session(user=user, days=1)
    await accounts.end_other_sessions(user=user, keep_key=elsewhere)


async def _new_password(user: User, key: str, admin: User) -> None:
    await accounts.set_password(user=user, password="a brand new passphrase 42")


async def _reset_password(user: User, key: str, admin: User) -> None:
    async with in_transaction() as conn:
        key = await registration._new_token(
            user, TokenPurpose.RESET_PASSWORD, user.email, timedelta(hours=1), conn
        )
    await registration.reset_password(key=key, password="a brand new passphrase 42")


async def _deactivate(user: User, key: str, admin: User) -> None:
    await administration.set_active(viewer=await viewer_for(admin), user=user, active=False)


@pytest.mark.parametrize(
    "end",
    [
        _logout,
        _end_it_from_the_sessions_page,
        _end_others,
        _new_password,
        _reset_password,
        _deactivate,
    ],
)
async def test_a_session_ended_anywhere_ends_a_kept_visit_at_once(
    db: str, client: httpx.AsyncClient, end: EndSessions
) -> None:
    network = await make_network("dl")
    member = await make_member(network)
    admin = await make_user(is_admin=True)
    await login(client, member)
    assert "Log out" in (await _kept_page(client, "/")).text
    await _moves_the_log(end(member, _session_key(client), admin))
    page = await client.get("/")
    assert "Log out" not in page.text and "Log in" in page.text


async def _members_only_thread(network: Network) -> str:
    fac = await make_member(network, role=Role.FACILITATOR)
    thread = await make_thread(network, fac, title="Between meetings")
    return f"/n/{network.slug}/t/{thread.id}-{thread.slug}"


Change = Callable[[Network, User, Settings], Awaitable[object]]


async def _facilitator(network: Network) -> Viewer:
    fac = await Membership.filter(network_id=network.id, role=Role.FACILITATOR).first()
    assert fac is not None
    return await viewer_for(await fac.user)


async def _removed(network: Network, user: User, settings: Settings) -> None:
    await network_services.remove_membership(network=network, user=user)


async def _left(network: Network, user: User, settings: Settings) -> None:
    await membership.leave(viewer=await viewer_for(user), network=network)


async def _removed_by_a_facilitator(network: Network, user: User, settings: Settings) -> None:
    row = await membership.get_membership(network, user.id)
    await membership.remove_member(viewer=await _facilitator(network), membership=row)


async def _added(network: Network, user: User, settings: Settings) -> None:
    await network_services.set_membership(network=network, user=user)


async def _added_by_a_facilitator(network: Network, user: User, settings: Settings) -> None:
    await membership.add_member(
        viewer=await _facilitator(network),
        network=network,
        who=user.username,
        site=settings.site,
    )


async def _approved(network: Network, user: User, settings: Settings) -> None:
    asked = await membership.request_to_join(
        viewer=await viewer_for(user), network=network, site=settings.site
    )
    request = await membership.get_request(network, asked.id)
    await membership.approve(
        viewer=await _facilitator(network), request=request, site=settings.site
    )


@pytest.mark.parametrize(
    ("change", "member_before"),
    [
        (_removed, True),
        (_left, True),
        (_removed_by_a_facilitator, True),
        (_added, False),
        (_added_by_a_facilitator, False),
        (_approved, False),
    ],
)
async def test_a_membership_changed_anywhere_shows_at_once(
    db: str, client: httpx.AsyncClient, settings: Settings, change: Change, member_before: bool
) -> None:
    network = await make_network("ig", visibility=Visibility.MEMBERS)
    url = await _members_only_thread(network)
    user = await make_member(network) if member_before else await make_user()
    await login(client, user)
    assert (await _kept_page(client, url)).status_code == (200 if member_before else 404)
    await _moves_the_log(change(network, user, settings))
    assert (await client.get(url)).status_code == (404 if member_before else 200)


async def test_joining_an_open_network_shows_at_once(db: str, client: httpx.AsyncClient) -> None:
    network = await make_network("dl")
    user = await make_user()
    await login(client, user)
    assert "Join this network" in (await _kept_page(client, "/n/dl")).text
    await _moves_the_log(membership.join(viewer=await viewer_for(user), network=network))
    assert "Leave this network" in (await client.get("/n/dl")).text


async def test_a_new_role_and_a_lost_admin_role_show_at_once(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl")
    member = await make_member(network)
    fac = await make_member(network, role=Role.FACILITATOR)
    admin = await make_user(is_admin=True)
    await login(client, member)
    assert "Add someone with an account" not in (await _kept_page(client, "/n/dl/members")).text
    assert (await client.get("/admin")).status_code == 404  # not an admin: no such page
    row = await membership.get_membership(network, member.id)
    await _moves_the_log(
        membership.set_role(viewer=await viewer_for(fac), membership=row, role=Role.FACILITATOR)
    )
    assert "Add someone with an account" in (await client.get("/n/dl/members")).text
    await _moves_the_log(
        administration.set_admin(viewer=await viewer_for(admin), user=member, is_admin=True)
    )
    assert (await client.get("/admin")).status_code == 200
    await _moves_the_log(
        administration.set_admin(viewer=await viewer_for(admin), user=member, is_admin=False)
    )
    assert (await client.get("/admin")).status_code == 404


async def test_the_header_s_unread_count_follows_notifications_at_once(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl")
    member = await make_member(network)
    await login(client, member)
    assert "unread" not in (await _kept_page(client, "/")).text
    await _moves_the_log(
        notifications.notify(
            user_id=member.id,
            kind=NotificationKind.MEMBERSHIP_APPROVED,
            actor=None,
            network_id=network.id,
        )
    )
    assert '1<span class="visually-hidden"> unread' in (await _kept_page(client, "/")).text
    await _moves_the_log(notifications.mark_all_read(user=member))
    assert "unread" not in (await client.get("/")).text


async def test_a_write_that_does_not_move_the_log_shows_within_kept_for(
    db: str, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bound on anything that changed a visit behind the services' back (a hand-made
    SQL statement, say): a kept visit is read again after KEPT_FOR seconds."""
    monkeypatch.setattr(accounts, "KEPT_FOR", 0.2)
    network = await make_network("ig", visibility=Visibility.MEMBERS)
    url = await _members_only_thread(network)
    member = await make_member(network)
    await login(client, member)
    assert (await _kept_page(client, url)).status_code == 200
    before = await _log_position()
    await Membership.filter(network_id=network.id, user_id=member.id).delete()
    assert await _log_position() == before
    await asyncio.sleep(0.25)
    assert (await client.get(url)).status_code == 404


@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgres"], indirect=True)
async def test_nothing_is_kept_while_an_entry_below_the_newest_is_in_flight(db: str) -> None:
    """PostgreSQL hands out ids at insert: an entry may commit after a newer one, and then
    the newest id does not move when it lands. While a transaction that appended is open,
    the position is unsettled and nothing computed is kept (changes.APPENDING)."""
    await changes.record("post", 1)
    kept: changes.UntilChanged[str, int] = changes.UntilChanged()
    computed = 0

    async def compute() -> int:
        nonlocal computed
        computed += 1
        return computed

    async def read_twice() -> tuple[changes.Position | None, list[int]]:
        values = []
        for _ in range(2):
            with changes.per_request():
                values.append(await kept.get("k", compute))
                at = await changes.position()
        return at, values

    in_flight, read = asyncio.Event(), asyncio.Event()
    during: list[tuple[changes.Position | None, list[int]]] = []

    async def elsewhere() -> None:  # made before the transaction: a connection of its own
        await in_flight.wait()
        await changes.record("post", 2)  # a newer entry, committed first
        during.append(await read_twice())
        read.set()

    task = asyncio.create_task(elsewhere())
    async with in_transaction() as conn:
        await changes.record("post", 3, using=conn)  # the older id, still in flight
        in_flight.set()
        await read.wait()
    await task
    [(newest, values)] = during
    assert values == [1, 2]  # computed each time: not kept while unsettled
    after, values = await read_twice()
    assert after == newest  # the entry that landed did not move the newest id...
    assert values == [3, 3]  # ...but what is computed now sees it, and is kept
