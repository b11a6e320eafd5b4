"""Building the product's stable URLs in one place (templates and redirects use these)."""

from __future__ import annotations

from forum.networks.models import Network
from forum.threads.models import Post, Thread


def network_url(network: Network) -> str:
    return f"/n/{network.slug}"


def thread_url(thread: Thread, network: Network | None = None) -> str:
    net = network or thread.network
    return f"/n/{net.slug}/t/{thread.id}-{thread.slug}"


def post_url(post: Post, thread: Thread, network: Network | None = None) -> str:
    return f"{thread_url(thread, network)}#p{post.id}"


def user_url(username: str) -> str:
    return f"/u/{username}"
