"""The pages as a person uses them: reading, writing, previewing, editing, logging in."""

from __future__ import annotations

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from forum.accounts.models import Session
from forum.networks.models import Role, Visibility
from forum.threads.models import Post, Thread
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


def html(response: httpx.Response) -> HTMLParser:
    return HTMLParser(response.text)


async def test_home_lists_networks_with_counts_and_hides_members_only(
    client: httpx.AsyncClient,
) -> None:
    public = await make_network("data-leaders", name="Data Leaders Network")
    await make_network("secret", name="Secret Network", visibility=Visibility.MEMBERS)
    author = await make_member(public)
    await make_thread(public, author)
    response = await client.get("/")
    assert response.status_code == 200
    doc = html(response)
    cards = doc.css("li.card")
    assert [c.css_first("h2 a").text() for c in cards] == ["Data Leaders Network"]
    assert "1 thread" in cards[0].text()
    assert "About this network." in cards[0].text()
    assert "Secret" not in response.text


async def test_members_see_their_members_only_network(client: httpx.AsyncClient) -> None:
    secret = await make_network("secret", name="Secret Network", visibility=Visibility.MEMBERS)
    member = await make_member(secret)
    await login(client, member)
    response = await client.get("/")
    assert "Secret Network" in response.text
    assert (await client.get("/n/secret")).status_code == 200


async def test_network_page_lists_pinned_first_then_latest_activity(
    client: httpx.AsyncClient,
) -> None:
    network = await make_network("dl")
    alice = await make_member(network)
    old = await make_thread(network, alice, title="Old but pinned")
    middle = await make_thread(network, alice, title="Middle")
    await make_thread(network, alice, title="Newest")
    await Thread.filter(id=old.id).update(pinned=True)
    await make_reply(middle, alice)  # activity moves it to the top of the unpinned ones
    doc = html(await client.get("/n/dl"))
    titles = [a.text() for a in doc.css(".thread-title a")]
    assert titles == ["Old but pinned", "Middle", "Newest"]
    row = doc.css(".thread-row")[1]
    assert "1 reply" in row.text()
    assert row.css_first("time").attributes.get("datetime")


async def test_network_page_pages_by_thirty_with_cursors(client: httpx.AsyncClient) -> None:
    """Keyset paging: Older and Newer walk every thread once, pinned ones on the first page
    only, and no cursor (however malformed) fails."""
    network = await make_network("dl")
    alice = await make_member(network)
    for i in range(64):
        await make_thread(network, alice, title=f"Thread {i}")
    pinned = await make_thread(network, alice, title="Pinned one")
    await Thread.filter(id=pinned.id).update(pinned=True)
    # Two threads with the very same latest activity: the id breaks the tie.
    same = await Thread.filter(title__in=["Thread 30", "Thread 31"]).values_list("id", flat=True)
    await Thread.filter(id__in=same).update(
        last_activity_at=(await Thread.get(title="Thread 30")).last_activity_at
    )
    expected = [
        t.title
        for t in await Thread.filter(network_id=network.id, pinned=False).order_by(
            "-last_activity_at", "-id"
        )
    ]
    pages, path = [], "/n/dl"
    while path:
        doc = html(await client.get(path))
        pages.append([a.text() for a in doc.css(".thread-title a")])
        nxt = doc.css_first("a[rel=next]")
        path = nxt.attributes["href"] if nxt else ""
    assert pages[0][0] == "Pinned one" and len(pages[0]) == 31
    assert [len(p) for p in pages[1:]] == [30, 4]
    assert [t for p in pages for t in p if t != "Pinned one"] == expected
    assert "65 threads" in doc.text()
    # Back from the last page by Newer, to the first (with the pinned thread again).
    back = []
    while True:
        prev = doc.css_first("a[rel=prev]")
        if prev is None:
            break
        doc = html(await client.get(prev.attributes["href"]))
        back.append([a.text() for a in doc.css(".thread-title a")])
    assert back == [pages[1], pages[0]]
    for bad in ("abc", "-1", "9" * 60, "99999999999999999999-1", "1-x", "%00", "0-0"):
        for key in ("after", "before"):
            response = await client.get(f"/n/dl?{key}={bad}")
            assert response.status_code == 200, (key, bad)
    # A cursor past the end gives the first page, not an empty one.
    first = html(await client.get("/n/dl?after=0-0"))
    assert [a.text() for a in first.css(".thread-title a")] == pages[0]
    # The filters keep their cursor links.
    doc = html(await client.get("/n/dl?show=awaiting"))
    assert doc.css_first("a[rel=next]").attributes["href"].startswith("/n/dl?show=awaiting&after=")


