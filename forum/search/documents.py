"""Building search documents from the database (read-only; the indexer writes them)."""

from __future__ import annotations

from typing import Any

from tortoise.functions import Min

from forum.threads.models import Post, Summary, Thread


def post_doc_id(post_id: int) -> str:
    return f"post:{post_id}"


def summary_doc_id(thread_id: int) -> str:
    return f"summary:{thread_id}"


def _common(thread: Thread, tags: list[str]) -> dict[str, Any]:
    network = thread.network
    return {
        "thread_id": thread.id,
        "thread_title": thread.title,
        "network_id": str(network.id),
        "network": network.slug,
        "tags": ",".join(tags),
    }


def _author(user: Any) -> dict[str, Any]:
    org = user.organisation
    return {
        "author": user.username,
        "author_name": user.display_name,
        "org": org.slug if org else "",
        "org_name": org.name if org else "",
    }


async def _thread_tags(thread_ids: set[int]) -> dict[int, list[str]]:
    threads = await Thread.filter(id__in=list(thread_ids)).prefetch_related("tags")
    return {t.id: sorted(tag.slug for tag in t.tags) for t in threads}


async def post_documents(post_ids: list[int]) -> tuple[list[dict[str, Any]], list[str]]:
    """Documents for the given posts, and the doc ids to delete (deleted or missing posts)."""
    if not post_ids:
        return [], []
    posts = await Post.filter(id__in=post_ids).select_related(
        "thread__network", "author__organisation"
    )
    found = {p.id for p in posts}
    deletes = [post_doc_id(i) for i in post_ids if i not in found]
    live = [p for p in posts if not p.deleted]
    deletes += [post_doc_id(p.id) for p in posts if p.deleted]
    thread_ids = {p.thread_id for p in live}
    tags = await _thread_tags(thread_ids)
    # The opening post (the first of its thread) carries the thread's title.
    openings = {
        int(row["thread_id"]): int(row["first"])
        for row in await Post.filter(thread_id__in=list(thread_ids))
        .annotate(first=Min("id"))
        .group_by("thread_id")
        .values("thread_id", "first")
    }
    docs = []
    for post in live:
        thread = post.thread
        doc = {
            "doc_id": post_doc_id(post.id),
            "kind": "post",
            "rank": 1,
            "post_id": post.id,
            "title": thread.title if openings.get(thread.id) == post.id else "",
            "created": post.created_at,
            "body": post.body_text,
            **_common(thread, tags.get(thread.id, [])),
            **_author(post.author),
        }
        docs.append(doc)
    return docs, deletes


async def summary_documents(thread_ids: list[int]) -> tuple[list[dict[str, Any]], list[str]]:
    """Documents for the summaries of the given threads (deletes where there is none)."""
    if not thread_ids:
        return [], []
    summaries = await Summary.filter(thread_id__in=thread_ids).select_related(
        "thread__network", "author__organisation"
    )
    found = {s.thread_id for s in summaries}
    deletes = [summary_doc_id(i) for i in thread_ids if i not in found]
    tags = await _thread_tags(found)
    docs = []
    for summary in summaries:
        thread = summary.thread
        docs.append(
            {
                "doc_id": summary_doc_id(thread.id),
                "kind": "summary",
                "rank": 0,
                "post_id": 0,
                "title": thread.title,
                "created": summary.updated_at or summary.created_at,
                "body": summary.body_text,
                "_boost": 2.0,  # the network's conclusion outranks the discussion
                **_common(thread, tags.get(thread.id, [])),
                **_author(summary.author),
            }
        )
    return docs, deletes
