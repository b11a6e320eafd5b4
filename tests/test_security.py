"""What must always hold: members-only content stays inside, every write needs a CSRF token,
and no input, however hostile, produces a server error."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import httpx
from starlette.routing import Mount, Route

from forum.accounts import services as accounts
from forum.accounts.models import Invitation, Session
from forum.moderation.models import Flag, FlagReason
from forum.networks.models import MembershipRequest, Role, Visibility
from forum.threads.models import Post, Thread
from forum.timeutil import utcnow
from forum.web.routes import ROUTES
from forum.web.unsent import unsent
from tests.conftest import QueryCounter
from tests.factories import (
    csrf,
    login,
    make_member,
    make_network,
    make_org,
    make_reply,
    make_thread,
    make_user,
)


@dataclass
class World:
    secret_thread: Thread
    secret_post: Post
    public_thread: Thread
    public_post: Post
    member_username: str
    secret_flag: int  # a flag on each network's reply
    public_flag: int
    member_session: int  # the id of a session of the member's
    member_id: int
    secret_request: int  # a waiting request to join each network
    public_request: int
    invitation: int
    organisation: str


async def make_world() -> World:
    secret = await make_network("secret", name="Secret Network", visibility=Visibility.MEMBERS)
    public = await make_network("open", name="Open Network")
    org = await make_org("Borough")
    member = await make_member(
        secret, await make_user("insider", organisation=org), role=Role.FACILITATOR
    )
    await make_member(public, member)
    st = await make_thread(secret, member, title="Secret plans", body="classified words")
    sp = await make_reply(st, member, "secret reply")
    pt = await make_thread(public, member, title="Open topic", body="open words")
    pp = await make_reply(pt, member, "open reply")
    flags = [
        await Flag.create(post=p, reporter=member, reason=FlagReason.SPAM, created_at=utcnow())
        for p in (sp, pp)
    ]
    await accounts.start_session(user=member, days=1)
    session = await Session.filter(user_id=member.id).first()
    assert session is not None
    asker = await make_user("asker")
    requests = [
        await MembershipRequest.create(network=n, user=asker, created_at=utcnow())
        for n in (secret, public)
    ]
    invitation = await Invitation.create(
        key_hash="k", email="invited@example.org", created_at=utcnow(), expires_at=utcnow()
    )
    return World(
        st,
        sp,
        pt,
        pp,
        member.username,
        flags[0].id,
        flags[1].id,
        session.id,
        member.id,
        requests[0].id,
        requests[1].id,
        invitation.id,
        org.slug,
    )


# The pages where a signed-in outsider asks to join a members-only network (or withdraws).
ASK_TO_JOIN = frozenset({"/n/{network}/request", "/n/{network}/request/withdraw"})


def page_routes() -> list[Route]:
    return [r for r in ROUTES if isinstance(r, Route)]


def fill(path: str, world: World, network: str) -> str:
    thread = world.secret_thread if network == "secret" else world.public_thread
    post = world.secret_post if network == "secret" else world.public_post
    flag = world.secret_flag if network == "secret" else world.public_flag
    request = world.secret_request if network == "secret" else world.public_request
    return (
        path.replace("{network}", network)
        .replace("{user_id}", str(world.member_id))
        .replace("{request_id}", str(request))
        .replace("{invitation_id}", str(world.invitation))
        .replace("{organisation}", world.organisation)
        .replace("{thread}", f"{thread.id}-{thread.slug}")
        .replace("{thread_id}", str(thread.id))
        .replace("{post_id}", str(post.id))
        .replace("{flag_id}", str(flag))
        .replace("{username}", world.member_username)
        .replace("{notification_id}", "1")
        .replace("{weeknote_id}", "1")
        .replace("{weeknote}", "1-a-weeknote")
        .replace("{session_id}", str(world.member_session))
    )


def route_paths() -> list[tuple[str, str]]:
    """(method, path template without converters) for every page route."""
    out = []
    for route in page_routes():
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            out.append((method, re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)))
    return out


def test_route_table_is_what_the_product_promises() -> None:
    paths = {path for _, path in route_paths()}
    for stable in (
        "/",
        "/login",
        "/logout",
        "/n/{network}",
        "/n/{network}/new",
        "/n/{network}/t/{thread}",
        "/u/{username}",
    ):
        assert stable in paths
    assert any(isinstance(r, Mount) and r.path == "/static" for r in ROUTES)
    names = [r.name for r in ROUTES]
    assert len(names) == len(set(names))


async def test_outsiders_get_404_on_every_members_only_url(db: str, app) -> None:  # type: ignore[no-untyped-def]
    world = await make_world()
    outsider = await make_user("outsider")
    transport = httpx.ASGITransport(app=app)
    for who in ("anonymous", "outsider"):
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            if who == "outsider":
                await login(client, outsider)
            token = await csrf(client)
            for method, path in route_paths():
                if "{network}" not in path:
                    continue
                url = fill(path, world, "secret")
                if method == "GET":
                    r = await client.get(url)
                else:
                    r = await client.post(
                        url, data={"csrf_token": token, "body": "x", "title": "x"}
                    )
                if who == "anonymous" and method == "POST" and unsent(url, {"body": "x"}):
                    # What they wrote is carried to the login page (web.unsent), whether or
                    # not the network exists: the page says nothing of it.
                    assert r.status_code == 401, (who, method, url, r.status_code)
                    made_up = url.replace("/n/secret/", "/n/made-up/")
                    other = await client.post(
                        made_up, data={"csrf_token": token, "body": "x", "title": "x"}
                    )
                    assert other.status_code == 401
                    assert other.text.replace("made-up", "secret") == r.text
                    continue
                # A signed-in outsider may ask to join: its name and description are listed
                # for them at /networks, but never its content.
                if who == "outsider" and path in ASK_TO_JOIN:
                    assert r.status_code in (200, 303), (who, method, url, r.status_code)
                    assert "classified" not in r.text and "Secret plans" not in r.text, url
                    continue
                assert r.status_code == 404, (who, method, url, r.status_code)
                assert "Secret" not in r.text and "classified" not in r.text, (who, url)
            for listing in (
                "/",
                "/api/v1/networks",
                f"/u/{world.member_username}",
                f"/o/{world.organisation}",
            ):
                text = (await client.get(listing)).text
                assert "Secret" not in text and "secret" not in text.replace("csrf", ""), listing
            # The list of networks names it to a signed-in outsider, and shows nothing of it.
            text = (await client.get("/networks")).text
            assert "classified" not in text and "Secret plans" not in text
            assert ("Secret Network" in text) == (who == "outsider")
    assert await Post.filter(thread_id=world.secret_thread.id).count() == 2


async def test_every_state_changing_route_refuses_a_missing_or_wrong_csrf_token(
    db: str,
    app,  # type: ignore[no-untyped-def]
) -> None:
    world = await make_world()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        user = await make_user("writer")
        await login(client, user)
        posts_before = await Post.all().count()
        for method, path in route_paths():
            if method != "POST":
                continue
            url = fill(path, world, "open")
            if path.startswith("/unsubscribe/"):
                # One-click unsubscribe (RFC 8058) is posted by mail programs without cookies:
                # its signed token is its authority, and a forged one is refused.
                r = await client.post(url, data={"List-Unsubscribe": "One-Click"})
                assert r.status_code == 404, (url, r.status_code)
                continue
            for data in ({}, {"csrf_token": "forged"}):
                r = await client.post(url, data={**data, "body": "x", "title": "x", "value": "1"})
                assert r.status_code == 403, (url, data, r.status_code)
                if unsent(url, {"body": "x"}) is not None:
                    # A post, reply, edit or summary comes back to be sent again, by hand.
                    assert "Not sent yet" in r.text, url
                else:
                    assert "expired or did not come from this site" in r.text
        assert await Post.all().count() == posts_before
        assert client.cookies.get("forum_session")


HOSTILE_STRINGS = [
    "",
    " ",
    "\x00",
    "A" * 300_000,
    "<script>alert(1)</script>",
    "'; DROP TABLE posts; --",
    "../../etc/passwd",
    "%00%ff%fe",
    "%ED%A0%80",
    "💥" * 1000,
    "99999999999999999999999",
    "99999999999",  # 11 digits: a whole number, too big for a 32-bit column
    "-1",
    "0",
    "1e9",
    "{{7*7}}",
]

MALFORMED_BODIES = [
    (
        b"body=\xff\xfe\xed\xa0\x80&title=%ED%A0%80&csrf_token=TOKEN",
        "application/x-www-form-urlencoded",
    ),
    (
        b'--x\r\nContent-Disposition: form-data; name="body"\r\n\r\nunterminated',
        "multipart/form-data; boundary=x",
    ),
    (b"not a form at all", "multipart/form-data"),
    (b"\x00\x01\x02", "application/json"),
    (b"a=" + b"b" * 2_000_000, "application/x-www-form-urlencoded"),
    (b"&&&===&&&csrf_token=TOKEN", "application/x-www-form-urlencoded"),
]

HOSTILE_PATH_PARTS = ["0", "999999999", "-1", "abc", "%00", "%ff", "..", "1-" + "x" * 3000]


async def test_no_hostile_input_produces_a_server_error(db: str, app) -> None:  # type: ignore[no-untyped-def]
    world = await make_world()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await login(client, await make_user("admin", is_admin=True))
        token = await csrf(client)
        seen = 0
        for method, path in route_paths():
            # Hostile values in every field and query parameter, on each kind of network...
            for network in ("open", "secret", "nope"):
                url = fill(path, world, network)
                for value in HOSTILE_STRINGS:
                    seen += 1
                    if method == "GET":
                        if len(value) > 5000:
                            continue
                        params = {"page": value, "to": value, "quote": value, "next": value}
                        params["token"] = value  # the private key of feeds
                        r = await client.get(url, params=params)
                    else:
                        fields = ("title", "body", "tags", "parent", "value", "login", "next")
                        data = {name: value for name in fields}
                        data.update(csrf_token=token, password=value[:100], action=value[:10])
                        r = await client.post(url, data=data)
                    assert r.status_code < 500, (method, url, value[:40], r.text[:300])
            # ...hostile values in each path parameter...
            for part in HOSTILE_PATH_PARTS:
                for name in (
                    "{thread}",
                    "{post_id}",
                    "{thread_id}",
                    "{username}",
                    "{network}",
                    "{session_id}",
                    "{user_id}",
                    "{request_id}",
                    "{invitation_id}",
                    "{organisation}",
                ):
                    if name not in path:
                        continue
                    url = fill(path.replace(name, part), world, "open")
                    seen += 1
                    if method == "GET":
                        r = await client.get(url)
                    else:
                        r = await client.post(url, data={"csrf_token": token, "body": "x"})
                    assert r.status_code < 500, (method, url, r.text[:300])
            if method != "POST":
                continue
            # ...and bodies that are not well-formed forms at all.
            url = fill(path, world, "open")
            for content, ctype in MALFORMED_BODIES:
                content = content.replace(b"TOKEN", token.encode())
                r = await client.post(url, content=content, headers={"content-type": ctype})
                assert r.status_code < 500, (url, content[:30], r.status_code, r.text[:300])
                seen += 1
        assert seen > 300


async def test_invalid_utf8_in_a_form_is_refused_or_replaced_never_a_500(
    client: httpx.AsyncClient,
) -> None:
    network = await make_network("dl")
    alice = await make_member(network)
    await login(client, alice)
    token = await csrf(client, "/n/dl/new")
    body = b"title=Caf%E9&body=%FF%FE+bytes&csrf_token=" + token.encode()
    r = await client.post(
        "/n/dl/new", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code in (303, 400, 422)


async def test_pages_carry_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0]
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    policy = response.headers["permissions-policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in policy
    missing = await client.get("/nowhere")
    assert missing.status_code == 404
    assert "content-security-policy" in missing.headers


async def test_hsts_is_sent_over_https_only(app, client: httpx.AsyncClient) -> None:  # type: ignore[no-untyped-def]
    assert "strict-transport-security" not in (await client.get("/")).headers
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as https:
        for path in ("/", "/nowhere", "/static/forum.css"):
            r = await https.get(path)
            assert r.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


async def test_static_files_are_served_without_a_session_lookup(
    client: httpx.AsyncClient, count_queries: QueryCounter
) -> None:
    response = await client.get("/static/forum.css")
    assert response.status_code == 200
    assert count_queries.count == 0
    assert (await client.get("/static/nope.css")).status_code == 404


def test_the_security_doc_names_only_tests_that_exist() -> None:
    """docs/security.md says which test proves each promise: each must be there."""
    root = Path(__file__).resolve().parent.parent
    doc = (root / "docs" / "security.md").read_text(encoding="utf-8")
    named = re.findall(r"`(tests/test_\w+\.py)::(test_\w+)`", doc)
    assert len(named) > 40
    missing = [
        f"{file}::{name}"
        for file, name in named
        if not re.search(
            rf"^(async )?def {name}\(", (root / file).read_text(encoding="utf-8"), re.M
        )
    ]
    assert not missing, missing
