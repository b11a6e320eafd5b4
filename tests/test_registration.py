"""Signing up, confirming an address, invitations, password reset and email change, end to
end through the pages, with the mail going through a real SMTP server on loopback."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from tortoise.transactions import in_transaction

from forum.accounts import invitations
from forum.accounts.models import Invitation, Session, Token, TokenPurpose, User
from forum.config import Settings
from forum.mail.models import MailStatus, OutboundEmail
from forum.networks.models import Membership, Role, Visibility
from forum.permissions import viewer_for
from forum.threads.models import Thread
from tests.factories import (
    PASSWORD,
    csrf,
    login,
    make_member,
    make_network,
    make_org,
    make_user,
)
from tests.mailbox import SmtpServer, body, deliver, link_in, smtp_settings

NEW_PASSWORD = "a quiet orange lighthouse"


@pytest.fixture
def settings(settings: Settings, smtp: SmtpServer) -> Settings:
    return smtp_settings(settings, smtp.port)


async def _member_org() -> None:
    from forum.accounts import services

    await services.create_organisation(
        slug="camden", name="Camden Council", email_domains=["camden.gov.uk"]
    )


async def _register(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    data = {
        "email": "ada@camden.gov.uk",
        "display_name": "Ada Lovelace",
        "username": "ada",
        "password": NEW_PASSWORD,
        **fields,
    }
    return await client.post("/register", data={**data, "csrf_token": await csrf(client)})


async def test_sign_up_confirm_and_write(
    client: httpx.AsyncClient, settings: Settings, smtp: SmtpServer
) -> None:
    await _member_org()
    network = await make_network("dl")
    r = await _register(client)
    assert r.status_code == 200
    assert "Check your email" in r.text
    user = await User.get(username="ada").prefetch_related("organisation")
    assert user.organisation is not None and user.organisation.slug == "camden"
    assert user.email_verified_at is None
    # Not confirmed: may log in and read, not write.
    await login(client, user, NEW_PASSWORD)
    page = await client.get("/n/dl")
    assert "Confirm your email address" in page.text
    await Membership.create(
        network=network, user=user, role=Role.MEMBER, created_at=user.created_at
    )
    token = await csrf(client, "/n/dl")
    r = await client.post(
        "/n/dl/new", data={"title": "Hello all", "body": "First post", "csrf_token": token}
    )
    assert r.status_code == 403
    assert "Confirm your email address" in r.text
    assert not await Thread.exists(title="Hello all")

    assert await deliver(settings) == 1
    message = smtp.mailbox.last_to("ada@camden.gov.uk")
    assert "Confirm your email address" in message["Subject"]
    path = link_in(message, "/verify/")
    # Opening the link shows a button; a mail scanner's GET confirms nothing.
    r = await client.get(path)
    assert r.status_code == 200 and "Confirm my address" in r.text
    assert (await User.get(id=user.id)).email_verified_at is None
    r = await client.post(path, data={"csrf_token": await csrf(client, path)})
    assert r.status_code == 200 and "is confirmed" in r.text
    assert (await User.get(id=user.id)).email_verified_at is not None
    # Single use.
    assert (await client.get(path)).status_code == 404

    token = await csrf(client, "/n/dl/new")
    r = await client.post(
        "/n/dl/new", data={"title": "Hello all", "body": "First post", "csrf_token": token}
    )
    assert r.status_code == 303
    assert await Thread.exists(title="Hello all")


async def test_sign_up_refuses_other_domains_and_keeps_the_text(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await _member_org()
    r = await _register(client, email="someone@gmail.com", display_name="Grace <b>Hopper</b>")
    assert r.status_code == 400
    assert "not at a member organisation" in r.text
    assert 'value="someone@gmail.com"' in r.text
    assert "Grace &lt;b&gt;Hopper&lt;/b&gt;" in r.text
    assert not await User.exists(username="ada")
    assert await OutboundEmail.all().count() == 0


@pytest.mark.parametrize(
    ("password", "message"),
    [("short", "at least 10"), ("ada@camden.gov.uk", "username or email")],
)
async def test_sign_up_refuses_weak_passwords(
    client: httpx.AsyncClient, settings: Settings, password: str, message: str
) -> None:
    await _member_org()
    r = await _register(client, password=password)
    assert r.status_code == 400
    assert message in r.text
    assert not await User.exists(username="ada")


async def test_sign_up_with_a_registered_address_says_the_same_and_tells_the_owner(
    client: httpx.AsyncClient, settings: Settings, smtp: SmtpServer
) -> None:
    await _member_org()
    await make_user("ada", display_name="Ada")
    await User.filter(username="ada").update(email="ada@camden.gov.uk")
    r = await _register(client, username="ada2")
    assert r.status_code == 200 and "Check your email" in r.text
    assert not await User.exists(username="ada2")
    await deliver(settings)
    message = smtp.mailbox.last_to("ada@camden.gov.uk")
    assert "already have an account" in message["Subject"]
    assert "username: ada" in body(message)


async def test_username_taken_is_named(client: httpx.AsyncClient, settings: Settings) -> None:
    await _member_org()
    await make_user("ada")
    r = await _register(client)
    assert r.status_code == 400
    assert "That username is taken" in r.text


async def test_password_reset_by_single_use_link(
    client: httpx.AsyncClient, settings: Settings, smtp: SmtpServer
) -> None:
    user = await make_user("bea")
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    await login(other, user)
    assert await Session.filter(user_id=user.id).count() == 1
    token = await csrf(client, "/password/forgot")
    # Unknown and known addresses get the same answer.
    unknown = await client.post(
        "/password/forgot", data={"email": "nobody@example.org", "csrf_token": token}
    )
    known = await client.post(
        "/password/forgot", data={"email": "BEA@example.org", "csrf_token": token}
    )
    assert unknown.status_code == known.status_code == 200
    assert "If <strong>" in unknown.text and "If <strong>" in known.text
    assert await deliver(settings) == 1
    path = link_in(smtp.mailbox.last_to("bea@example.org"), "/password/reset/")
    r = await client.get(path)
    assert r.status_code == 200
    r = await client.post(path, data={"password": "short", "csrf_token": await csrf(client, path)})
    assert r.status_code == 400 and "at least 10" in r.text
    r = await client.post(
        path, data={"password": NEW_PASSWORD, "csrf_token": await csrf(client, path)}
    )
    assert r.status_code == 303
    # The other session ended; this browser is logged in with the new password.
    assert (await other.get("/account")).status_code == 303
    assert (await client.get("/account")).status_code == 200
    await other.aclose()
    r = await client.post(
        path, data={"password": "another good password", "csrf_token": await csrf(client, "/login")}
    )
    assert r.status_code == 404
    fresh = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    await login(fresh, user, NEW_PASSWORD)
    await fresh.aclose()


async def test_an_expired_reset_link_is_refused(
    client: httpx.AsyncClient, settings: Settings, smtp: SmtpServer
) -> None:
    await make_user("cy")
    token = await csrf(client, "/password/forgot")
    await client.post("/password/forgot", data={"email": "cy@example.org", "csrf_token": token})
    await deliver(settings)
    path = link_in(smtp.mailbox.last_to("cy@example.org"), "/password/reset/")
    row = await Token.get()
    await Token.filter(id=row.id).update(expires_at=row.created_at - timedelta(seconds=1))
    assert (await client.get(path)).status_code == 404
    r = await client.post(
        path, data={"password": NEW_PASSWORD, "csrf_token": await csrf(client, "/login")}
    )
    assert r.status_code == 404
    assert "used or has expired" in r.text


async def test_changing_email_confirms_the_new_address_and_tells_the_old(
    client: httpx.AsyncClient, settings: Settings, smtp: SmtpServer
) -> None:
    user = await make_user("dee")
    await login(client, user)
    token = await csrf(client, "/account")
    r = await client.post(
        "/account/email",
        data={
            "email": "dee@new.example.org",
            "current_password": "wrong one!",
            "csrf_token": token,
        },
    )
    assert r.status_code == 400
    assert 'value="dee@new.example.org"' in r.text
    r = await client.post(
        "/account/email",
        data={"email": "dee@new.example.org", "current_password": PASSWORD, "csrf_token": token},
    )
    assert r.status_code == 303
    assert (await User.get(id=user.id)).email == "dee@example.org"  # not until confirmed
    await deliver(settings)
    assert "is changing" in smtp.mailbox.last_to("dee@example.org")["Subject"]
    path = link_in(smtp.mailbox.last_to("dee@new.example.org"), "/verify/")
    await client.post(path, data={"csrf_token": await csrf(client, path)})
    assert (await User.get(id=user.id)).email == "dee@new.example.org"


async def test_invitation_makes_a_verified_member_once(
    client: httpx.AsyncClient, settings: Settings, smtp: SmtpServer
) -> None:
    org = await make_org("Hackney Council")
    network = await make_network("ig", visibility=Visibility.MEMBERS)
    facilitator = await make_member(network, role=Role.FACILITATOR)
    viewer = await viewer_for(facilitator)
    await invitations.create_invitation(
        viewer=viewer,
        email="eve@partner.example.org",
        networks=[network],
        organisation=org,
        message="Join us for the records retention discussion.",
        base_url="http://testserver",
        site_name="Forum",
    )
    await deliver(settings)
    message = smtp.mailbox.last_to("eve@partner.example.org")
    assert "records retention" in body(message)
    path = link_in(message, "/invite/")
    r = await client.get(path)
    assert r.status_code == 200 and "eve@partner.example.org" in r.text
    r = await client.post(
        path,
        data={
            "username": "eve",
            "display_name": "",
            "password": NEW_PASSWORD,
            "csrf_token": await csrf(client, path),
        },
    )
    assert r.status_code == 400 and 'value="eve"' in r.text
    r = await client.post(
        path,
        data={
            "username": "eve",
            "display_name": "Eve Example",
            "password": NEW_PASSWORD,
            "csrf_token": await csrf(client, path),
        },
    )
    assert r.status_code == 303
    eve = await User.get(username="eve")
    assert eve.email_verified_at is not None and eve.organisation_id == org.id
    assert await Membership.exists(user_id=eve.id, network_id=network.id, role=Role.MEMBER)
    assert (await client.get("/n/ig")).status_code == 200
    assert (await client.get(path)).status_code == 404
    assert (await Invitation.get()).used_by_id == eve.id


async def test_facilitators_invite_only_to_their_networks(db: str) -> None:
    from forum.errors import PermissionDenied

    mine = await make_network("mine")
    theirs = await make_network("theirs")
    facilitator = await make_member(mine, role=Role.FACILITATOR)
    with pytest.raises(PermissionDenied):
        await invitations.create_invitation(
            viewer=await viewer_for(facilitator),
            email="x@example.org",
            networks=[theirs],
            base_url="http://t",
            site_name="F",
        )


async def test_a_mail_server_that_is_down_loses_nothing(
    client: httpx.AsyncClient, settings: Settings, smtp: SmtpServer
) -> None:
    await make_user("fay")
    smtp.stop()
    token = await csrf(client, "/password/forgot")
    r = await client.post(
        "/password/forgot", data={"email": "fay@example.org", "csrf_token": token}
    )
    assert r.status_code == 200  # the page does not wait for the mail server
    assert await deliver(settings) == 0
    row = await OutboundEmail.get()
    assert row.status == MailStatus.QUEUED and row.attempts == 1
    assert row.last_error and row.next_attempt_at > row.created_at
    # Not due yet: nothing is tried.
    smtp.start()
    assert await deliver(settings) == 0
    await OutboundEmail.filter(id=row.id).update(next_attempt_at=row.created_at)
    assert await deliver(settings) == 1
    row = await OutboundEmail.get()
    assert row.status == MailStatus.SENT and row.attempts == 2 and row.sent_at is not None
    assert link_in(smtp.mailbox.last_to("fay@example.org"), "/password/reset/")


# Every change of credentials retires every outstanding emailed link of the account.


async def _ask_for_new_address(
    client: httpx.AsyncClient, settings: Settings, smtp: SmtpServer, new_email: str
) -> str:
    """Ask (signed in) to move to `new_email`; returns the path of the link mailed there."""
    r = await client.post(
        "/account/email",
        data={
            "email": new_email,
            "current_password": PASSWORD,
            "csrf_token": await csrf(client, "/account"),
        },
    )
    assert r.status_code == 303
    await deliver(settings)
    return link_in(smtp.mailbox.last_to(new_email), "/verify/")


async def _ask_for_reset(
    client: httpx.AsyncClient, settings: Settings, smtp: SmtpServer, email: str
) -> str:
    """Ask for a reset link for `email`; returns its path."""
    token = await csrf(client, "/password/forgot")
    r = await client.post("/password/forgot", data={"email": email, "csrf_token": token})
    assert r.status_code == 200
    await deliver(settings)
    return link_in(smtp.mailbox.last_to(email), "/password/reset/")


async def _follow(client: httpx.AsyncClient, path: str, **data: str) -> httpx.Response:
    return await client.post(path, data={**data, "csrf_token": await csrf(client, "/login")})


async def test_changing_ones_password_cancels_a_pending_change_of_address(
    client: httpx.AsyncClient, settings: Settings, smtp: SmtpServer
) -> None:
    """A thief signed in as the owner asks to move the account to their own address; the
    owner changes the password: the thief's link no longer moves the account."""
    user = await make_user("gil")
    await login(client, user)
    path = await _ask_for_new_address(client, settings, smtp, "thief@elsewhere.example")
    r = await client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "password": NEW_PASSWORD,
            "csrf_token": await csrf(client, "/account"),
        },
    )
    assert r.status_code == 303
    assert (await client.get(path)).status_code == 404
    assert (await _follow(client, path)).status_code == 404
    assert (await User.get(id=user.id)).email == "gil@example.org"


