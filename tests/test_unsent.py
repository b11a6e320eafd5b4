"""Text sent from a page that expired, or after the session ended, is never lost
(`forum.web.unsent`): it comes back in a form, through the login page if need be, and is
only posted when the member sends it again."""

from __future__ import annotations

import httpx
from selectolax.lexbor import LexborHTMLParser

from forum.accounts import services as accounts
from forum.networks.models import Role, Visibility
from forum.threads.models import Post, Summary, Thread
from forum.web.security import SESSION_COOKIE
from tests.factories import (
    PASSWORD,
    csrf,
    html,
    login,
    make_member,
    make_network,
    make_thread,
    make_user,
)

LONG = "A carefully written reply, **three paragraphs** long.\n\n" + "More words. " * 200


def _form(page: LexborHTMLParser, selector: str) -> tuple[str, dict[str, str]]:
    """A form's action and the values it would send (its buttons left out)."""
    form = page.css_first(selector)
    assert form is not None, page.html
    data: dict[str, str] = {}
    for field in form.css("input, textarea"):
        name = field.attributes.get("name")
        if name and field.attributes.get("type") != "submit":
            value = field.text() if field.tag == "textarea" else field.attributes.get("value")
            data[name] = value or ""
    return str(form.attributes["action"]), data


def _session_key(client: httpx.AsyncClient) -> str:
    [key] = [v for k, v in client.cookies.items() if k.endswith(SESSION_COOKIE)]
    return key


async def test_a_reply_sent_after_the_session_ended_comes_back_after_logging_in(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl", visibility=Visibility.MEMBERS)
    alice = await make_member(network, await make_user("alice"))
    thread = await make_thread(network, alice, title="Budgets")
    parent = await Post.filter(thread_id=thread.id).first()
    assert parent is not None
    await login(client, alice)
    token = await csrf(client, f"/n/dl/t/{thread.id}/reply")
    await accounts.end_session(key=_session_key(client))  # logged out elsewhere
    r = await client.post(
        f"/n/dl/t/{thread.id}/reply",
        data={"csrf_token": token, "body": LONG, "parent": str(parent.id)},
    )
    # Not a 404 for the members-only network, nor a redirect that drops the text.
    assert r.status_code == 401
    page = html(r)
    assert "You were logged out before this was sent" in r.text
    action, data = _form(page, "form[action='/login']")
    assert data["unsent.body"] == LONG and data["unsent.parent"] == str(parent.id)
    # A wrong password keeps it too.
    r = await client.post(action, data={**data, "login": "alice", "password": "wrong!"})
    assert r.status_code == 401
    action, data = _form(html(r), "form[action='/login']")
    assert data["unsent.body"] == LONG
    r = await client.post(action, data={**data, "login": "alice", "password": PASSWORD})
    assert r.status_code == 200 and "You are logged in again" in r.text
    assert "Your reply to “Budgets”" in r.text
    assert await Post.filter(thread_id=thread.id).count() == 1  # nothing sent by itself
    action, data = _form(html(r), "main form[method='post']")
    assert action == f"/n/dl/t/{thread.id}/reply"
    assert data["body"] == LONG and data["parent"] == str(parent.id)
    r = await client.post(action, data=data)
    assert r.status_code == 303
    reply = await Post.filter(thread_id=thread.id).order_by("-id").first()
    assert reply is not None and reply.body.strip() == LONG.strip()
    assert reply.parent_id == parent.id


async def test_a_thread_started_from_an_expired_page_comes_back_to_send_again(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl", name="Data Leaders")
    alice = await make_member(network, await make_user("alice"))
    await login(client, alice)
    fields = {"title": "How do you fund a data team?", "body": LONG, "tags": "funding, teams"}
    r = await client.post("/n/dl/new", data={"csrf_token": "from-another-tab", **fields})
    assert r.status_code == 403 and "This page had expired" in r.text
    assert "A new thread in Data Leaders" in r.text
    assert await Thread.filter(network_id=network.id).count() == 0
    action, data = _form(html(r), "main form[method='post']")
    assert action == "/n/dl/new"
    assert {k: data[k] for k in fields} == fields
    r = await client.post(action, data=data)
    assert r.status_code == 303
    thread = await Thread.get(network_id=network.id)
    assert thread.title == fields["title"]


async def test_a_summary_and_an_edit_are_carried_as_well(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl")
    fac = await make_member(network, await make_user("fac"), role=Role.FACILITATOR)
    thread = await make_thread(network, fac, title="Budgets")
    post = await Post.filter(thread_id=thread.id).first()
    assert post is not None
    await login(client, fac)
    for path, button, about in (
        (f"/n/dl/t/{thread.id}/summary", "Save summary", "The summary of “Budgets”"),
        (f"/n/dl/p/{post.id}/edit", "Save changes", "Your edit of a post in “Budgets”"),
    ):
        r = await client.post(path, data={"csrf_token": "stale", "body": "Three models."})
        assert r.status_code == 403 and button in r.text, path
        assert about in html(r).css_first("p.lead").text(), path
        action, data = _form(html(r), "main form[method='post']")
        assert action == path and data["body"] == "Three models."
        assert (await client.post(action, data=data)).status_code == 303
    assert (await Summary.get(thread_id=thread.id)).body == "Three models."
    assert (await Post.get(id=post.id)).body == "Three models."


async def test_other_forms_are_refused_as_before_and_never_offered_again(
    db: str, client: httpx.AsyncClient
) -> None:
    network = await make_network("dl")
    alice = await make_member(network, await make_user("alice"))
    thread = await make_thread(network, alice, title="Budgets")
    await login(client, alice)
    r = await client.post(
        f"/n/dl/t/{thread.id}/follow", data={"csrf_token": "stale", "level": "muted"}
    )
    assert r.status_code == 403 and "has expired" in r.text and "Not sent yet" not in r.text
    # An empty post has nothing to keep: the form itself says what is missing.
    r = await client.post(f"/n/dl/t/{thread.id}/reply", data={"csrf_token": "stale", "body": ""})
    assert r.status_code == 403 and "Not sent yet" not in r.text
    # Signed out, with nothing written: the login page as before.
    client.cookies.clear()
    token = await csrf(client, "/login")
    r = await client.post(f"/n/dl/t/{thread.id}/reply", data={"csrf_token": token, "body": ""})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
