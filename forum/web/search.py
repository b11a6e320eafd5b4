"""Search pages and their JSON twins: the same query, the same permissions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum import permissions
from forum.networks import queries as network_queries
from forum.search.results import Hit
from forum.search.service import SearchPage, SearchRefused, SearchService
from forum.search.syntax import Filters
from forum.threads import queries as thread_queries
from forum.threads.models import Thread
from forum.timeutil import iso
from forum.web.forms import int_or_none
from forum.web.limits import too_many
from forum.web.security import client_address
from forum.web.templating import render
from forum.web.urls import thread_url

MAX_Q = 500


@dataclass(frozen=True, slots=True)
class Result:
    """A hit joined with what the database says now (URL, names)."""

    hit: Hit
    thread: Thread
    url: str


def _date(value: str | None, name: str, problems: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        problems.append(f"The {name} date must look like 2026-01-31; it was ignored.")
        return None


def _filters(params: Any, problems: list[str]) -> Filters:
    def text(name: str) -> str:
        return str(params.get(name) or "").strip()[:64]

    kind = text("kind")
    return Filters(
        network=text("network"),
        org=text("org"),
        author=text("author"),
        tag=text("tag"),
        kind=kind if kind in ("summary", "post") else "",
        after=_date(params.get("after"), "“after”", problems),
        before=_date(params.get("before"), "“before”", problems),
    )


@dataclass(frozen=True, slots=True)
class Search:
    """One search request, asked and answered: the same for the page and the API."""

    text: str
    filters: Filters
    result: SearchPage
    results: list[Result]
    notes: list[str]
    network_ids: list[int]


async def _search(request: Request) -> Search:
    """Run the request's search. Raises SearchRefused (the caller answers 429)."""
    params = request.query_params
    problems: list[str] = []
    text = str(params.get("q") or "")[:MAX_Q]
    filters = _filters(params, problems)
    sort = "newest" if params.get("sort") == "newest" else "relevance"
    page = int_or_none(params.get("page")) or 1
    network_ids = await permissions.readable_network_ids(request.state.viewer)
    service: SearchService = request.app.state.search

    async def still_wanted() -> bool:  # searches take turns: one whose asker left is skipped
        return not await request.is_disconnected()

    result = await service.search(
        text,
        network_ids=network_ids,
        filters=filters,
        sort=sort,
        page=page,
        still_wanted=still_wanted,
        client=client_address(request),
    )
    results = await _join(result.hits, network_ids)
    return Search(text, filters, result, results, problems + result.notes, network_ids)


async def _join(hits: list[Hit], network_ids: list[int]) -> list[Result]:
    """Look the threads up (one query): current titles and URLs, and a last check that each
    is still in a network the viewer may read."""
    threads = await thread_queries.readable_threads([h.thread_id for h in hits], network_ids)
    return [
        Result(h, threads[h.thread_id], _hit_url(h, threads[h.thread_id]))
        for h in hits
        if h.thread_id in threads
    ]


def _hit_url(hit: Hit, thread: Thread) -> str:
    url = thread_url(thread)
    if hit.kind == "post" and hit.post_id:
        return f"{url}#p{hit.post_id}"
    return url


async def page(request: Request) -> Response:
    refused: SearchRefused | None = None
    try:
        search = await _search(request)
    except SearchRefused as exc:
        refused = exc
        search = await _not_searched(request)
    text, filters = search.text, search.filters
    networks = await network_queries.visible_networks(request.state.viewer)
    searched = refused is None and (
        bool(text.strip())
        or any((filters.network, filters.org, filters.author, filters.tag, filters.kind))
    )
    context = {
        "q": text,
        "filters": filters,
        "sort": "newest" if request.query_params.get("sort") == "newest" else "relevance",
        "result": search.result,
        "results": search.results,
        "notes": search.notes,
        "networks": networks,
        "searched": searched,
        "refused": str(refused) if refused else None,
    }
    if refused:
        return too_many(request, "search/results.html", context, refused)
    return render(request, "search/results.html", context)


async def _not_searched(request: Request) -> Search:
    """The form as the person filled it in, with no search run (it was refused)."""
    params = request.query_params
    filters = _filters(params, [])
    network_ids = await permissions.readable_network_ids(request.state.viewer)
    text = str(params.get("q") or "")[:MAX_Q]
    empty = SearchPage(text, 0, 1, 1, [], False, None, [])
    return Search(text, filters, empty, [], [], network_ids)


def _refused_json(exc: SearchRefused) -> Response:
    return JSONResponse(
        {"error": str(exc), "retry_after": exc.retry_after},
        status_code=429,
        headers={"Retry-After": str(exc.retry_after)},
    )


def _json_result(r: Result) -> dict[str, Any]:
    return {
        "title": r.thread.title,
        "url": r.url,
        "network": r.thread.network.slug,
        "kind": r.hit.kind,
        "author": r.hit.author,
        "organisation": r.hit.org_name or None,
        "created": iso(r.hit.created),
        "snippet": str(r.hit.snippet),
        "more_matches": r.hit.more,
    }


async def api(request: Request) -> Response:
    try:
        search = await _search(request)
    except SearchRefused as exc:
        return _refused_json(exc)
    result = search.result
    return JSONResponse(
        {
            "query": search.text,
            "total": result.total,
            "page": result.page,
            "pages": result.pages,
            "suggestion": result.suggestion,
            "any_word": result.any_word,
            # A query this broad searched only the newest posts, from about this time on.
            "searched_since": iso(result.since) if result.since else None,
            # The search ran out of its time budget after this many seconds: the results
            # are what it had found by then (and `total` is how many threads so far).
            "stopped_after": result.stopped_after,
            "notes": search.notes,
            "results": [_json_result(r) for r in search.results],
        }
    )


async def similar_threads(request: Request, title: str) -> list[Result]:
    """Up to five threads the viewer may read that look like `title`; none when the
    client's searches are refused (the form they help with still works)."""
    try:
        return await _similar_threads(request, title)
    except SearchRefused:
        return []


async def _similar_threads(request: Request, title: str) -> list[Result]:
    network_ids = await permissions.readable_network_ids(request.state.viewer)
    service: SearchService = request.app.state.search
    hits = await service.similar_threads(
        title[:200], network_ids=network_ids, client=client_address(request)
    )
    return await _join(hits, network_ids)


async def _similar(request: Request) -> tuple[str, list[Result]]:
    title = str(request.query_params.get("title") or "")[:200]
    return title, await _similar_threads(request, title)


async def similar(request: Request) -> Response:
    try:
        title, results = await _similar(request)
    except SearchRefused as exc:
        context = {"title": "", "results": [], "refused": str(exc)}
        return too_many(request, "search/similar.html", context, exc)
    return render(
        request, "search/similar.html", {"title": title, "results": results, "refused": None}
    )


async def similar_api(request: Request) -> Response:
    try:
        title, results = await _similar(request)
    except SearchRefused as exc:
        return _refused_json(exc)
    return JSONResponse(
        {"title": title, "results": [{"title": r.thread.title, "url": r.url} for r in results]}
    )


async def help_page(request: Request) -> Response:
    return render(request, "search/help.html")
