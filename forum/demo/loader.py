"""Load the demo forum (`forum.demo.content`) into an empty database: `forum demo`.

Everything is written through the domain services, as people using the forum would write it,
and all in one transaction, so that a failure part-way leaves the database empty. The services
stamp the current time; afterwards the loader moves each record back to its place in the demo's
last six months. Those updates, and the summaries (which have no service yet), are the only
direct writes.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise import connections
from tortoise.transactions import in_transaction

from forum.accounts import services as accounts
from forum.accounts.models import Organisation, User
from forum.config import SiteSettings
from forum.demo import content
from forum.demo.content import DemoPost, DemoSummary, DemoThread
from forum.knowledge import services as knowledge
from forum.moderation import services as moderation
from forum.networks import membership
from forum.networks import services as networks
from forum.networks.models import Membership, Network, Role, Visibility
from forum.notifications.models import Preferences
from forum.permissions import Viewer, viewer_for
from forum.threads import curation as curate
from forum.threads import services as threads
from forum.threads.models import Post, Summary, Thread
from forum.timeutil import utcnow

__all__ = ["DEMO_PASSWORD", "DemoLogin", "is_empty", "load_demo"]

#: Every demo account's password, printed in the terminal with the logins.
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 -- public by design: demo accounts only

#: The demo forum opened this many days before it was loaded: before any of its threads.
OPENED_DAYS_AGO = 190


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """A demo account to print: its username and what it can show ("facilitator of ...")."""

    username: str
    role: str


async def is_empty() -> bool:
    """True when the database has no users, networks or threads."""
    return not (await User.exists() or await Network.exists() or await Thread.exists())


async def load_demo(site: SiteSettings | None = None) -> list[DemoLogin]:
    """Fill an empty forum with the demo's organisations, people, networks and threads
    (emails it queues link to `site`).

    Returns the demo logins (admin first, then each network's facilitator, then members); each
    account's password is DEMO_PASSWORD. Raises RuntimeError, writing nothing, if the database
    is not empty.
    """
    async with in_transaction():
        if not await is_empty():
            raise RuntimeError("the database is not empty: the demo loads only into an empty forum")
        await _Loader(utcnow(), site or SiteSettings()).load()
    return [DemoLogin(user.username, _role(user)) for user in content.USERS]


def _role(user: content.DemoUser) -> str:
    if user.is_admin:
        return "admin"
    led = [n.name for n in content.NETWORKS if n.facilitator == user.username]
    if led:
        return "facilitator of " + ", ".join(led)
    joined = [n.name for n in content.NETWORKS if user.username in n.members]
    return "member of " + ", ".join(joined) if joined else "member"


def _markdown(body: str) -> str:
    """A body as written in content.py, without the indentation of the Python source."""
    return inspect.cleandoc(body)


def _after(start: datetime, hours: float) -> datetime:
    return start + timedelta(hours=hours)


class _Loader:
    def __init__(self, now: datetime, site: SiteSettings) -> None:
        self.site = site
        self.now = now
        self.opened = now - timedelta(days=OPENED_DAYS_AGO)
        self.organisations: dict[str, Organisation] = {}
        self.users: dict[str, User] = {}
        self.networks: dict[str, Network] = {}
        self.viewers: dict[str, Viewer] = {}
        self.facilitators = {network.slug: network.facilitator for network in content.NETWORKS}
        # (thread title, post key) -> post id, for the flags.
        self.post_ids: dict[tuple[str, str], int] = {}

    async def load(self) -> None:
        await self._organisations()
        await self._users()
        await self._networks()
        self.viewers = {name: await viewer_for(user) for name, user in self.users.items()}
        # Oldest first, so that ids follow the order things happened in.
        for thread in sorted(content.THREADS, key=lambda t: -t.days_ago):
            await self._thread(thread)
        for demo in content.FLAGS:
            post = await Post.get(id=self.post_ids[(demo.thread, demo.post)]).select_related(
                "thread__network"
            )
            await moderation.flag_post(
                viewer=self.viewers[demo.reporter],
                post=post,
                network=post.thread.network,
                reason=demo.reason,
                note=demo.note,
            )

        await self._quiet_history()
        for demo_request in content.REQUESTS:
            await membership.request_to_join(
                viewer=self.viewers[demo_request.username],
                network=self.networks[demo_request.network],
                message=demo_request.message,
                site=self.site,
            )

    async def _quiet_history(self) -> None:
        """The demo's months of history happened before anyone could be emailed about it:
        its notifications keep the times of what they are about, and no email or digest
        goes out for them on the first run."""
        conn = connections.get("default")
        await conn.execute_script(
            "UPDATE notifications SET email_pending = FALSE, created_at ="
            " (SELECT p.created_at FROM posts p WHERE p.id = notifications.post_id)"
            " WHERE post_id IS NOT NULL"
        )
        await conn.execute_script(
            "UPDATE notifications SET created_at = (SELECT COALESCE(s.updated_at, s.created_at)"
            " FROM summaries s WHERE s.thread_id = notifications.thread_id)"
            " WHERE kind = 'summary'"
        )
        await Preferences.bulk_create(
            [Preferences(user_id=user.id, digest_sent_at=self.now) for user in self.users.values()]
        )

    async def _organisations(self) -> None:
        for org in content.ORGANISATIONS:
            self.organisations[org.slug] = await accounts.create_organisation(
                slug=org.slug, name=org.name, email_domains=list(org.email_domains)
            )
        ids = [org.id for org in self.organisations.values()]
        await Organisation.filter(id__in=ids).update(created_at=self.opened)

    async def _users(self) -> None:
        domains = {org.slug: org.email_domains[0] for org in content.ORGANISATIONS}
        for n, user in enumerate(content.USERS):
            self.users[user.username] = await accounts.create_user(
                username=user.username,
                email=f"{user.username}@{domains[user.organisation]}",
                display_name=user.display_name,
                password=DEMO_PASSWORD,
                organisation=self.organisations[user.organisation],
                is_admin=user.is_admin,
                created_at=self.opened + timedelta(days=1, hours=3 * n),
            )

    async def _networks(self) -> None:
        for n, demo in enumerate(content.NETWORKS):
            network = await networks.create_network(
                slug=demo.slug,
                name=demo.name,
                description=demo.description,
                visibility=Visibility.PUBLIC if demo.public else Visibility.MEMBERS,
                created_at=self.opened + timedelta(hours=n),
            )
            self.networks[demo.slug] = network
            roles = [(demo.facilitator, Role.FACILITATOR)]
            roles += [(username, Role.MEMBER) for username in demo.members]
            for username, role in roles:
                user = self.users[username]
                membership = await networks.set_membership(network=network, user=user, role=role)
                joined = max(user.created_at, network.created_at) + timedelta(hours=1)
                await Membership.filter(id=membership.id).update(created_at=joined)

    async def _thread(self, demo: DemoThread) -> None:
        network = self.networks[demo.network]
        start = self.now - timedelta(days=demo.days_ago)
        # Written in the order they happened, so that a reply always follows its parent.
        opening, *replies = sorted(demo.posts, key=lambda p: p.hours_after)
        thread = await threads.create_thread(
            viewer=self.viewers[opening.author],
            network=network,
            title=demo.title,
            body=_markdown(opening.body),
            tags=list(demo.tags),
        )
        posts = {opening.key: await Post.get(thread_id=thread.id)}
        for reply in replies:
            parent = posts[reply.reply_to].id if reply.reply_to else None
            posts[reply.key] = await threads.reply(
                viewer=self.viewers[reply.author],
                thread=thread,
                body=_markdown(reply.body),
                parent_id=parent,
            )

        self.post_ids.update({(demo.title, key): post.id for key, post in posts.items()})
        # Back to when each was written: before the edits, whose history keeps those times.
        for demo_post in demo.posts:
            await Post.filter(id=posts[demo_post.key].id).update(
                created_at=_after(start, demo_post.hours_after)
            )
        last = max(demo_post.hours_after for demo_post in demo.posts)
        await Thread.filter(id=thread.id).update(
            created_at=start, last_activity_at=_after(start, last)
        )

        for demo_post in demo.posts:
            await self._edit_and_delete(demo_post, posts[demo_post.key].id, network, start)

        moderator = self.viewers[self.facilitators[demo.network]]
        if demo.pinned:
            await curate.set_pinned(viewer=moderator, thread=thread, pinned=True)
        if demo.locked:
            await curate.set_locked(viewer=moderator, thread=thread, locked=True)
        if demo.summary is not None:
            await self._pin_summary(thread, demo.summary, _after(start, demo.summary.hours_after))

    async def _edit_and_delete(
        self, demo: DemoPost, post_id: int, network: Network, start: datetime
    ) -> None:
        if demo.edit is not None:
            post = await Post.get(id=post_id)
            await threads.edit_post(
                viewer=self.viewers[demo.edit.editor or demo.author],
                post=post,
                network=network,
                body=_markdown(demo.edit.body),
            )
            await Post.filter(id=post_id).update(edited_at=_after(start, demo.edit.hours_after))
        if demo.deleted_hours_after is not None:
            post = await Post.get(id=post_id)
            await threads.delete_post(viewer=self.viewers[demo.author], post=post, network=network)
            await Post.filter(id=post_id).update(deleted_at=_after(start, demo.deleted_hours_after))

    async def _pin_summary(self, thread: Thread, demo: DemoSummary, written: datetime) -> None:
        """The facilitator's summary (and its earlier version, if any), back-dated."""
        viewer = self.viewers[demo.author]
        if demo.earlier:
            await knowledge.write_summary(
                viewer=viewer, thread=thread, body=_markdown(demo.earlier.body)
            )
            await Summary.filter(thread_id=thread.id).update(
                created_at=_after(written, -demo.earlier.hours_before),
                reviewed_at=_after(written, -demo.earlier.hours_before),
            )
        summary = await knowledge.write_summary(
            viewer=viewer, thread=thread, body=_markdown(demo.body)
        )
        if demo.earlier:
            await Summary.filter(id=summary.id).update(updated_at=written, reviewed_at=written)
        else:
            await Summary.filter(id=summary.id).update(created_at=written, reviewed_at=written)
