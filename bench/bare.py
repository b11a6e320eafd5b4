"""The limit for a thread page: the forum's own template, rendered by a bare Starlette app.

    .venv/bin/python bench/bare.py --port N PATH [PATH ...]

Reads the forum's settings from the environment as `forum serve` does (FORUM_DATABASE_URL
and the rest). At start it loads once, for an anonymous visitor, what the forum's thread page
loads for each thread PATH (`/n/<network>/t/<id>-<slug>`), with the function that
`forum.web.threads.show` uses (`threads.page_context`), and closes the database. Then it
serves those PATHs: Starlette, one route, no middleware, no database,
`templates/threads/thread.html` rendered by the forum's Jinja2 environment from the objects
in memory. `bench/http_load.py` runs it beside the forum and reports the forum's thread page
as a share of this one's throughput.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from forum import db, permissions
from forum.config import Settings, load_settings
from forum.threads import reading
from forum.web import threads
from forum.web.security import csrf_token
from forum.web.templating import make_templates
from forum.web.urls import parse_thread_path


async def thread_context(settings: Settings, path: str) -> dict[str, Any]:
    """What `forum.web.threads.show` and `templating.render` put in the template's context,
    for an anonymous visitor, loaded by the same function."""
    _, n, slug, t, rest = path.split("/")
    if (n, t) != ("n", "t"):
        raise ValueError(f"{path}: expected /n/<network>/t/<id>-<slug>")
    viewer = await permissions.viewer_for(None)
    thread_id, _ = parse_thread_path(rest)
    view = await reading.thread_view(thread_id)
    if (
        view is None
        or view.head.network.slug != slug
        or not permissions.can_read(viewer, view.head.network)
    ):
        raise ValueError(f"{path}: no such thread for an anonymous visitor")
    return {
        # templating.render's part
        "viewer": viewer,
        "csrf_token": csrf_token("bare", "bare"),
        "site": settings.site,
        "limits": settings.limits,
        "unread_notifications": 0,
        # threads.show's part
        **await threads.page_context(viewer, view, 0),
    }


def create_app(settings: Settings, paths: list[str]) -> Starlette:
    templates = make_templates()
    pages: dict[str, dict[str, Any]] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with db.opened(settings):
            for path in paths:
                pages[path] = await thread_context(settings, path)
        yield  # the database is closed: from here on, everything is in memory

    async def thread(request: Request) -> Response:
        context = pages.get(request.url.path)
        if context is None:
            return PlainTextResponse("not one of the preloaded pages", status_code=404)
        return templates.TemplateResponse(request, "threads/thread.html", context)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[Route("/healthz", healthz), Route("/n/{network}/t/{thread}", thread)],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a thread page's path")
    args = parser.parse_args()
    app = create_app(load_settings(), args.paths)
    # As `forum serve` runs uvicorn, less what the forum adds (its request log, proxy headers).
    uvicorn.run(app, host="127.0.0.1", port=args.port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