async def test_thread_url_with_a_wrong_slug_redirects_to_the_right_one(
    client: httpx.AsyncClient,
) -> None:
    network = await make_network("dl")
    thread = await make_thread(network, await make_member(network), title="Data team structure")
    for wrong in (f"{thread.id}", f"{thread.id}-old-title"):
        response = await client.get(f"/n/dl/t/{wrong}")
        assert response.status_code == 301
        assert response.headers["location"] == f"/n/dl/t/{thread.id}-data-team-structure"
    assert (await client.get("/n/dl/t/abc")).status_code == 404
    assert (await client.get(f"/n/other/t/{thread.id}-data-team-structure")).status_code == 404


async def test_thread_page_shows_the_conversation_tree(client: httpx.AsyncClient) -> None:
    network = await make_network("dl")
    org = await make_org("London Borough of Northwick")
    alice = await make_member(network, await make_user("alice", organisation=org))
    thread = await make_thread(network, alice, tags="data-teams")
    a = await make_reply(thread, alice, "first")
    b = await make_reply(thread, alice, "nested", parent=a)
    doc = html(await client.get(f"/n/dl/t/{thread.id}-{thread.slug}"))
    posts = doc.css("li.post")
    assert [p.id for p in posts] == [
        f"p{p}"
        for p in ((await Post.filter(thread_id=thread.id).first()).id, a.id, b.id)  # type: ignore[union-attr]
    ]
    assert "depth-1" in (posts[2].attributes.get("class") or "")
    assert "London Borough of Northwick" in posts[0].text()
    time = posts[1].css_first("time")
    assert time is not None and time.attributes["datetime"].endswith("Z")
    assert doc.css_first(".tags").text().strip() == "data-teams"


async def test_edited_and_deleted_posts_are_marked(client: httpx.AsyncClient) -> None:
    network = await make_network("dl")
    alice = await make_member(network)
    await login(client, alice)
    thread = await make_thread(network, alice)
    post = await make_reply(thread, alice, "original words")
    child = await make_reply(thread, alice, "a reply to it", parent=post)
    token = await csrf(client, f"/n/dl/p/{post.id}/edit")
    r = await client.post(
        f"/n/dl/p/{post.id}/edit", data={"body": "better words", "csrf_token": token}
    )
    assert r.status_code == 303
    page = html(await client.get(f"/n/dl/t/{thread.id}-{thread.slug}"))
    edited = page.css_first(f"#p{post.id}")
    assert "better words" in edited.text()
    assert edited.css_first(f'a[href="/n/dl/p/{post.id}/history"]') is not None
    history = await client.get(f"/n/dl/p/{post.id}/history")
    assert "original words" in history.text and "better words" in history.text
    r = await client.post(f"/n/dl/p/{post.id}/delete", data={"csrf_token": token})
    assert r.status_code == 303
    page = html(await client.get(f"/n/dl/t/{thread.id}-{thread.slug}"))
    assert "This post was deleted." in page.css_first(f"#p{post.id}").text()
    assert "better words" not in page.body.text()  # type: ignore[union-attr]
    assert "a reply to it" in page.css_first(f"#p{child.id}").text()


