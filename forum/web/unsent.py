"""What a member wrote is never lost because a page expired or a session ended.

A post, reply, edit or summary sent from a page whose CSRF token no longer matches (the
member logged in or out in another tab), or after the session ended while it was being
written (idle, logged out elsewhere, a new password), cannot be accepted as it stands.
Instead of a refusal that drops the text:

- signed in, the text comes back in a form with a fresh token, to check and send again;
- signed out, the login page carries it (`unsent.` fields), and once logged in it comes
  back the same way.

Nothing is ever sent without the member pressing the button on a page that shows every
field, exactly as a form filled in from a link would be; and only these four forms, whose
every field is shown, are carried (a refused admin action is never offered again).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from forum.errors import NotFound
from forum.networks import queries as network_queries
from forum.permissions import Viewer
from forum.threads.models import Post, Thread
from forum.web.forms import csrf_ok, form_fields
from forum.web.templating import render

PREFIX = "unsent."

# The forms whose text is carried: where they post, the fields each shows, its button, and
# what it is ("{}": the thread's title; the network's name for a new thread).
_NET = r"^/n/(?P<network>[^/]{1,100})"
_THREAD = r"(?P<thread>[0-9]{1,9})"
FORMS: tuple[tuple[re.Pattern[str], tuple[str, ...], str, str], ...] = (
    (re.compile(rf"{_NET}/new$"), ("title", "body", "tags"), "Start thread", "A new thread in {}"),
    (
        re.compile(rf"{_NET}/t/{_THREAD}/reply$"),
        ("body", "parent"),
        "Post reply",
        "Your reply to “{}”",
    ),
    (
        re.compile(rf"{_NET}/p/(?P<post>[0-9]{{1,9}})/edit$"),
        ("body",),
        "Save changes",
        "Your edit of a post in “{}”",
    ),
    (
        re.compile(rf"{_NET}/t/{_THREAD}/summary$"),
        ("body", "source"),
        "Save summary",
        "The summary of “{}”",
    ),
)


@dataclass(frozen=True, slots=True)
class Unsent:
    action: str  # where the form posts
    fields: dict[str, str]  # the form's own fields, only those it shows
    button: str
    about: str  # what it is, "{}" standing for the thread's title (the network's name)
    names: dict[str, str]  # from `action`: the network's slug, the thread's or post's id

    def get(self, name: str) -> str:
        return self.fields.get(name, "")


def unsent(action: str, form: Mapping[str, str], prefix: str = "") -> Unsent | None:
    """The text of a form posted to `action` (its fields named with `prefix`), if it is one
    of the carried forms and holds anything."""
    for pattern, names, button, about in FORMS:
        match = pattern.match(action)
        if match:
            fields = {name: form.get(prefix + name, "") for name in names}
            if not any(fields.get(name) for name in ("title", "body")):
                return None
            return Unsent(action, fields, button, about, match.groupdict())
    return None


def carried(form: Mapping[str, str]) -> Unsent | None:
    """The unsent text a login form carries, if any."""
    return unsent(form.get(PREFIX + "action", ""), form, PREFIX)


async def _about(text: Unsent, viewer: Viewer) -> str | None:
    """What the text is for ("Your reply to “Budgets”"), if the viewer may read it now."""
    try:
        network = await network_queries.get_network(text.names["network"], viewer)
    except NotFound:
        return None
    thread_id: int | None = None
    if text.names.get("thread"):
        thread_id = int(text.names["thread"])
    elif text.names.get("post"):
        post = await Post.get_or_none(id=int(text.names["post"]), thread__network_id=network.id)
        if post is None:
            return None
        thread_id = post.thread_id
    if thread_id is None:
        return text.about.format(network.name)
    thread = await Thread.get_or_none(id=thread_id, network_id=network.id)
    return text.about.format(thread.title) if thread else None


async def page(request: Request, text: Unsent, *, again: bool, status_code: int) -> Response:
    """The form again with the text in it: `again` after logging in, else after a page had
    expired."""
    about = await _about(text, request.state.viewer)
    context = {"unsent": text, "again": again, "about": about}
    return render(request, "unsent.html", context, status_code=status_code)


def keeps_unsent(
    endpoint: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """For the routes of the carried forms: a POST that cannot be accepted because its page
    expired or its session ended gets its text back, before the endpoint refuses it."""

    async def checked(request: Request) -> Response:
        viewer = request.state.viewer
        data = await form_fields(request)
        if viewer.user is not None and csrf_ok(request, data):
            return await endpoint(request)
        text = unsent(request.url.path, data)
        if text is None:
            return await endpoint(request)
        if viewer.user is not None:
            return await page(request, text, again=False, status_code=403)
        from forum.web.accounts import login_page

        return login_page(request, next_url=request.url.path, unsent=text, status_code=401)

    return checked
