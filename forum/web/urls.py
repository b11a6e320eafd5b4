"""Building the product's stable URLs in one place (templates and redirects use these)."""

from __future__ import annotations

import re

from forum.errors import NotFound
from forum.networks.models import Network
from forum.threads.models import Post, Thread


def network_url(network: Network) -> str:
    return f"/n/{network.slug}"


_THREAD_PATH = re.compile(r"^([0-9]{1,9})(?:-(.*))?$")


def parse_thread_path(text: str) -> tuple[int, str | None]:
    """The id and slug of "{id}-{slug}" (the slug may be missing). Raises NotFound."""
    match = _THREAD_PATH.match(text)
    if not match:
        raise NotFound("no such thread")
    return int(match.group(1)), match.group(2)


def thread_url(thread: Thread, network: Network | None = None) -> str:
    net = network or thread.network
    return f"/n/{net.slug}/t/{thread.id}-{thread.slug}"


def post_url(post: Post, thread: Thread, network: Network | None = None) -> str:
    return f"{thread_url(thread, network)}#p{post.id}"


def user_url(username: str) -> str:
    return f"/u/{username}"