async def test_preview_shows_rendered_post_without_saving(client: httpx.AsyncClient) -> None:
    network = await make_network("dl")
    alice = await make_member(network)
    await login(client, alice)
    token = await csrf(client, "/n/dl/new")
    r = await client.post(
        "/n/dl/new",
        data={
            "title": "A title",
            "body": "Some **bold** idea",
            "tags": "x",
            "action": "preview",
            "csrf_token": token,
        },
    )
    assert r.status_code == 200
    doc = html(r)
    assert doc.css_first(".preview strong").text() == "bold"
    assert doc.css_first("textarea#body").text() == "Some **bold** idea"
    assert doc.css_first("input#title").attributes["value"] == "A title"
    assert await Thread.all().count() == 0


async def test_bad_form_input_re_renders_with_text_kept_and_problem_named(
    client: httpx.AsyncClient,
) -> None:
    network = await make_network("dl")
    alice = await make_member(network)
    await login(client, alice)
    token = await csrf(client, "/n/dl/new")
    body = "My careful thoughts <b>kept</b>"
    r = await client.post("/n/dl/new", data={"title": "x" * 300, "body": body, "csrf_token": token})
    assert r.status_code == 422
    doc = html(r)
    assert "300 characters" in doc.css_first(".error-summary").text()
    assert doc.css_first("textarea#body").text() == body
    assert doc.css_first("input#title").attributes["aria-invalid"] == "true"


async def test_quote_prefills_the_reply_with_the_quoted_post(client: httpx.AsyncClient) -> None:
    network = await make_network("dl")
    alice = await make_member(network, await make_user("alice"))
    bob = await make_member(network)
    thread = await make_thread(network, alice)
    post = await make_reply(thread, alice, "Line one\nLine two")
    await login(client, bob)
    r = await client.get(f"/n/dl/t/{thread.id}/reply?to={post.id}&quote=1")
    assert r.status_code == 200
    text = html(r).css_first("textarea#body").text()
    assert text.startswith("@alice wrote:")
    assert "> Line one\n> Line two" in text
    assert html(r).css_first('input[name="parent"]').attributes["value"] == str(post.id)


async def test_replying_to_a_post_whose_author_has_an_organisation_shows_it(
    client: httpx.AsyncClient,
) -> None:
    network = await make_network("dl")
    alice = await make_member(
        network, await make_user("alice", organisation=await make_org("Northwick"))
    )
    bob = await make_member(network)
    thread = await make_thread(network, alice)
    post = await make_reply(thread, alice, "question")
    await login(client, bob)
    r = await client.get(f"/n/dl/t/{thread.id}/reply?to={post.id}")
    assert r.status_code == 200
    assert "Northwick" in html(r).css_first("#replying-to-title").text()


async def test_reply_to_a_given_post_lands_under_it(client: httpx.AsyncClient) -> None:
    network = await make_network("dl")
    alice = await make_member(network)
    thread = await make_thread(network, alice)
    post = await make_reply(thread, alice, "question")
    await login(client, alice)
    token = await csrf(client, f"/n/dl/t/{thread.id}/reply?to={post.id}")
    r = await client.post(
        f"/n/dl/t/{thread.id}/reply",
        data={"body": "answer", "parent": str(post.id), "csrf_token": token},
    )
    assert r.status_code == 303
    reply = await Post.get(body="answer")
    assert reply.parent_id == post.id
    assert r.headers["location"].endswith(f"#p{reply.id}")


async def test_a_reply_to_a_post_that_cannot_exist_keeps_the_text_and_says_why(
    client: httpx.AsyncClient,
) -> None:
    """However big the number (PostgreSQL's integer columns end at 2,147,483,647)."""
    network = await make_network("dl")
    alice = await make_member(network)
    thread = await make_thread(network, alice)
    await login(client, alice)
    token = await csrf(client, "/")
    for parent in ("99999999999", "999999999", "x"):
        r = await client.post(
            f"/n/dl/t/{thread.id}/reply",
            data={"body": "my kept words", "parent": parent, "csrf_token": token},
        )
        assert r.status_code == 422, parent
        assert "not in this thread" in r.text and "my kept words" in r.text
    r = await client.get(f"/n/dl/t/{thread.id}/reply?to=99999999999")
    assert r.status_code == 200


