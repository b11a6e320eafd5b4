"""Building search documents from the database (read-only; the indexer writes them).

Rows are read with `values()` (joined columns, no model objects): a rebuild builds hundreds of
thousands of documents, and model instances cost several times more than the indexing saves.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from tortoise.functions import Min
from tortoise.queryset import QuerySet

from forum.threads.models import Post, Summary, Thread

# The columns every document takes from its thread, network, author and organisation, read
# from the row of a post or a summary (`values()` joins them).
_JOINED = (
    "thread_id",
    "thread__title",
    "thread__network_id",
    "thread__network__slug",
    "author__username",
    "author__display_name",
    "author__organisation__slug",
    "author__organisation__name",
)


def searchable_posts() -> QuerySet[Post]:
    """The posts search holds: not deleted, hidden or redacted."""
    return Post.filter(deleted=False, hidden=False, redacted_at__isnull=True)


def _searchable(row: dict[str, Any]) -> bool:
    return not (row["deleted"] or row["hidden"] or row["redacted_at"] is not None)


def post_doc_id(post_id: int) -> str:
    return f"post:{post_id}"


def summary_doc_id(thread_id: int) -> str:
    return f"summary:{thread_id}"


def _shared(row: dict[str, Any], tags: dict[int, list[str]]) -> dict[str, Any]:
    thread_id = int(row["thread_id"])
    return {
        "thread_id": thread_id,
        "thread_title": row["thread__title"],
        "network_id": str(row["thread__network_id"]),
        "network": row["thread__network__slug"],
        "tags": ",".join(tags.get(thread_id, ())),
        "author": row["author__username"],
        "author_name": row["author__display_name"],
        "org": row["author__organisation__slug"] or "",
        "org_name": row["author__organisation__name"] or "",
    }


async def _thread_tags(thread_ids: set[int]) -> dict[int, list[str]]:
    tags: dict[int, list[str]] = defaultdict(list)
    if thread_ids:
        rows = await Thread.filter(id__in=list(thread_ids), tags__slug__not_isnull=True).values(
            "id", "tags__slug"
        )
        for row in rows:
            tags[int(row["id"])].append(row["tags__slug"])
    return {thread_id: sorted(slugs) for thread_id, slugs in tags.items()}


async def post_documents(post_ids: list[int]) -> tuple[list[dict[str, Any]], list[str]]:
    """Documents for the given posts, and the doc ids to delete (posts that are missing,
    deleted, hidden or redacted)."""
    if not post_ids:
        return [], []
    rows = await Post.filter(id__in=post_ids).values(
        "id", "deleted", "hidden", "redacted_at", "created_at", "body_text", *_JOINED
    )
    found = {int(r["id"]) for r in rows}
    deletes = [post_doc_id(i) for i in post_ids if i not in found]
    deletes += [post_doc_id(int(r["id"])) for r in rows if not _searchable(r)]
    live = [r for r in rows if _searchable(r)]
    thread_ids = {int(r["thread_id"]) for r in live}
    tags = await _thread_tags(thread_ids)
    # The opening post (the first of its thread) carries the thread's title.
    openings = {
        int(row["first"])
        for row in await Post.filter(thread_id__in=list(thread_ids))
        .annotate(first=Min("id"))
        .group_by("thread_id")
        .values("thread_id", "first")
    }
    docs = []
    for row in live:
        post_id = int(row["id"])
        docs.append(
            {
                "doc_id": post_doc_id(post_id),
                "kind": "post",
                "rank": 1,
                "post_id": post_id,
                "title": row["thread__title"] if post_id in openings else "",
                "created": row["created_at"],
                "body": row["body_text"],
                **_shared(row, tags),
            }
        )
    return docs, deletes


async def summary_documents(thread_ids: list[int]) -> tuple[list[dict[str, Any]], list[str]]:
    """Documents for the summaries of the given threads (deletes where there is none)."""
    if not thread_ids:
        return [], []
    rows = await Summary.filter(thread_id__in=thread_ids).values(
        "created_at", "updated_at", "body_text", *_JOINED
    )
    found = {int(r["thread_id"]) for r in rows}
    deletes = [summary_doc_id(i) for i in thread_ids if i not in found]
    tags = await _thread_tags(found)
    docs = []
    for row in rows:
        docs.append(
            {
                "doc_id": summary_doc_id(int(row["thread_id"])),
                "kind": "summary",
                "rank": 0,
                "post_id": 0,
                "title": row["thread__title"],
                "created": row["updated_at"] or row["created_at"],
                "body": row["body_text"],
                "_boost": 2.0,  # the network's conclusion outranks the discussion
                **_shared(row, tags),
            }
        )
    return docs, deletes
