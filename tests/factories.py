"""Test data, built through the services so it is shaped exactly as real data is."""

from __future__ import annotations

import itertools
import re

import httpx
from selectolax.lexbor import LexborHTMLParser
from tortoise.queryset import QuerySet

from forum.accounts import services as accounts
from forum.accounts.models import Organisation, User
from forum.networks import services as networks
from forum.networks.models import Network, Role, Visibility
from forum.permissions import viewer_for
from forum.threads import services as threads
from forum.threads.models import Post, Thread

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


async def make_org(name: str | None = None) -> Organisation:
    n = next(_seq)
    return await accounts.create_organisation(slug=f"org-{n}", name=name or f"Borough {n}")


async def make_user(
    username: str | None = None,
    *,
    organisation: Organisation | None = None,
    is_admin: bool = False,
    display_name: str | None = None,
) -> User:
    n = next(_seq)
    username = username or f"user{n}"
    return await accounts.create_user(
        username=username,
        email=f"{username}@example.org",
        display_name=display_name or f"User {n}",
        password=PASSWORD,
        organisation=organisation,
        is_admin=is_admin,
    )


async def make_network(
    slug: str | None = None, *, visibility: Visibility = Visibility.PUBLIC, name: str | None = None
) -> Network:
    n = next(_seq)
    slug = slug or f"network-{n}"
    return await networks.create_network(
        slug=slug,
        name=name or f"Network {n}",
        description="About *this* network.",
        visibility=visibility,
    )


async def make_member(network: Network, user: User | None = None, role: Role = Role.MEMBER) -> User:
    user = user or await make_user()
    await networks.set_membership(network=network, user=user, role=role)
    return user


async def make_thread(
    network: Network,
    author: User,
    *,
    title: str = "How is your data team structured?",
    body: str = "Hub and spoke, or centralised?",
    tags: str = "",
) -> Thread:
    viewer = await viewer_for(author)
    thread = await threads.create_thread(
        viewer=viewer, network=network, title=title, body=body, tags=tags
    )
    thread.network = network
    return thread


async def make_reply(
    thread: Thread, author: User, body: str = "We use hub and spoke.", parent: Post | None = None
) -> Post:
    viewer = await viewer_for(author)
    return await threads.reply(
        viewer=viewer, thread=thread, body=body, parent_id=parent.id if parent else None
    )


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def csrf(client: httpx.AsyncClient, path: str = "/login") -> str:
    """The CSRF token a page gives this client (its cookie is kept by the client)."""
    response = await client.get(path)
    match = _CSRF.search(response.text)
    assert match, f"no CSRF token on {path} ({response.status_code})"
    return match.group(1)


async def login(client: httpx.AsyncClient, user: User, password: str = PASSWORD) -> None:
    token = await csrf(client)
    response = await client.post(
        "/login", data={"login": user.username, "password": password, "csrf_token": token}
    )
    assert response.status_code == 303, response.text


async def make_many_posts(thread: Thread, authors: list[User], n: int) -> None:
    """Bulk-insert `n` replies (a mix of replies to the thread and to earlier posts), for
    size tests where going through the service once per post would be slow."""
    from datetime import timedelta

    from forum import markdown
    from forum.timeutil import utcnow

    start = utcnow()
    first = await Post.filter(thread_id=thread.id).order_by("id").first()
    assert first is not None
    ids: list[int] = [first.id]
    batch = 250
    for offset in range(0, n, batch):
        rows = []
        for i in range(offset, min(n, offset + batch)):
            body = f"Reply number {i} with **some** text."
            rendered = markdown.render(body)
            rows.append(
                Post(
                    ref=f"bulk-{thread.id}-{i}",
                    thread_id=thread.id,
                    author_id=authors[i % len(authors)].id,
                    parent_id=ids[(i * 7) % len(ids)] if i % 3 else None,
                    body=body,
                    body_html=rendered.html,
                    body_text=rendered.text,
                    created_at=start + timedelta(seconds=i + 1),
                )
            )
        await Post.bulk_create(rows)
        ids = list(await Post.filter(thread_id=thread.id).values_list("id", flat=True))
    await Thread.filter(id=thread.id).update(reply_count=n)


# Users who have not confirmed their address, inserted by one statement: for tests of what a
# network of tens of thousands does (PostgreSQL's driver takes at most 32,767 parameters).
_CROWD = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO users (username, email, display_name, password_hash, is_admin, is_active, created_at)
SELECT 'crowd' || i, 'crowd' || i || '@example.org', 'Crowd ' || i, '!', FALSE, TRUE,
       CURRENT_TIMESTAMP
FROM n
"""


async def make_crowd(n: int) -> QuerySet[User]:
    """`n` users who have not confirmed their address (so are sent nothing): the query of them."""
    from forum import db

    await db.fetch(_CROWD, n)
    return User.filter(username__startswith="crowd")


def html(response: httpx.Response) -> LexborHTMLParser:
    return LexborHTMLParser(response.text)
