"""Belonging to networks, through the web forms: joining, asking to join, leaving, and
facilitators admitting, adding, inviting, removing and promoting members; the emails each
causes land in the outbox in the same transaction."""

from __future__ import annotations

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from forum.accounts.models import Invitation, User
from forum.audit.models import AuditEntry
from forum.mail.models import OutboundEmail
from forum.networks import membership
from forum.networks.models import (
    JoinPolicy,
    Membership,
    MembershipRequest,
    Network,
    RequestStatus,
    Role,
    Visibility,
)
from forum.permissions import viewer_for
from tests.conftest import QueryCounter
from tests.factories import (
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
    client: httpx.AsyncClient, path: str, data: dict[str, str] | None = None, page: str = "/"
) -> httpx.Response:
    """Submit a form as the browser would: with the CSRF token a page of the site gave."""
    token = await csrf(client, page)
    return await client.post(path, data={"csrf_token": token, **(data or {})})


async def is_member(network: Network, user: User) -> bool:
    return await Membership.exists(network_id=network.id, user_id=user.id)


async def mail_to(user: User) -> list[OutboundEmail]:
    return list(await OutboundEmail.filter(to_address=user.email).order_by("id"))


async def actions() -> list[str]:
    return [str(a) for a in await AuditEntry.all().order_by("id").values_list("action", flat=True)]


