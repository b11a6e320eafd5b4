"""Error pages: every refusal is a page that says what went wrong, never a stack trace."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from tortoise.exceptions import ValidationError as OrmValidationError

from forum.errors import Conflict, NotFound, PermissionDenied, ValidationError
from forum.permissions import ANONYMOUS

log = logging.getLogger("forum")

TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Could not accept that",
    429: "Too many requests",
    500: "Something went wrong",
}


def error_page(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    # The session middleware may not have run (an error before it): fall back to anonymous.
    if not hasattr(request.state, "viewer"):
        request.state.viewer = ANONYMOUS
    if not hasattr(request.state, "csrf_cookie"):
        request.state.csrf_cookie = ""
    from forum.web.templating import render

    try:
        return render(
            request,
            "error.html",
            {"status": status, "title": TITLES.get(status, "Error"), "message": message},
            status_code=status,
        )
    except Exception:  # the error page itself must not fail
        log.exception("error page failed")
        return PlainTextResponse(message, status_code=status)


async def http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if 300 <= exc.status_code < 400 and exc.headers and "Location" in exc.headers:
        return RedirectResponse(exc.headers["Location"], status_code=exc.status_code)
    if exc.status_code == 404 and exc.detail in (None, "Not Found"):
        message = "There is nothing at this address. It may have moved, or never existed."
    else:
        message = str(exc.detail)
    response = error_page(request, exc.status_code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def not_found(request: Request, exc: Exception) -> Response:
    return error_page(
        request, 404, "There is nothing at this address. It may have moved, or never existed."
    )


async def permission_denied(request: Request, exc: Exception) -> Response:
    return error_page(request, 403, str(exc) or "You cannot do that here.")


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    return error_page(request, 422, " ".join(exc.errors.values()))


async def conflict(request: Request, exc: Exception) -> Response:
    return error_page(request, 409, str(exc))


async def bad_value(request: Request, exc: Exception) -> Response:
    # A value the ORM refused (too long for its column): a refusal, not a crash. Services
    # validate first; this is the net under them.
    log.warning("value refused by the ORM on %s: %s", request.url.path, exc)
    return error_page(request, 400, "Part of what was sent is too long or not valid.")


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_page(
        request, 500, "Something went wrong on our side. Please try again in a moment."
    )


HANDLERS = {
    HTTPException: http_exception,
    NotFound: not_found,
    PermissionDenied: permission_denied,
    ValidationError: validation_error,
    Conflict: conflict,
    OrmValidationError: bad_value,
    Exception: server_error,
}