async def test_reply_to_a_locked_thread_is_refused_with_a_message(
    client: httpx.AsyncClient,
) -> None:
    network = await make_network("dl")
    alice = await make_member(network)
    thread = await make_thread(network, alice)
    await Thread.filter(id=thread.id).update(locked=True)
    await login(client, alice)
    token = await csrf(client, "/")
    r = await client.post(
        f"/n/dl/t/{thread.id}/reply", data={"body": "my words", "csrf_token": token}
    )
    assert r.status_code == 403
    assert "locked" in r.text
    assert "my words" in html(r).css_first("textarea#body").text()
    page = await client.get(f"/n/dl/t/{thread.id}-{thread.slug}")
    assert "Replies are closed" in page.text


async def test_facilitator_pins_and_locks_from_the_thread_page(client: httpx.AsyncClient) -> None:
    network = await make_network("dl")
    fac = await make_member(network, role=Role.FACILITATOR)
    thread = await make_thread(network, fac)
    await login(client, fac)
    page = await client.get(f"/n/dl/t/{thread.id}-{thread.slug}")
    assert "Pin thread" in page.text
    token = await csrf(client, "/")
    assert (
        await client.post(f"/n/dl/t/{thread.id}/pin", data={"value": "1", "csrf_token": token})
    ).status_code == 303
    assert (
        await client.post(f"/n/dl/t/{thread.id}/lock", data={"value": "1", "csrf_token": token})
    ).status_code == 303
    fresh = await Thread.get(id=thread.id)
    assert fresh.pinned and fresh.locked


async def test_members_get_403_on_moderation(client: httpx.AsyncClient) -> None:
    network = await make_network("dl")
    alice = await make_member(network)
    thread = await make_thread(network, alice)
    await login(client, alice)
    token = await csrf(client, "/")
    r = await client.post(f"/n/dl/t/{thread.id}/pin", data={"value": "1", "csrf_token": token})
    assert r.status_code == 403
    assert not (await Thread.get(id=thread.id)).pinned


