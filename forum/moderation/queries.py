"""Reads for moderation: the open flags of the networks a facilitator looks after."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tortoise.functions import Min

from forum import db
from forum.moderation.models import Flag, FlagStatus
from forum.threads.models import Post

# Flagged posts shown on the queue at once (the oldest first, so none waits for ever).
QUEUE_LIMIT = 100

# How many posts have open flags in some networks (Tortoise cannot count distinct values).
_FLAGGED_POSTS = """
SELECT COUNT(DISTINCT f.post_id) AS n
FROM flags f JOIN posts p ON p.id = f.post_id JOIN threads t ON t.id = p.thread_id
WHERE f.status = ? AND t.network_id IN ({ids})
"""


@dataclass(slots=True)
class FlaggedPost:
    post: Post  # with author, thread and network
    flags: list[Flag] = field(default_factory=list)  # open ones, oldest first, with reporters


async def open_flags(
    network_ids: list[int], limit: int = QUEUE_LIMIT
) -> tuple[list[FlaggedPost], int]:
    """Posts with open flags in the given networks, the longest-waiting first, each with its
    open flags; and how many posts are flagged in all. Three queries, each reading at most
    `limit` posts' flags however long the queue has grown."""
    if not network_ids:
        return [], 0
    open_here = Flag.filter(status=FlagStatus.OPEN, post__thread__network_id__in=network_ids)
    counted = await db.fetch(
        _FLAGGED_POSTS.replace("{ids}", db.placeholders(network_ids)),
        FlagStatus.OPEN.value,
        *network_ids,
    )
    total = int(counted[0]["n"])
    waiting: list[Any] = list(
        await open_here.annotate(since=Min("created_at"), first=Min("id"))
        .group_by("post_id")
        .order_by("since", "first")
        .limit(limit)
        .values_list("post_id", flat=True)
    )
    ids = [int(i) for i in waiting]
    if not ids:
        return [], total
    flags = (
        await Flag.filter(status=FlagStatus.OPEN, post_id__in=ids)
        .select_related("reporter", "post__author__organisation", "post__thread__network")
        .order_by("created_at", "id")
    )
    by_post: dict[int, FlaggedPost] = {}
    for flag in flags:
        entry = by_post.get(flag.post_id)
        if entry is None:
            entry = by_post[flag.post_id] = FlaggedPost(flag.post)
        entry.flags.append(flag)
    # In the order they have waited (a post dealt with meanwhile is left out).
    return [by_post[i] for i in ids if i in by_post], total