async def test_joining_an_open_network_takes_one_click_and_leaving_another(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl", name="Data Leaders")
    await make_member(network, role=Role.FACILITATOR)
    kwame = await make_user("kwame")
    await login(client, kwame)
    page = html(await client.get("/n/dl"))
    assert page.css_first("form[action='/n/dl/join'] button").text() == "Join this network"

    response = await post_form(client, "/n/dl/join")
    assert response.status_code == 303 and response.headers["location"] == "/n/dl"
    assert await is_member(network, kwame)
    page = html(await client.get("/n/dl"))
    assert "You are a member of this network." in page.text()
    assert page.css_first("form[action='/n/dl/leave']") is not None
    # A second click (a double submission) changes nothing.
    assert (await post_form(client, "/n/dl/join")).status_code == 303
    assert await Membership.filter(network_id=network.id).count() == 2

    response = await post_form(client, "/n/dl/leave")
    assert response.status_code == 303 and response.headers["location"] == "/n/dl"
    assert not await is_member(network, kwame)
    assert await actions() == ["member.add", "member.remove"]
    entry = await AuditEntry.filter(action="member.remove").first()
    assert entry is not None and entry.actor_id == kwame.id and entry.network_id == network.id


async def test_an_unconfirmed_address_may_neither_join_nor_ask(
    db: str, client: httpx.AsyncClient
) -> None:
    open_network = await make_network("open")
    asking = await make_network("asking")
    asking.join_policy = JoinPolicy.REQUEST
    await asking.save()
    newcomer = await make_user("newcomer")
    await User.filter(id=newcomer.id).update(email_verified_at=None)
    await login(client, newcomer)
    for path in ("/n/open/join", "/n/asking/request"):
        response = await post_form(client, path, {"message": "hello"})
        assert response.status_code == 403, path
        assert "Confirm your email address" in response.text
    assert "Confirm your email address" in (await client.get("/n/asking/request")).text
    assert not await is_member(open_network, newcomer)
    assert not await MembershipRequest.exists(user_id=newcomer.id)


async def test_asking_to_join_a_members_only_network_from_the_list_and_being_approved(
    db: str, client: httpx.AsyncClient, settings: object
) -> None:
    secret = await make_network(
        "secret", name="Information Governance", visibility=Visibility.MEMBERS
    )
    fac = await make_member(secret, await make_user("fac"), role=Role.FACILITATOR)
    await make_thread(secret, fac, title="Canary thread title", body="canary words")
    org = await make_org("Hackney")
    amara = await make_user("amara", organisation=org, display_name="Amara Obi")
    await login(client, amara)

    listing = await client.get("/networks")
    text = html(listing).text()
    assert "Information Governance" in text and "About this network" in text
    assert "Canary" not in listing.text and "canary" not in listing.text
    assert "/n/secret/request" in listing.text
    assert 'href="/n/secret"' not in listing.text  # its page would only say 404
    assert (await client.get("/n/secret")).status_code == 404

    form = await client.get("/n/secret/request")
    assert form.status_code == 200 and "Canary" not in form.text
    response = await post_form(
        client, "/n/secret/request", {"message": "I lead IG at Hackney."}, "/n/secret/request"
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/n/secret/request"
    waiting = await client.get("/n/secret/request")
    assert "You asked to join" in waiting.text and "Withdraw your request" in waiting.text
    request = await MembershipRequest.get(user_id=amara.id)
    assert request.status == RequestStatus.PENDING and request.message == "I lead IG at Hackney."
    [told] = await mail_to(fac)
    assert told.subject == "Amara Obi asks to join Information Governance"
    assert "Amara Obi (Hackney)" in told.body_text and "> I lead IG at Hackney." in told.body_text
    assert "http://127.0.0.1:8000/n/secret/members" in told.body_text
    # Asking again while waiting sends nothing more.
    await post_form(client, "/n/secret/request", {"message": "again"}, "/n/secret/request")
    assert await MembershipRequest.filter(user_id=amara.id).count() == 1
    assert len(await mail_to(fac)) == 1

    client.cookies.clear()
    await login(client, fac)
    members = html(await client.get("/n/secret/members"))
    [row] = members.css("section[aria-labelledby=requests] tbody tr")
    assert "Amara Obi" in row.text() and "I lead IG at Hackney." in row.text()
    response = await post_form(client, f"/n/secret/requests/{request.id}/approve")
    assert response.status_code == 303
    assert response.headers["location"] == "/n/secret/members?done=approved"
    done = await client.get(response.headers["location"])
    assert "The request was approved" in done.text
    assert await is_member(secret, amara)
    request = await MembershipRequest.get(id=request.id)
    assert request.status == RequestStatus.APPROVED and request.decided_by_id == fac.id
    assert request.decided_at is not None
    [welcome] = await mail_to(amara)
    assert welcome.subject == "Welcome to Information Governance"
    assert "http://127.0.0.1:8000/n/secret" in welcome.body_text
    assert await actions() == ["request.approve"]

    client.cookies.clear()
    await login(client, amara)
    assert (await client.get("/n/secret")).status_code == 200


async def test_a_declined_request_tells_the_requester_and_they_may_ask_again(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl", name="Data Leaders", visibility=Visibility.MEMBERS)
    fac = await make_member(network, role=Role.FACILITATOR)
    bob = await make_user("bob")
    request = await membership.request_to_join(
        viewer=await viewer_for(bob), network=network, site=_site()
    )
    await login(client, fac)
    response = await post_form(client, f"/n/dl/requests/{request.id}/decline")
    assert response.status_code == 303
    assert (await MembershipRequest.get(id=request.id)).status == RequestStatus.DECLINED
    [told] = await mail_to(bob)
    assert told.subject == "Your request to join Data Leaders" and "not accepted" in told.body_text
    assert not await is_member(network, bob)
    assert await actions() == ["request.decline"]
    # Deciding it again names the problem instead of deciding twice.
    again = await post_form(client, f"/n/dl/requests/{request.id}/approve")
    assert again.status_code == 409
    assert "This request has already been declined." in again.text
    assert not await is_member(network, bob)
    # The requester may ask again later.
    await membership.request_to_join(viewer=await viewer_for(bob), network=network, site=_site())
    assert await MembershipRequest.filter(user_id=bob.id, status="pending").count() == 1


async def test_withdrawing_a_request(db: str, client: httpx.AsyncClient) -> None:
    network = await make_network("dl", visibility=Visibility.MEMBERS)
    await make_member(network, role=Role.FACILITATOR)
    bob = await make_user("bob")
    await login(client, bob)
    await post_form(client, "/n/dl/request", {"message": ""}, "/n/dl/request")
    listing = await client.get("/networks")
    assert "Your request to join is waiting" in listing.text
    response = await post_form(client, "/n/dl/request/withdraw")
    assert response.status_code == 303 and response.headers["location"] == "/networks"
    request = await MembershipRequest.get(user_id=bob.id)
    assert request.status == RequestStatus.WITHDRAWN
    # Withdrawing again changes nothing; the form is offered again.
    assert (await post_form(client, "/n/dl/request/withdraw")).status_code == 303
    assert "Send request" in (await client.get("/n/dl/request")).text


async def test_a_request_to_a_network_without_facilitators_goes_to_the_admins(
    db: str,
) -> None:
    network = await make_network("dl", visibility=Visibility.MEMBERS)
    admin = await make_user("root", is_admin=True)
    bob = await make_user("bob")
    await membership.request_to_join(viewer=await viewer_for(bob), network=network, site=_site())
    told = [m.subject for m in await mail_to(admin)]
    assert told == [f"{bob.display_name} asks to join {network.name}"]


async def test_the_request_form_names_a_message_that_is_too_long_and_keeps_it(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl", visibility=Visibility.MEMBERS)
    await make_member(network, role=Role.FACILITATOR)
    await login(client, await make_user())
    text = "I would like to join. " * 60
    response = await post_form(client, "/n/dl/request", {"message": text}, "/n/dl/request")
    assert response.status_code == 422
    doc = html(response)
    assert "Keep the message to 1,000 characters" in doc.css_first(".error-summary").text()
    assert doc.css_first("textarea#message").text() == text
    assert not await MembershipRequest.exists()


async def test_an_open_network_needs_no_request_and_members_need_none(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl")
    member = await make_member(network)
    await login(client, await make_user())
    response = await post_form(client, "/n/dl/request")
    assert response.status_code == 403 and "use its Join button" in response.text
    client.cookies.clear()
    await login(client, member)
    network.join_policy = JoinPolicy.REQUEST
    await network.save()
    response = await post_form(client, "/n/dl/request")
    assert response.status_code == 403 and "already a member" in response.text
    assert not await MembershipRequest.exists()


async def test_the_last_facilitator_cannot_leave_until_there_is_another(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl", name="Data Leaders")
    fac = await make_member(network, role=Role.FACILITATOR)
    colleague = await make_member(network)
    await login(client, fac)
    response = await post_form(client, "/n/dl/leave")
    assert response.status_code == 409
    doc = html(response)
    assert "You are the only facilitator of Data Leaders" in doc.css_first(".error-summary").text()
    assert doc.css_first("a[href='/n/dl/members']") is not None
    assert await is_member(network, fac)
    # Nor can they step down on the members page.
    response = await post_form(client, f"/n/dl/members/{fac.id}/role", {"role": "member"})
    assert response.status_code == 409 and "only facilitator" in response.text
    response = await post_form(client, f"/n/dl/members/{fac.id}/remove")
    assert response.status_code == 409
    assert (await Membership.get(network_id=network.id, user_id=fac.id)).role == Role.FACILITATOR

    await post_form(client, f"/n/dl/members/{colleague.id}/role", {"role": "facilitator"})
    assert (await post_form(client, "/n/dl/leave")).status_code == 303
    assert not await is_member(network, fac)
    assert await actions() == ["member.role", "member.remove"]


async def test_an_admin_may_remove_a_networks_only_facilitator(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl", visibility=Visibility.MEMBERS)
    fac = await make_member(network, role=Role.FACILITATOR)
    await login(client, await make_user(is_admin=True))
    response = await post_form(client, f"/n/dl/members/{fac.id}/remove")
    assert response.status_code == 303
    assert not await is_member(network, fac)


async def test_facilitators_add_people_by_username_admins_by_email_too(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl", name="Data Leaders", visibility=Visibility.MEMBERS)
    fac = await make_member(
        network, await make_user(display_name="Fiona Fac"), role=Role.FACILITATOR
    )
    wanjiru = await make_user("wanjiru")
    tomas = await make_user("tomas")
    admin = await make_user(is_admin=True, display_name="Ada Admin")
    for adder, who, user in ((fac, "@Wanjiru", wanjiru), (admin, "TOMAS@example.org", tomas)):
        client.cookies.clear()
        await login(client, adder)
        response = await post_form(client, "/n/dl/members/add", {"who": who})
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/n/dl/members?done=added"
        assert await is_member(network, user)
        [told] = await mail_to(user)
        assert told.subject == "You have been added to Data Leaders"
        assert f"{adder.display_name} has added you" in told.body_text
    assert await actions() == ["member.add", "member.add"]
    page = html(await client.get("/n/dl/members"))
    rows = page.css("section[aria-labelledby=members] tbody tr")
    assert rows[0].css_first("td").text().strip() == "Fiona Fac"  # facilitators first
    assert len(rows) == 3


async def test_adding_by_email_answers_alike_whether_the_address_has_an_account(
    db: str, client: httpx.AsyncClient
) -> None:
    """A facilitator cannot use the add form to find out who is registered: an email
    address is invited (as the invitation form does), whether it has an account, has one
    that is unconfirmed or deactivated, or has none; the page and the list of members are
    the same each time. A new address gets a link to make an account, the owner of a known
    one a note on how to join."""
    network = await make_network("dl", name="Data Leaders", visibility=Visibility.MEMBERS)
    fac = await make_member(network, role=Role.FACILITATOR)
    known = await make_user("known")
    unconfirmed = await make_user("unconfirmed")
    await User.filter(id=unconfirmed.id).update(email_verified_at=None)
    gone = await make_user("gone")
    await User.filter(id=gone.id).update(is_active=False)
    await login(client, fac)
    answers = []
    for who in (
        "nobody.yet@example.org",
        "KNOWN@example.org",
        "unconfirmed@example.org",
        "gone@example.org",
    ):
        response = await post_form(client, "/n/dl/members/add", {"who": who})
        page = await client.get(response.headers["location"])
        answers.append((response.status_code, response.headers["location"], page.text))
    assert {answer[:2] for answer in answers} == {(303, "/n/dl/members?done=invited")}
    assert len({answer[2] for answer in answers}) == 1
    assert "The invitation was sent." in answers[0][2]
    assert not await is_member(network, known)
    [invitation] = await Invitation.all()
    assert invitation.email == "nobody.yet@example.org"
    assert invitation.network_ids == [network.id]
    [note] = await mail_to(known)
    assert "Data Leaders" in note.subject and "/n/dl/request" in note.body_text
    assert await actions() == ["invitation.create"] * 4


async def test_adding_a_member_names_each_problem_and_keeps_the_text(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    member = await make_member(network, await make_user("already"))
    unconfirmed = await make_user("unconfirmed")
    await User.filter(id=unconfirmed.id).update(email_verified_at=None)
    gone = await make_user("gone")
    await User.filter(id=gone.id).update(is_active=False)
    await login(client, fac)
    cases = [
        ("", "Enter the username or email address"),
        ("   ", "Enter the username or email address"),
        ("nobody-here", "Nobody has an account"),
        ("not@an address", "Enter an email address"),
        ("x" * 5000, "Nobody has an account"),
        ("bad\x00name", "Nobody has an account"),
        (member.username, "is already a member"),
        ("unconfirmed", "has not confirmed their email address"),
        ("gone", "account is deactivated"),
    ]
    for who, message in cases:
        response = await post_form(client, "/n/dl/members/add", {"who": who})
        assert response.status_code == 422, who
        doc = html(response)
        assert message in doc.css_first(".error-summary").text(), who
        if who.strip() and "\x00" not in who:
            assert doc.css_first("input#who").attributes["value"] == who
    assert await Membership.filter(network_id=network.id).count() == 2
    assert await actions() == []


async def test_facilitators_invite_someone_new_by_email(db: str, client: httpx.AsyncClient) -> None:
    network = await make_network("dl", name="Data Leaders")
    fac = await make_member(network, role=Role.FACILITATOR)
    await login(client, fac)
    response = await post_form(
        client, "/n/dl/members/invite", {"email": "new.person@example.gov.uk", "message": "Hi!"}
    )
    assert response.status_code == 303
    invitation = await Invitation.get(email="new.person@example.gov.uk")
    assert invitation.network_ids == [network.id] and invitation.invited_by_id == fac.id
    [sent] = await OutboundEmail.filter(to_address="new.person@example.gov.uk")
    assert "to join Data Leaders" in sent.body_text and "Hi!" in sent.body_text
    assert "http://127.0.0.1:8000/invite/" in sent.body_text
    assert await actions() == ["invitation.create"]

    for email, message, problem in [
        ("not an address", "", "Enter an email address"),
        ("someone@example.org", "x" * 1001, "Keep the message to 1,000 characters"),
    ]:
        response = await post_form(
            client, "/n/dl/members/invite", {"email": email, "message": message}
        )
        assert response.status_code == 422
        doc = html(response)
        assert problem in doc.css_first(".error-summary").text()
        assert doc.css_first("input#email").attributes["value"] == email
        assert doc.css_first("textarea#invite_message").text() == message
    assert await Invitation.all().count() == 1


async def test_inviting_an_address_that_has_an_account_answers_as_for_a_new_one(
    db: str, client: httpx.AsyncClient
) -> None:
    """A facilitator cannot use the invitation form to find out who is registered: the
    page is the same, and the owner of the address is told by email how to join."""
    network = await make_network("dl", name="Data Leaders", visibility=Visibility.MEMBERS)
    fac = await make_member(network, role=Role.FACILITATOR)
    known = await make_user("known")
    await login(client, fac)
    answers = []
    for email in ("nobody.yet@example.org", "KNOWN@example.org"):
        response = await post_form(
            client, "/n/dl/members/invite", {"email": email, "message": "Join us"}
        )
        page = await client.get(response.headers["location"])
        answers.append((response.status_code, response.headers["location"], page.text))
    assert answers[0][:2] == answers[1][:2] == (303, "/n/dl/members?done=invited")
    assert answers[0][2] == answers[1][2]
    # No invitation for the known address (its link could only fail), a note to its owner.
    assert await Invitation.filter(email__iexact="known@example.org").count() == 0
    [note] = await OutboundEmail.filter(to_address=known.email)
    assert "Data Leaders" in note.subject and "Join us" in note.body_text
    assert "username: known" in note.body_text and "/n/dl/request" in note.body_text
    assert "/invite/" not in note.body_text
    assert await actions() == ["invitation.create", "invitation.create"]


def member_names(page: HTMLParser) -> list[str]:
    return [
        row.css_first("td").text().strip()
        for row in page.css("section[aria-labelledby=members] tbody tr")
    ]


async def test_the_members_list_is_paged_fifty_at_a_time_facilitators_first(
    db: str, client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    network = await make_network("dl")
    fac = await make_member(network, await make_user(display_name="Zed Fac"), role=Role.FACILITATOR)
    await login(client, fac)
    for i in range(4):
        await make_member(network, await make_user(display_name=f"Member {i:02}"))
    assert (await client.get("/n/dl/members")).status_code == 200  # networks now kept
    count_queries.statements.clear()
    assert (await client.get("/n/dl/members")).status_code == 200
    few = count_queries.count
    for i in range(4, 60):
        await make_member(network, await make_user(display_name=f"Member {i:02}"))
    # The writes moved the change log: the next request reads the session and networks again.
    assert (await client.get("/n/dl/members")).status_code == 200
    count_queries.statements.clear()
    first = html(await client.get("/n/dl/members"))
    assert count_queries.count == few  # a page's queries do not grow with the network
    names = member_names(first)
    assert len(names) == 50
    assert names[:3] == ["Zed Fac", "Member 00", "Member 01"]  # facilitators, then by name
    assert "61 members" in first.css_first("section[aria-labelledby=members] p.meta").text()
    assert first.css_first("nav.pagination [aria-current=page]").text() == "Page 1 of 2"
    assert (
        first.css_first("nav.pagination a[rel=next]").attributes["href"] == "/n/dl/members?page=2"
    )
    second = html(await client.get("/n/dl/members?page=2"))
    assert member_names(second) == [f"Member {i:02}" for i in range(49, 60)]
    # A page past the end shows the last; a page that is not a number, the first.
    assert member_names(html(await client.get("/n/dl/members?page=99"))) == member_names(second)
    assert member_names(html(await client.get("/n/dl/members?page=x%00"))) == names


async def test_facilitators_find_members_by_name_username_or_organisation(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    await login(client, fac)
    kingsmere = await make_org("Royal Borough of Kingsmere")
    await make_member(network, await make_user("asha", display_name="Asha Verma"))
    await make_member(
        network, await make_user("tomk", display_name="Tom Kerr", organisation=kingsmere)
    )
    await make_member(network, await make_user("pct", display_name="100% Dave"))
    outsider = await make_user("ashanti", display_name="Ashanti Outsider")
    for q, expected in (
        ("asha", ["Asha Verma"]),  # not the outsider: only this network's members
        ("KINGSMERE", ["Tom Kerr"]),
        ("@tomk", []),
        ("tomk", ["Tom Kerr"]),
        ("%", ["100% Dave"]),  # a literal percent sign, not a wildcard
    ):
        page = html(await client.get("/n/dl/members", params={"q": q}))
        assert member_names(page) == expected, q
        assert page.css_first("#member-q").attributes["value"] == q  # kept in the box
    empty = html(await client.get("/n/dl/members", params={"q": "nobody-here"}))
    assert "No members match “nobody-here”." in empty.text()
    assert empty.css_first("a[href='/n/dl/members']").text() == "Show every member"
    assert not await is_member(network, outsider)


async def test_facilitators_change_roles_and_remove_members(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    ama = await make_member(network)
    await login(client, fac)
    response = await post_form(client, f"/n/dl/members/{ama.id}/role", {"role": "facilitator"})
    assert response.status_code == 303
    assert (await Membership.get(user_id=ama.id)).role == Role.FACILITATOR
    entry = await AuditEntry.get(action="member.role")
    assert entry.before == {"user": ama.username, "role": "member"}
    assert entry.after == {"user": ama.username, "role": "facilitator"}
    await post_form(client, f"/n/dl/members/{ama.id}/role", {"role": "member"})
    assert (await Membership.get(user_id=ama.id)).role == Role.MEMBER
    # An unknown role is named, not guessed.
    response = await post_form(client, f"/n/dl/members/{ama.id}/role", {"role": "owner"})
    assert response.status_code == 409 and "Choose member or facilitator." in response.text
    response = await post_form(client, f"/n/dl/members/{ama.id}/remove")
    assert response.status_code == 303
    assert not await is_member(network, ama)
    # Someone who is not a member is not found.
    assert (await post_form(client, f"/n/dl/members/{ama.id}/remove")).status_code == 404
    assert (await post_form(client, "/n/dl/members/999999999/role")).status_code == 404
    assert await actions() == ["member.role", "member.role", "member.remove"]


async def test_the_network_page_offers_what_the_viewer_can_do(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl")
    network.join_policy = JoinPolicy.REQUEST
    await network.save()
    fac = await make_member(network, role=Role.FACILITATOR)
    page = html(await client.get("/n/dl"))
    assert "to ask to join this network" in page.css_first(".membership-status").text()
    await login(client, await make_user())
    page = html(await client.get("/n/dl"))
    assert page.css_first(".membership-status a").attributes["href"] == "/n/dl/request"
    assert page.css_first("a[href='/n/dl/members']") is None
    client.cookies.clear()
    await login(client, fac)
    page = html(await client.get("/n/dl"))
    assert "You are a facilitator" in page.css_first(".membership-status").text()
    assert page.css_first("a[href='/n/dl/members']") is not None


async def test_the_members_page_runs_a_fixed_number_of_queries(
    db: str, client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    await login(client, fac)

    async def count() -> int:
        count_queries.statements.clear()
        assert (await client.get("/n/dl/members")).status_code == 200
        return count_queries.count

    await count()  # the first may read the networks (kept until the change log moves)
    few = await count()
    org = await make_org()
    for _ in range(15):
        user = await make_user(organisation=org)
        await make_member(network, user)
        asker = await make_user(organisation=org)
        await MembershipRequest.create(network=network, user=asker, created_at=user.created_at)
    await count()  # the memberships moved the change log: the session is read afresh
    assert await count() == few
    assert few <= 6, count_queries.statements


@pytest.mark.parametrize(
    "path",
    [
        "/n/dl/members/add",
        "/n/dl/members/invite",
        "/n/dl/request",
        "/n/dl/members/1/role",
        "/n/dl/members/1/remove",
        "/n/dl/requests/1/approve",
        "/n/dl/requests/1/decline",
    ],
)
async def test_hostile_membership_forms_never_cause_a_server_error(
    db: str, app: object, path: str
) -> None:
    network = await make_network("dl", visibility=Visibility.MEMBERS)
    await make_member(network, role=Role.FACILITATOR)
    admin = await make_user("root", is_admin=True)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await login(client, admin)
        for value in ["", "\x00", "A" * 300_000, "💥" * 1000, "%ff", "-1", "@", "@@x", " @ "]:
            data = {"who": value, "email": value, "message": value, "role": value}
            response = await post_form(client, path, data)
            assert response.status_code < 500, (path, value[:20], response.text[:300])


def _site():  # type: ignore[no-untyped-def]
    from forum.config import SiteSettings

    return SiteSettings()


async def test_asking_over_and_over_is_limited(db: str, client: httpx.AsyncClient) -> None:
    network = await make_network("dl", visibility=Visibility.MEMBERS)
    fac = await make_member(network, role=Role.FACILITATOR)
    await login(client, await make_user())
    for _ in range(membership.REQUEST_LIMIT.events):
        assert (await post_form(client, "/n/dl/request", {"message": "hi"})).status_code == 303
        await post_form(client, "/n/dl/request/withdraw")
    response = await post_form(client, "/n/dl/request", {"message": "once more"})
    assert response.status_code == 429
    doc = html(response)
    assert "You have asked to join too often today" in doc.css_first(".error-summary").text()
    assert doc.css_first("textarea#message").text() == "once more"
    assert len(await mail_to(fac)) == membership.REQUEST_LIMIT.events
