"""Reads for moderation: the open flags of the networks a facilitator looks after."""

from __future__ import annotations

from dataclasses import dataclass, field

from forum.moderation.models import Flag, FlagStatus
from forum.threads.models import Post

# Flagged posts shown on the queue at once (the oldest first, so none waits for ever).
QUEUE_LIMIT = 100


@dataclass(slots=True)
class FlaggedPost:
    post: Post  # with author, thread and network
    flags: list[Flag] = field(default_factory=list)  # open ones, oldest first, with reporters


async def open_flags(
    network_ids: list[int], limit: int = QUEUE_LIMIT
) -> tuple[list[FlaggedPost], int]:
    """Posts with open flags in the given networks, the longest-waiting first, each with its
    open flags; and how many posts are flagged in all. Two queries."""
    if not network_ids:
        return [], 0
    flags = (
        await Flag.filter(status=FlagStatus.OPEN, post__thread__network_id__in=network_ids)
        .select_related("reporter", "post__author__organisation", "post__thread__network")
        .order_by("created_at", "id")
    )
    by_post: dict[int, FlaggedPost] = {}
    for flag in flags:
        entry = by_post.get(flag.post_id)
        if entry is None:
            entry = by_post[flag.post_id] = FlaggedPost(flag.post)
        entry.flags.append(flag)
    return list(by_post.values())[:limit], len(by_post)
