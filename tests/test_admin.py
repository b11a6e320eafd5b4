"""The admin pages: networks, organisations, people and invitations, as an admin uses them;
everyone else is told there is nothing there (the permission matrix checks each route)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from forum.accounts.models import Invitation, Organisation, Session, User
from forum.audit.models import AuditEntry
from forum.changes import Change
from forum.mail.models import OutboundEmail
from forum.networks.models import JoinPolicy, Network, Visibility
from forum.timeutil import utcnow
from forum.web import admin_accounts
from tests.conftest import QueryCounter
from tests.factories import (
    PASSWORD,
    csrf,
    login,
    make_member,
    make_network,
    make_org,
    make_thread,
    make_user,
)


def html(response: httpx.Response) -> HTMLParser:
    return HTMLParser(response.text)


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, str] | None = None
) -> httpx.Response:
    token = await csrf(client, "/admin")
    return await client.post(path, data={"csrf_token": token, **(data or {})})


def problems(response: httpx.Response) -> str:
    summary = html(response).css_first(".error-summary")
    return summary.text() if summary else ""


@pytest.fixture
async def admin(db: str, client: httpx.AsyncClient) -> User:
    user = await make_user("root", is_admin=True, display_name="Ada Admin")
    await login(client, user)
    return user


async def test_the_overview_links_every_admin_page(admin: User, client: httpx.AsyncClient) -> None:
    doc = html(await client.get("/admin"))
    links = {a.attributes["href"] for a in doc.css("main a")}
    assert {
        "/admin/networks",
        "/admin/organisations",
        "/admin/users",
        "/admin/invitations",
        "/admin/audit",
    } <= links
    assert (await client.get("/admin/audit")).status_code == 200


async def test_an_admin_creates_a_network(admin: User, client: httpx.AsyncClient) -> None:
    response = await post_form(
        client,
        "/admin/networks/new",
        {
            "slug": "smart-streets",
            "name": "Smart Streets and IoT",
            "description": "Sensors *and* streets.",
            "visibility": "public",
            "join_policy": "request",
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/n/smart-streets"
    network = await Network.get(slug="smart-streets")
    assert network.is_public and network.join_policy == JoinPolicy.REQUEST
    assert "<em>and</em>" in network.description_html
    entry = await AuditEntry.get(action="network.create")
    assert entry.actor_id == admin.id and entry.network_id == network.id
    assert entry.after["name"] == "Smart Streets and IoT"
    assert await Change.exists(kind="network", object_id=network.id)
    listing = await client.get("/admin/networks")
    assert "Smart Streets and IoT" in listing.text and "By request" in listing.text


async def test_the_network_form_names_each_problem_and_keeps_the_input(
    admin: User, client: httpx.AsyncClient
) -> None:
    await make_network("taken")
    cases = [
        ({"slug": "", "name": ""}, ["Use lowercase letters", "Enter the network's name"]),
        ({"slug": "Bad Slug!", "name": "Fine"}, ["Use lowercase letters"]),
        ({"slug": "ok", "name": "N" * 201}, ["Keep the name to 200 characters"]),
        ({"slug": "ok", "name": "Fine", "description": "d" * 5001}, ["Keep the description"]),
        ({"slug": "ok", "name": "Fine", "visibility": "secret"}, ["Choose public or members"]),
        ({"slug": "ok", "name": "Fine", "join_policy": "\x00"}, ["Choose how people join"]),
        ({"slug": "taken", "name": "Fine"}, ["Another network already has this address"]),
    ]
    for data, messages in cases:
        form = {"visibility": "members", "join_policy": "open", "description": "", **data}
        response = await post_form(client, "/admin/networks/new", form)
        assert response.status_code in (409, 422), data
        for message in messages:
            assert message in problems(response), (data, message)
        doc = html(response)
        if "\x00" not in form["name"]:
            assert doc.css_first("input#name").attributes["value"] == form["name"]
    assert await Network.all().count() == 1
    assert not await AuditEntry.exists()


async def test_an_admin_changes_a_networks_settings(admin: User, client: httpx.AsyncClient) -> None:
    network = await make_network("dl", name="Data Leaders", visibility=Visibility.MEMBERS)
    form = html(await client.get("/admin/networks/dl/edit"))
    assert form.css_first("input#name").attributes["value"] == "Data Leaders"
    assert "checked" in form.css_first("input[name=visibility][value=members]").attributes
    data = {
        "name": "Data Leaders Network",
        "description": "About *this* network.",
        "visibility": "public",
        "join_policy": "request",
        "slug": "ignored",
    }
    response = await post_form(client, "/admin/networks/dl/edit", data)
    assert response.status_code == 303
    network = await Network.get(id=network.id)
    assert network.slug == "dl" and network.name == "Data Leaders Network"
    assert network.is_public and network.join_policy == JoinPolicy.REQUEST
    entry = await AuditEntry.get(action="network.edit")
    assert entry.before == {"name": "Data Leaders", "visibility": "members", "join_policy": "open"}
    assert entry.after == {
        "name": "Data Leaders Network",
        "visibility": "public",
        "join_policy": "request",
    }
    # Saving it unchanged writes nothing.
    await post_form(client, "/admin/networks/dl/edit", data)
    assert await AuditEntry.filter(action="network.edit").count() == 1
    response = await post_form(client, "/admin/networks/dl/edit", {**data, "name": " "})
    assert response.status_code == 422 and "Enter the network's name" in problems(response)
    assert (await client.get("/admin/networks/nope/edit")).status_code == 404


async def test_an_admin_creates_and_edits_organisations(
    admin: User, client: httpx.AsyncClient
) -> None:
    response = await post_form(
        client,
        "/admin/organisations/new",
        {"slug": "hackney", "name": "Hackney", "email_domains": "Hackney.GOV.uk, @hackney.org\n"},
    )
    assert response.status_code == 303
    org = await Organisation.get(slug="hackney")
    assert org.email_domains == ["hackney.gov.uk", "hackney.org"]
    alice = await make_user("alice", organisation=org)
    listing = await client.get("/admin/organisations")
    assert "hackney.gov.uk, hackney.org" in listing.text

    response = await post_form(
        client,
        "/admin/organisations/hackney/edit",
        {"name": "London Borough of Hackney", "email_domains": "hackney.gov.uk"},
    )
    assert response.status_code == 303
    org = await Organisation.get(id=org.id)
    assert org.name == "London Borough of Hackney" and org.email_domains == ["hackney.gov.uk"]
    # Search learns the new name for each of its people's posts.
    assert await Change.exists(kind="user", object_id=alice.id)
    assert await actions() == ["organisation.create", "organisation.edit"]
    entry = await AuditEntry.get(action="organisation.edit")
    assert entry.before["name"] == "Hackney" and entry.after["email_domains"] == ["hackney.gov.uk"]


async def test_organisation_domains_are_checked_and_belong_to_one_organisation(
    admin: User, client: httpx.AsyncClient
) -> None:
    await post_form(
        client,
        "/admin/organisations/new",
        {"slug": "brent", "name": "Brent", "email_domains": "brent.gov.uk"},
    )
    cases = [
        ("not a domain", "“not” is not an email domain"),
        ("example", "“example” is not an email domain"),
        ("exa_mple.gov.uk", "is not an email domain"),
        ("-bad.gov.uk", "is not an email domain"),
        ("x" * 300 + ".uk", "is not an email domain"),
        ("brent.gov.uk", "brent.gov.uk already belongs to Brent"),
        (", ".join(f"d{i}.gov.uk" for i in range(21)), "at most 20 domains"),
    ]
    for domains, message in cases:
        response = await post_form(
            client,
            "/admin/organisations/new",
            {"slug": "other", "name": "Other", "email_domains": domains},
        )
        assert response.status_code == 422, domains
        assert message in problems(response), domains
        assert html(response).css_first("textarea#email_domains").text() == domains
    assert await Organisation.all().count() == 1
    # Keeping its own domains when editing is no conflict.
    response = await post_form(
        client,
        "/admin/organisations/brent/edit",
        {"name": "Brent Council", "email_domains": "brent.gov.uk"},
    )
    assert response.status_code == 303


async def actions() -> list[str]:
    return [str(a) for a in await AuditEntry.all().order_by("id").values_list("action", flat=True)]


async def test_users_are_found_by_name_or_email_a_page_at_a_time(
    admin: User, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_accounts, "USERS_PER_PAGE", 2)
    await make_user("kwame", display_name="Kwame Mensah")
    await make_user("priya", display_name="Priya Shah")
    await make_user("priyanka", display_name="Priyanka Rao")
    doc = html(await client.get("/admin/users?q=priya"))
    assert [a.text() for a in doc.css("tbody td:first-child a")] == ["Priya Shah", "Priyanka Rao"]
    doc = html(await client.get("/admin/users?q=kwame%40example"))
    assert [a.text() for a in doc.css("tbody td:first-child a")] == ["Kwame Mensah"]
    first = html(await client.get("/admin/users"))
    assert "4 accounts" in first.text()
    assert first.css_first("a[rel=next]").attributes["href"] == "/admin/users?page=2"
    second = html(await client.get("/admin/users?page=2"))
    assert len(second.css("tbody tr")) == 2
    for q in ["\x00", "%", "_", "x" * 5000, "' OR 1=1 --"]:
        response = await client.get("/admin/users", params={"q": q, "page": "-1"})
        assert response.status_code == 200, q


async def test_deactivating_ends_sessions_and_stops_logins_but_keeps_posts(
    admin: User, client: httpx.AsyncClient, app: object
) -> None:
    network = await make_network("dl")
    bob = await make_member(network, await make_user("bob"))
    thread = await make_thread(network, bob, title="A question from Bob")
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        await login(browser, bob)
        assert await Session.exists(user_id=bob.id)
        response = await post_form(client, f"/admin/users/{bob.id}/active", {"value": "0"})
        assert response.status_code == 303
        assert not (await User.get(id=bob.id)).is_active
        assert not await Session.exists(user_id=bob.id)
        # Bob's browser is logged out, and he cannot log in again.
        home = await browser.get("/")
        assert "Log in" in home.text and "/logout" not in home.text
        token = await csrf(browser)
        refused = await browser.post(
            "/login", data={"login": "bob", "password": PASSWORD, "csrf_token": token}
        )
        assert refused.status_code == 401
    assert "A question from Bob" in (await client.get("/n/dl")).text
    assert (await client.get(f"/n/dl/t/{thread.id}-{thread.slug}")).status_code == 200
    page = await client.get(f"/admin/users/{bob.id}")
    assert "Deactivated" in page.text and "Reactivate account" in page.text

    await post_form(client, f"/admin/users/{bob.id}/active", {"value": "1"})
    assert (await User.get(id=bob.id)).is_active
    assert await actions() == ["user.deactivate", "user.reactivate"]


async def test_admins_cannot_deactivate_themselves_or_drop_their_own_admin_role(
    admin: User, client: httpx.AsyncClient
) -> None:
    for path, message in [
        ("active", "You cannot deactivate your own account"),
        ("admin", "You cannot remove your own admin role"),
    ]:
        response = await post_form(client, f"/admin/users/{admin.id}/{path}", {"value": "0"})
        assert response.status_code == 409
        assert message in problems(response)
    fresh = await User.get(id=admin.id)
    assert fresh.is_active and fresh.is_admin
    assert await Session.exists(user_id=admin.id)
    for value in ("", "2", "yes", "\x00"):
        response = await post_form(client, f"/admin/users/{admin.id}/admin", {"value": value})
        assert response.status_code == 409 and "Use the page's buttons" in problems(response)
    assert await actions() == []


async def test_an_admin_makes_and_unmakes_admins(admin: User, client: httpx.AsyncClient) -> None:
    bob = await make_user("bob")
    response = await post_form(client, f"/admin/users/{bob.id}/admin", {"value": "1"})
    assert response.status_code == 303 and (await User.get(id=bob.id)).is_admin
    await post_form(client, f"/admin/users/{bob.id}/admin", {"value": "0"})
    assert not (await User.get(id=bob.id)).is_admin
    entries = await AuditEntry.filter(action="user.admin").order_by("id")
    assert [e.after["admin"] for e in entries] == [True, False]
    assert (await client.get("/admin/users/999999999")).status_code == 404


async def test_an_admin_invites_someone_to_the_site_an_organisation_and_networks(
    admin: User, client: httpx.AsyncClient
) -> None:
    org = await make_org("Camden")
    dl = await make_network("dl", name="Data Leaders")
    ig = await make_network("ig", name="Info Governance", visibility=Visibility.MEMBERS)
    await make_network("other")
    form = html(await client.get("/admin/invitations/new"))
    assert len(form.css("input[name=networks]")) == 3
    token = await csrf(client, "/admin")
    response = await client.post(
        "/admin/invitations/new",
        data={
            "csrf_token": token,
            "email": "new.person@camden.gov.uk",
            "organisation": org.slug,
            "networks": ["dl", "ig"],
            "message": "Welcome aboard.",
        },
    )
    assert response.status_code == 303, response.text
    invitation = await Invitation.get(email="new.person@camden.gov.uk")
    assert invitation.organisation_id == org.id
    assert sorted(invitation.network_ids) == sorted([dl.id, ig.id])
    [sent] = await OutboundEmail.filter(to_address="new.person@camden.gov.uk")
    assert "Welcome aboard." in sent.body_text and "/invite/" in sent.body_text
    listing = html(await client.get("/admin/invitations?status=pending"))
    row = listing.css_first("tbody tr").text()
    assert "new.person@camden.gov.uk" in row and "Data Leaders" in row and "Waiting" in row

    response = await post_form(client, f"/admin/invitations/{invitation.id}/revoke")
    assert response.status_code == 303
    assert (await Invitation.get(id=invitation.id)).revoked_at is not None
    assert "Withdrawn" in html(await client.get("/admin/invitations?status=revoked")).text()
    assert not html(await client.get("/admin/invitations?status=pending")).css("tbody tr")
    assert await actions() == ["invitation.create", "invitation.revoke"]


async def test_the_invitation_form_names_problems_and_keeps_the_choices(
    admin: User, client: httpx.AsyncClient
) -> None:
    await make_network("dl")
    token = await csrf(client, "/admin")
    no_org = "Choose one of the organisations"
    cases = [
        ({"email": "nope"}, "Enter an email address"),
        ({"email": admin.email}, "already has an account"),
        ({"email": "a@example.org", "organisation": "nowhere"}, no_org),
        ({"email": "a@example.org", "networks": ["dl", "gone"]}, "Choose among the networks"),
        ({"email": "a@example.org", "organisation": "\x00" * 10}, no_org),
        ({"email": "a@example.org", "message": "m" * 1001}, "Keep the message"),
    ]
    for data, message in cases:
        response = await client.post(
            "/admin/invitations/new", data={"csrf_token": token, "networks": ["dl"], **data}
        )
        assert response.status_code == 422, data
        assert message in problems(response), data
        doc = html(response)
        assert "checked" in doc.css_first("input[name=networks][value=dl]").attributes
    assert not await Invitation.exists()


async def test_invitations_are_listed_by_status(admin: User, client: httpx.AsyncClient) -> None:
    now = utcnow()
    for email, extra in [
        ("waiting@example.org", {}),
        ("used@example.org", {"used_at": now}),
        ("expired@example.org", {"expires_at": now - timedelta(days=1)}),
        ("revoked@example.org", {"revoked_at": now}),
    ]:
        await Invitation.create(
            key_hash=email,
            email=email,
            created_at=now,
            **{"expires_at": now + timedelta(days=14), **extra},
        )
    for status, email in [
        ("pending", "waiting"),
        ("used", "used"),
        ("expired", "expired"),
        ("revoked", "revoked"),
    ]:
        doc = html(await client.get(f"/admin/invitations?status={status}"))
        assert [r.css_first("td").text() for r in doc.css("tbody tr")] == [f"{email}@example.org"]
    assert len(html(await client.get("/admin/invitations")).css("tbody tr")) == 4
    assert (await client.get("/admin/invitations?status=%00&page=x")).status_code == 200


async def test_admin_listings_run_a_fixed_number_of_queries(
    admin: User, client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    async def counts() -> list[int]:
        out = []
        for path in (
            "/admin/users",
            "/admin/invitations",
            "/admin/organisations",
            "/admin/networks",
        ):
            count_queries.statements.clear()
            assert (await client.get(path)).status_code == 200
            out.append(count_queries.count)
        return out

    now = utcnow()

    async def add_one(i: int) -> None:
        """An organisation with a person, a network and an invitation to both."""
        org = await make_org()
        network = await make_network()
        await make_user(organisation=org)
        await Invitation.create(
            key_hash=f"k{i}",
            email=f"p{i}@example.org",
            invited_by=admin,
            organisation=org,
            network_ids=[network.id],
            created_at=now,
            expires_at=now + timedelta(days=14),
        )

    await add_one(0)
    few = await counts()
    for i in range(1, 13):
        await add_one(i)
    assert await counts() == few


async def test_a_withdrawn_invitation_cannot_be_claimed_even_in_a_race(
    admin: User, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forum.accounts import invitations
    from forum.errors import NotFound
    from forum.permissions import viewer_for

    invitation, key = await invitations.create_invitation(
        viewer=await viewer_for(admin),
        email="late@example.org",
        networks=[],
        base_url="http://x",
        site_name="Forum",
    )
    # The link was checked just before an admin withdrew it.
    checked = await invitations.find_valid(key)
    await invitations.revoke(viewer=await viewer_for(admin), invitation=invitation)

    async def stale(_: str) -> Invitation:
        return checked

    monkeypatch.setattr(invitations, "find_valid", stale)
    with pytest.raises(NotFound):
        await invitations.accept(
            key=key, username="late", display_name="Late", password="a long enough password 1"
        )
    assert not await User.exists(username="late")
