"""Reading forms safely: size-limited, CSRF-checked, text only."""

from __future__ import annotations

import re

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from forum.web.security import csrf_valid

CSRF_FIELD = "csrf_token"
# At most nine digits, as the routes' ids: a bigger number would overflow PostgreSQL's
# integer columns, so it is no id (and no page) at all.
_DIGITS = re.compile(r"^[0-9]{1,9}$")


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form's text fields, the first value of each name, CSRF not yet checked.
    Raises HTTPException 400 if it cannot be read."""
    try:
        form = await request.form(max_files=0, max_fields=100)
    except (MultiPartException, UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(400, f"The form could not be read: {exc}") from None
    except HTTPException:
        raise
    data: dict[str, str] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            continue
        data.setdefault(key, value)
    return data


def csrf_ok(request: Request, data: dict[str, str]) -> bool:
    """Whether the form's token matches this browser's CSRF cookie."""
    return csrf_valid(request.app.state.secret, request.state.csrf_cookie, data.get(CSRF_FIELD))


async def read_form(request: Request) -> dict[str, str]:
    """The posted form's text fields. Raises HTTPException 400 if it cannot be read, 403
    if the CSRF token is missing or wrong."""
    data = await form_fields(request)
    if not csrf_ok(request, data):
        raise HTTPException(
            403,
            "This form has expired or did not come from this site. "
            "Go back, reload the page and try again.",
        )
    return data


async def form_values(request: Request, name: str) -> list[str]:
    """Every value of a field that repeats (checkboxes sharing a name), after `read_form` has
    read and checked the form (`read_form` keeps the first value of each)."""
    form = await request.form()
    return [value for value in form.getlist(name) if isinstance(value, str)]


def int_or_none(value: str | None) -> int | None:
    """A positive whole number from a form or query string, else None."""
    if value is None or not _DIGITS.match(value.strip()):
        return None
    return int(value.strip())