async def test_a_password_reset_cancels_a_pending_change_of_address(
    client: httpx.AsyncClient, settings: Settings, smtp: SmtpServer
) -> None:
    user = await make_user("hal")
    await login(client, user)
    change = await _ask_for_new_address(client, settings, smtp, "thief@elsewhere.example")
    owner = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    reset = await _ask_for_reset(owner, settings, smtp, "hal@example.org")
    assert (await _follow(owner, reset, password=NEW_PASSWORD)).status_code == 303
    await owner.aclose()
    assert (await _follow(client, change)).status_code == 404
    assert (await User.get(id=user.id)).email == "hal@example.org"


async def test_using_one_reset_link_retires_every_other(
    client: httpx.AsyncClient, settings: Settings, smtp: SmtpServer
) -> None:
    await make_user("ivy")
    first = await _ask_for_reset(client, settings, smtp, "ivy@example.org")
    second = await _ask_for_reset(client, settings, smtp, "ivy@example.org")
    assert first != second
    assert (await _follow(client, second, password=NEW_PASSWORD)).status_code == 303
    assert (await client.get(first)).status_code == 404
    r = await _follow(client, first, password="another good password")
    assert r.status_code == 404 and "used or has expired" in r.text


async def test_a_new_address_retires_the_reset_links_sent_to_the_old_one(
    client: httpx.AsyncClient, settings: Settings, smtp: SmtpServer
) -> None:
    user = await make_user("jo")
    reset = await _ask_for_reset(client, settings, smtp, "jo@example.org")
    await login(client, user)
    change = await _ask_for_new_address(client, settings, smtp, "jo@new.example.org")
    assert (await _follow(client, change)).status_code == 200
    assert (await User.get(id=user.id)).email == "jo@new.example.org"
    assert (await _follow(client, reset, password=NEW_PASSWORD)).status_code == 404


