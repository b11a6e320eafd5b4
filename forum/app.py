"""create_app(settings): the whole application on one screen."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware

from forum import background, db, rendering
from forum.config import Settings, load_settings, secret_key
from forum.search import indexer as search_indexer
from forum.search.service import SearchService
from forum.web.errors import HANDLERS
from forum.web.requestlog import RequestLogMiddleware
from forum.web.routes import ROUTES
from forum.web.security import SecurityHeadersMiddleware, SessionMiddleware
from forum.web.templating import make_templates


def create_app(settings: Settings | None = None, *, manage_db: bool = True) -> Starlette:
    """Build the ASGI app. With manage_db False the caller (a test) owns the ORM connection."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_db:
            await db.init(settings)
            settle_gc()
        # Renders from requests go to worker processes (started when first needed).
        rendering.start(settings.limits)
        stop = asyncio.Event()
        indexer = None
        if manage_db and settings.search.run_indexer == "auto":
            indexer = asyncio.create_task(search_indexer.run(settings.index_dir, stop))
        # Every process does the background work (mail, digests, pruning): claims and
        # leases in the database keep any of it from being done twice.
        mailer = asyncio.create_task(background.run(settings, stop)) if manage_db else None
        try:
            yield
        finally:
            stop.set()
            if indexer is not None:
                await indexer
            if mailer is not None:
                await background.finish(mailer)
            app.state.search.close()
            rendering.stop()
            if manage_db:
                await db.close()

    app = Starlette(
        routes=ROUTES,
        # No compression of pages: CSRF tokens beside reflected text invite BREACH.
        middleware=[
            Middleware(RequestLogMiddleware, fmt=settings.server.log_format),
            Middleware(SecurityHeadersMiddleware),
            Middleware(SessionMiddleware),
        ],
        exception_handlers=HANDLERS,
        lifespan=lifespan,
        max_body_size=settings.server.max_body_bytes,
    )
    app.state.settings = settings
    app.state.secret = secret_key(settings)
    app.state.templates = make_templates()
    app.state.search = SearchService(settings.index_dir, settings.search)
    return app


# A page makes thousands of short-lived containers (rows, models, template state). With the
# default threshold of 700 allocations the youngest generation is collected several times
# per page and the oldest, which holds every module, class and template of the app, often;
# measured on the thread page, that was a tenth of its time. Whatever the app holds at
# start is frozen (never scanned again) and collections are rarer; the cycles a request
# leaves are still collected.
GC_THRESHOLDS = (20_000, 20, 20)


def settle_gc() -> None:
    """Called once the app has started (`forum serve`; `bench/page_profile.py` too)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def configure_logging() -> None:
    """Show the forum's own messages (warnings, and the links of mail written to the mail
    folder) on stderr, once per process."""
    logger = logging.getLogger("forum")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:  [%(name)s] %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def asgi() -> Starlette:
    """Factory for `uvicorn --factory forum.app:asgi` (reads config.toml and the environment)."""
    configure_logging()
    return create_app()
