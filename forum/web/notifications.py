"""Notifications, following threads, watching networks, email choices and unsubscribing."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import permissions
from forum.accounts.models import User
from forum.errors import PermissionDenied
from forum.mail import unsubscribe as unsubscribe_links
from forum.networks import queries as network_queries
from forum.notifications import queries, services
from forum.notifications.models import DigestFrequency, FollowLevel, WatchLevel
from forum.threads import queries as thread_queries
from forum.threads.models import Thread
from forum.web.accounts import safe_next
from forum.web.forms import int_or_none, read_form
from forum.web.templating import render
from forum.web.urls import thread_url


def _user(request: Request) -> User:
    user: User | None = request.state.viewer.user
    if user is None:
        raise HTTPException(303, headers={"Location": f"/login?next={request.url.path}"})
    return user


async def page(request: Request) -> Response:
    _user(request)
    number = int_or_none(request.query_params.get("page")) or 1
    listing = await queries.notifications(request.state.viewer, number)
    return render(request, "notifications/list.html", {"listing": listing})


async def read_all(request: Request) -> Response:
    user = _user(request)
    await read_form(request)
    await services.mark_all_read(user=user)
    return RedirectResponse("/notifications", status_code=303)


async def open_one(request: Request) -> Response:
    """Mark a line of the page read (a notification, and those grouped with it) and go to
    what it is about."""
    user = _user(request)
    form = await read_form(request)
    grouped = [int_or_none(i) for i in form.get("with", "").split(",")[: queries.PER_PAGE]]
    ids = [request.path_params["notification_id"], *(i for i in grouped if i is not None)]
    await services.mark_notes_read(user=user, notification_ids=ids)
    return RedirectResponse(safe_next(form.get("next")), status_code=303)


def _signed_in_here(request: Request) -> User:
    """After the network was found readable: anonymous visitors are refused (403)."""
    user: User | None = request.state.viewer.user
    if user is None:
        raise PermissionDenied("Log in to follow threads and choose what networks tell you.")
    return user


async def follow(request: Request) -> Response:
    viewer = request.state.viewer
    network = await network_queries.get_network(request.path_params["network"], viewer)
    thread = await thread_queries.get_thread(network, request.path_params["thread_id"])
    user = _signed_in_here(request)
    form = await read_form(request)
    level = form.get("level", "")
    if level == "none":
        await services.unfollow(user=user, thread=thread)
    elif level in (FollowLevel.FOLLOWING, FollowLevel.MUTED):
        await services.follow(user=user, thread=thread, level=FollowLevel(level))
    else:
        raise HTTPException(400, "Choose to follow, mute or stop following the thread.")
    thread.network = network
    return RedirectResponse(thread_url(thread) + "#follow", status_code=303)


async def watch(request: Request) -> Response:
    viewer = request.state.viewer
    network = await network_queries.get_network(request.path_params["network"], viewer)
    user = _signed_in_here(request)
    form = await read_form(request)
    level = form.get("level", "")
    if level not in {w.value for w in WatchLevel}:
        raise HTTPException(400, "Choose every new thread, summaries only, or nothing.")
    if not (viewer.is_member(network) or viewer.is_admin):
        raise PermissionDenied("Join the network to choose what it tells you about.")
    await services.set_watch(user=user, network=network, level=WatchLevel(level))
    return RedirectResponse(f"/n/{network.slug}?watch=saved#watch", status_code=303)


DIGESTS = [
    (DigestFrequency.DAILY, "Daily"),
    (DigestFrequency.WEEKLY, "Weekly"),
    (DigestFrequency.NEVER, "Never"),
]


async def preferences_form(request: Request) -> Response:
    user = _user(request)
    prefs = await queries.preferences(user.id)
    return render(
        request,
        "notifications/preferences.html",
        {"prefs": prefs, "digests": DIGESTS, "saved": request.query_params.get("saved") == "1"},
    )


async def preferences(request: Request) -> Response:
    user = _user(request)
    form = await read_form(request)
    digest = form.get("digest", DigestFrequency.WEEKLY)
    if digest not in {d.value for d in DigestFrequency}:
        digest = DigestFrequency.WEEKLY
    await services.set_preferences(
        user=user,
        email_replies=form.get("email_replies") == "1",
        email_mentions=form.get("email_mentions") == "1",
        digest=DigestFrequency(digest),
        weeknotes=form.get("weeknotes") == "1",
    )
    return RedirectResponse("/account/notifications?saved=1", status_code=303)


def _token(request: Request) -> tuple[int, str]:
    found = unsubscribe_links.read(request.app.state.secret, request.path_params["token"])
    if found is None:
        raise HTTPException(404, "This unsubscribe link is not valid.")
    return found


async def unsubscribe_form(request: Request) -> Response:
    _, kind = _token(request)
    return render(
        request,
        "notifications/unsubscribe.html",
        {
            "what": unsubscribe_links.KINDS[kind],
            "token": request.path_params["token"],
            "done": False,
        },
    )


async def unsubscribe(request: Request) -> Response:
    """One click, no login (RFC 8058): the signed token is the authority, so this form needs
    no CSRF token (mail programs post `List-Unsubscribe=One-Click` with no cookies)."""
    user_id, kind = _token(request)
    await services.unsubscribe(user_id=user_id, kind=kind)
    return render(
        request,
        "notifications/unsubscribe.html",
        {
            "what": unsubscribe_links.KINDS[kind],
            "token": request.path_params["token"],
            "done": True,
        },
    )


async def thread_state(
    viewer: permissions.Viewer, thread: Thread, last_post_id: int, unread: int
) -> dict[str, object]:
    """For the thread page: the viewer's follow level and the last post they had seen
    before this visit (posts after it are marked new), then the thread marked read."""
    if viewer.user is None:
        return {"follow_level": None, "seen_up_to": None}
    level, seen = await queries.reading(viewer, thread)
    if last_post_id and (seen is None or seen < last_post_id):
        await services.mark_read(
            user=viewer.user,
            thread=thread,
            last_post_id=last_post_id,
            seen=seen,
            unread=unread > 0,
        )
    return {"follow_level": level, "seen_up_to": seen}