async def _every_kind_of_link(user: User) -> list[str]:
    """One outstanding link of every purpose there is (a new purpose is included by itself)."""
    from forum.accounts import registration

    keys = []
    async with in_transaction() as conn:
        for purpose in TokenPurpose:
            keys.append(
                await registration._new_token(user, purpose, user.email, timedelta(hours=1), conn)
            )
    return keys


async def _still_usable(keys: list[str]) -> list[str]:
    from forum.accounts import registration
    from forum.errors import NotFound

    usable = []
    for key, purpose in zip(keys, TokenPurpose, strict=True):
        try:
            await registration.check_token(key, purpose)
        except NotFound:
            continue
        usable.append(purpose.value)
    return usable


@pytest.mark.parametrize(
    "change", ["password set", "password reset", "address changed", "deactivated"]
)
async def test_every_change_of_credentials_retires_every_kind_of_emailed_link(
    db: str, change: str
) -> None:
    from forum.accounts import administration, registration, services

    user = await make_user("kit")
    admin = await make_user("root", is_admin=True)
    keys = await _every_kind_of_link(user)
    assert await _still_usable(keys) == [p.value for p in TokenPurpose]
    if change == "password set":  # by the owner in their settings, by an admin, by the CLI
        await services.set_password(user=user, password=NEW_PASSWORD)
    elif change == "password reset":
        async with in_transaction() as conn:
            key = await registration._new_token(
                user, TokenPurpose.RESET_PASSWORD, user.email, timedelta(hours=1), conn
            )
        await registration.reset_password(key=key, password=NEW_PASSWORD)
    elif change == "address changed":
        async with in_transaction() as conn:
            key = await registration._new_token(
                user, TokenPurpose.VERIFY_EMAIL, "kit@new.example.org", timedelta(hours=1), conn
            )
        await registration.verify_email(key=key)
    else:
        viewer = await viewer_for(admin)
        await administration.set_active(viewer=viewer, user=user, active=False)
        await administration.set_active(viewer=viewer, user=user, active=True)
    assert await _still_usable(keys) == []


