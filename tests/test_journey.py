"""The front door end to end, with the mail going through a real SMTP server on loopback.

A newcomer signs up with an address at a member organisation, confirms it by the emailed
link, joins a public network, asks to join a members-only one and is let in by its
facilitator; an outsider can do none of what they should not. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from forum.accounts import services as accounts
from forum.accounts.models import User
from forum.config import Settings
from forum.networks.models import Membership, MembershipRequest, RequestStatus, Role, Visibility
from forum.notifications.models import Notification, NotificationKind
from forum.threads.models import Thread
from tests.factories import csrf, login, make_member, make_network
from tests.mailbox import SmtpServer, body, deliver, link_in, smtp_settings

PASSWORD = "a quiet orange lighthouse"


@pytest.fixture
def settings(settings: Settings, smtp: SmtpServer) -> Settings:
    return smtp_settings(settings, smtp.port)


def browser(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def post(client: httpx.AsyncClient, path: str, page: str, **data: str) -> httpx.Response:
    return await client.post(path, data={**data, "csrf_token": await csrf(client, page)})


async def test_a_newcomer_signs_up_joins_and_is_admitted(
    app: Starlette, settings: Settings, smtp: SmtpServer
) -> None:
    await accounts.create_organisation(
        slug="camden", name="Camden Council", email_domains=["camden.gov.uk"]
    )
    await make_network("dsn", name="Data Science Network")
    ig = await make_network("ig", name="Information Governance", visibility=Visibility.MEMBERS)
    facilitator = await make_member(ig, role=Role.FACILITATOR)
    await User.filter(id=facilitator.id).update(email="priya@hackney.gov.uk")
    secret = (await Thread.create(
        ref="t-secret", network=ig, title="Records retention quokka", slug="records",
        author=facilitator, created_at=facilitator.created_at,
        last_activity_at=facilitator.created_at,
    ))  # fmt: skip

    async with browser(app) as ada, browser(app) as fac, browser(app) as eve:
        # Sign up and confirm the address from the email.
        r = await post(
            ada,
            "/register",
            "/register",
            email="ada@camden.gov.uk",
            display_name="Ada Lovelace",
            username="ada",
            password=PASSWORD,
        )
        assert r.status_code == 200 and "Check your email" in r.text
        await deliver(settings)
        path = link_in(smtp.mailbox.last_to("ada@camden.gov.uk"), "/verify/")
        assert (await post(ada, path, path)).status_code == 200
        user = await User.get(username="ada")
        assert user.email_verified and user.organisation_id is not None
        await login(ada, user, PASSWORD)

        # Join the public network in one click, and write there.
        assert (await post(ada, "/n/dsn/join", "/n/dsn")).status_code == 303
        assert await Membership.exists(user_id=user.id, network__slug="dsn")
        r = await post(ada, "/n/dsn/new", "/n/dsn/new", title="Hello", body="Hi all")
        assert r.status_code == 303

        # The members-only network: nothing of it shows, but it can be asked to join.
        assert (await ada.get("/n/ig")).status_code == 404
        assert (await ada.get(f"/n/ig/t/{secret.id}-records")).status_code == 404
        listed = (await ada.get("/networks")).text
        assert "Information Governance" in listed and "quokka" not in listed
        r = await post(
            ada, "/n/ig/request", "/n/ig/request", message="I look after our retention schedule."
        )
        assert r.status_code in (200, 303)
        request = await MembershipRequest.get(user_id=user.id, network_id=ig.id)
        assert request.status == RequestStatus.PENDING
        await deliver(settings)
        to_facilitator = smtp.mailbox.last_to("priya@hackney.gov.uk")
        assert "Ada Lovelace" in body(to_facilitator)

        # An outsider can neither look in, nor approve, nor let themselves in.
        outsider = await accounts.create_user(
            username="eve", email="eve@camden.gov.uk", display_name="Eve", password=PASSWORD
        )
        await login(eve, outsider, PASSWORD)
        for url in ("/n/ig", "/n/ig/members", f"/n/ig/t/{secret.id}-records"):
            assert (await eve.get(url)).status_code == 404, url
        r = await post(eve, f"/n/ig/requests/{request.id}/approve", "/")
        assert r.status_code == 404
        assert (await post(eve, "/n/ig/join", "/")).status_code == 404
        assert not await Membership.exists(user_id=outsider.id, network_id=ig.id)
        assert (await MembershipRequest.get(id=request.id)).status == RequestStatus.PENDING
        found = (await eve.get("/api/v1/search", params={"q": "quokka"})).json()
        assert found["total"] == 0

        # The facilitator approves; the newcomer is told, by email and in the forum.
        await login(fac, facilitator)
        members_page = await fac.get("/n/ig/members")
        assert "Ada Lovelace" in members_page.text
        r = await post(fac, f"/n/ig/requests/{request.id}/approve", "/n/ig/members")
        assert r.status_code == 303
        assert await Membership.exists(user_id=user.id, network_id=ig.id, role=Role.MEMBER)
        await deliver(settings)
        welcome = smtp.mailbox.last_to("ada@camden.gov.uk")
        assert "Information Governance" in welcome["Subject"]
        assert await Notification.exists(
            user_id=user.id, kind=NotificationKind.MEMBERSHIP_APPROVED, network_id=ig.id
        )
        assert "Information Governance" in (await ada.get("/notifications")).text
        assert "Records retention quokka" in (await ada.get("/n/ig")).text