async def test_login_with_username_or_email_and_logout(client: httpx.AsyncClient) -> None:
    user = await make_user("alice")
    token = await csrf(client)
    r = await client.post(
        "/login", data={"login": "ALICE@example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 303
    cookie = client.cookies.get("forum_session")
    assert cookie
    assert 'href="/account"' in (await client.get("/")).text
    token = await csrf(client, "/")
    assert (await client.post("/logout", data={"csrf_token": token})).status_code == 303
    assert await Session.filter(user_id=user.id).count() == 0


async def test_wrong_password_re_renders_login_with_username_kept(
    client: httpx.AsyncClient,
) -> None:
    await make_user("alice")
    token = await csrf(client)
    r = await client.post(
        "/login", data={"login": "alice", "password": "wrong password", "csrf_token": token}
    )
    assert r.status_code == 401
    doc = html(r)
    assert "do not match" in doc.css_first(".error-summary").text()
    assert doc.css_first("input#login").attributes["value"] == "alice"


async def test_session_cookie_is_signed_httponly_lax_and_changes_at_login(
    client: httpx.AsyncClient,
) -> None:
    user = await make_user("alice")
    await login(client, user)
    first = client.cookies.get("forum_session")
    token = await csrf(client)
    r = await client.post(
        "/login", data={"login": "alice", "password": PASSWORD, "csrf_token": token}
    )
    set_cookie = [v for k, v in r.headers.multi_items() if k == "set-cookie"]
    session_cookie = next(c for c in set_cookie if c.startswith("forum_session="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
    assert client.cookies.get("forum_session") != first
    assert await Session.filter(user_id=user.id).count() == 1  # the old one was ended


async def test_secure_flag_behind_https(app, db: str) -> None:  # type: ignore[no-untyped-def]
    await make_user("alice")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        token = await csrf(c)
        r = await c.post(
            "/login", data={"login": "alice", "password": PASSWORD, "csrf_token": token}
        )
        cookies = [v for k, v in r.headers.multi_items() if k == "set-cookie"]
        assert all("Secure" in c for c in cookies)


async def test_login_next_is_never_an_open_redirect(client: httpx.AsyncClient) -> None:
    user = await make_user("alice")
    for target, expected in (
        ("/n/dl", "/n/dl"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
    ):
        client.cookies.clear()
        token = await csrf(client)
        r = await client.post(
            "/login",
            data={
                "login": user.username,
                "password": PASSWORD,
                "next": target,
                "csrf_token": token,
            },
        )
        assert r.headers["location"] == expected


async def test_profile_shows_only_posts_the_viewer_may_see(client: httpx.AsyncClient) -> None:
    public = await make_network("open")
    secret = await make_network("secret", visibility=Visibility.MEMBERS)
    org = await make_org("Royal Borough of Kingsmere")
    alice = await make_user("alice", organisation=org, display_name="Alice Adams")
    await make_member(public, alice)
    await make_member(secret, alice)
    await make_thread(public, alice, title="Open topic", body="open words")
    await make_thread(secret, alice, title="Hidden topic", body="hidden words")
    r = await client.get("/u/alice")
    assert r.status_code == 200
    assert "Alice Adams" in r.text and "Royal Borough of Kingsmere" in r.text
    assert "Open topic" in r.text
    assert "Hidden topic" not in r.text and "hidden words" not in r.text
    assert (await client.get("/u/nobody")).status_code == 404


async def test_anonymous_writers_are_sent_to_log_in(client: httpx.AsyncClient) -> None:
    await make_network("dl")
    r = await client.get("/n/dl/new")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/n/dl/new"


async def test_api_returns_threads_and_posts(client: httpx.AsyncClient) -> None:
    network = await make_network("dl")
    alice = await make_member(network)
    thread = await make_thread(network, alice)
    await make_reply(thread, alice, "reply")
    data = (await client.get("/api/v1/n/dl/threads")).json()
    assert [t["title"] for t in data["threads"]] == [thread.title]
    data = (await client.get(f"/api/v1/n/dl/t/{thread.id}")).json()
    assert len(data["posts"]) == 2
    assert (await client.get("/api/v1/networks")).json()["networks"][0]["slug"] == "dl"


async def test_every_page_links_to_the_keyboard_shortcuts_which_start_switched_off(
    client: httpx.AsyncClient,
) -> None:
    home = html(await client.get("/"))
    assert home.css_first('footer a[href="/help/shortcuts"]') is not None
    response = await client.get("/help/shortcuts")
    assert response.status_code == 200
    page = html(response)
    keys = [k.text() for k in page.css("table kbd")]
    assert keys == ["j", "k", "r", "/", "?"]
    # The switch needs the script: without it the page says so and shows no dead button.
    assert "hidden" in page.css_first("#shortcuts-toggle").attributes


def test_every_template_compiles() -> None:
    """A template broken by a merge (a block defined twice) fails here, not on a page."""
    from forum.config import ROOT
    from forum.web.templating import make_templates

    env = make_templates().env
    names = [
        str(path.relative_to(ROOT / "templates"))
        for path in (ROOT / "templates").rglob("*")
        if path.is_file()
    ]
    assert len(names) > 40
    for name in names:
        env.get_template(name)


async def test_live_preview_renders_through_the_one_markdown_path(
    client: httpx.AsyncClient,
) -> None:
    user = await make_user("previewer")
    token = await csrf(client)
    assert (await client.post("/api/v1/preview", data={"body": "x"})).status_code == 403
    r = await client.post("/api/v1/preview", data={"body": "**x**", "csrf_token": token})
    assert r.status_code == 403  # signed in only
    await login(client, user)
    token = await csrf(client, "/")
    r = await client.post(
        "/api/v1/preview",
        data={"body": "**bold** <script>alert(1)</script> @nobody", "csrf_token": token},
    )
    assert r.status_code == 200
    html = r.json()["html"]
    assert "<strong>bold</strong>" in html and "<script>" not in html
    big = "x" * 50_001
    r = await client.post("/api/v1/preview", data={"body": big, "csrf_token": token})
    assert r.status_code == 400 and "limit" in r.json()["error"]