# No account discovery: a known address and an unknown one get the same answer.


def _problems(response: httpx.Response) -> str:
    from selectolax.lexbor import LexborHTMLParser

    summary = LexborHTMLParser(response.text).css_first(".error-summary")
    return " ".join(summary.text().split()) if summary else ""


@pytest.mark.parametrize(
    "case",
    [
        {"username": "taken"},
        {"username": "Not a username!"},
        {"display_name": ""},
        {"password": "short"},
        {},
    ],
    ids=["username taken", "bad username", "no name", "weak password", "all good"],
)
async def test_sign_up_answers_the_same_whether_or_not_the_address_has_an_account(
    client: httpx.AsyncClient, settings: Settings, case: dict[str, str]
) -> None:
    await _member_org()
    await make_user("taken")
    owner = await make_user("owner")
    await User.filter(id=owner.id).update(email="owner@camden.gov.uk")
    answers = []
    for email in ("owner@camden.gov.uk", "newcomer@camden.gov.uk"):
        fields = {"username": "fresh", **case, "email": email}
        r = await _register(client, **fields)
        answers.append((r.status_code, _problems(r), "Check your email" in r.text))
        await User.filter(email="newcomer@camden.gov.uk").delete()
    assert answers[0] == answers[1]
    assert answers[0][0] == (200 if not case else 400)


async def test_asking_to_move_to_a_registered_address_looks_the_same_and_tells_its_owner(
    client: httpx.AsyncClient, settings: Settings, smtp: SmtpServer
) -> None:
    user = await make_user("lee")
    owner = await make_user("mo")
    await login(client, user)
    for new_email in ("nobody@new.example.org", "MO@example.org"):
        r = await client.post(
            "/account/email",
            data={
                "email": new_email,
                "current_password": PASSWORD,
                "csrf_token": await csrf(client, "/account"),
            },
        )
        assert (r.status_code, r.headers["location"]) == (303, "/account?done=email")
    await deliver(settings)
    told = [m for m in smtp.mailbox.to("lee@example.org") if "is changing" in m["Subject"]]
    assert len(told) == 2  # the asker's own address hears the same both times
    note = smtp.mailbox.last_to(owner.email)
    assert "/verify/" not in body(note) and "nothing changed" in body(note)
    assert await Token.filter(email__iexact="mo@example.org").count() == 0
