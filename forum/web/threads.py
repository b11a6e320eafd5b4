"""Thread pages: read, start and reply."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import permissions, ratelimit
from forum.errors import NotFound, PermissionDenied, ValidationError
from forum.knowledge import queries as kb_queries
from forum.networks import queries as network_queries
from forum.networks.models import Network
from forum.threads import queries, reading, services
from forum.threads.models import Post, Thread
from forum.web import notifications
from forum.web.forms import int_or_none, read_form
from forum.web.limits import posting_rule, preview_rule, too_many
from forum.web.search import similar_threads
from forum.web.templating import render
from forum.web.urls import parse_thread_path, post_url, thread_url


async def _network(request: Request) -> Network:
    return await network_queries.get_network(request.path_params["network"], request.state.viewer)


async def show(request: Request) -> Response:
    viewer = request.state.viewer
    thread_id, slug = parse_thread_path(request.path_params["thread"])
    # The thread with its network, tags, summary and posts (kept until the change log
    # moves); what the URL names is checked against it. Anything else (a thread moved,
    # merged or renamed since the link was made, a network the viewer may not read, no
    # such thread) goes the long way.
    view = await reading.thread_view(thread_id)
    if (
        view is None
        or view.head.network.slug != request.path_params["network"]
        or not permissions.can_read(viewer, view.head.network)
        or slug != view.head.thread.slug
    ):
        network = await _network(request)
        thread = await queries.locate_thread(network, thread_id, viewer, with_tags=False)
        if thread.id != thread_id or thread.network_id != network.id or slug != thread.slug:
            return RedirectResponse(thread_url(thread), status_code=301)
        view = await reading.thread_view(thread.id)  # created since the first look
        if view is None or not permissions.can_read(viewer, view.head.network):
            raise NotFound("no such thread")
    context = await page_context(viewer, view, request.state.unread_notifications)
    return render(request, "threads/thread.html", context)


async def page_context(
    viewer: permissions.Viewer, view: reading.ThreadView, unread_notifications: int
) -> dict[str, Any]:
    """What the thread page's template is given (besides what `render` adds). Also what
    `bench/bare.py` renders from memory, so that the two pages are the same."""
    head, nodes = view.head, view.nodes
    network, thread, tags = head.network, head.thread, head.tags
    posts = [node.post for node in nodes]
    summary = reading.summary_of(head, posts)
    article = kb_queries.page_article(summary, tags, posts) if summary else None
    last_post_id = max((node.post.id for node in nodes), default=0)
    state = await notifications.thread_state(viewer, thread, last_post_id, unread_notifications)
    seen = state["seen_up_to"]
    first_unread = (
        next((n.post.id for n in nodes if n.post.id > seen and not n.post.deleted), None)
        if isinstance(seen, int)
        else None
    )
    return {
        **state,
        "first_unread": first_unread,
        "network": network,
        "thread": thread,
        "nodes": nodes,
        "tags": tags,
        "article": article,
        "can_reply": permissions.can_reply(viewer, thread, network),
        "can_moderate": permissions.can_moderate(viewer, network),
        "can_flag": permissions.can_post(viewer, network),
        "body": "",
        "errors": {},
    }


def _require_login(request: Request) -> None:
    if request.state.viewer.user is None:
        raise HTTPException(303, headers={"Location": f"/login?next={request.url.path}"})


async def new_form(request: Request) -> Response:
    network = await _network(request)
    _require_login(request)
    permissions.require_post(request.state.viewer, network)
    return render(
        request,
        "threads/new.html",
        {
            "network": network,
            "title": "",
            "body": "",
            "tags": "",
            "errors": {},
            "preview": None,
            "similar": [],
        },
    )


async def create(request: Request) -> Response:
    network = await _network(request)
    form = await read_form(request)
    viewer = request.state.viewer
    _require_login(request)
    permissions.require_post(viewer, network)
    title, body, tags = form.get("title", ""), form.get("body", ""), form.get("tags", "")
    limits = request.app.state.settings.limits
    context: dict[str, Any] = {
        "network": network,
        "title": title,
        "body": body,
        "tags": tags,
        "preview": None,
        "similar": [],
    }
    try:
        if form.get("action") == "preview":
            # Before a duplicate is started: threads that look like the same question.
            context["similar"] = await similar_threads(request, title)
            services.validate_thread(title=title, body=body, tags=tags, limits=limits)
            await ratelimit.hit_all([preview_rule(viewer)])
            context["preview"] = await services.preview(body, limits)
            return render(request, "threads/new.html", {**context, "errors": {}})
        # Only posts that were accepted count towards the limit.
        rule = posting_rule(viewer)
        await ratelimit.check_all([rule])
        thread = await services.create_thread(
            viewer=viewer, network=network, title=title, body=body, tags=tags, limits=limits
        )
        await ratelimit.record_all([rule[0]])
    except ValidationError as exc:
        return render(request, "threads/new.html", {**context, "errors": exc.errors}, 422)
    except ratelimit.RateLimited as exc:
        return too_many(request, "threads/new.html", {**context, "errors": {"body": str(exc)}}, exc)
    return RedirectResponse(thread_url(thread, network), status_code=303)


async def _reply_target(thread: Thread, parent_id: int | None) -> Post | None:
    if parent_id is None:
        return None
    parent = (
        await Post.filter(id=parent_id, thread_id=thread.id)
        .select_related("author__organisation")
        .first()
    )
    if parent is None:
        raise ValidationError({"parent": "The post you are replying to is not in this thread."})
    return parent


def _quote(post: Post) -> str:
    lines = post.body.strip().splitlines() or [""]
    quoted = "\n".join(f"> {line}" if line else ">" for line in lines)
    return f"@{post.author.username} wrote:\n\n{quoted}\n\n"


async def reply_form(request: Request) -> Response:
    network = await _network(request)
    thread = await queries.get_thread(network, request.path_params["thread_id"])
    _require_login(request)
    viewer = request.state.viewer
    permissions.require_post(viewer, network)
    if not permissions.can_reply(viewer, thread, network):
        raise PermissionDenied("This thread is locked: no new replies can be added.")
    parent = await _reply_target(thread, int_or_none(request.query_params.get("to")))
    body = ""
    if parent is not None and request.query_params.get("quote") and not parent.withdrawn:
        body = _quote(parent)
    return render(
        request,
        "threads/reply.html",
        {
            "network": network,
            "thread": thread,
            "parent": parent,
            "body": body,
            "errors": {},
            "preview": None,
        },
    )


async def reply(request: Request) -> Response:
    network = await _network(request)
    thread = await queries.get_thread(network, request.path_params["thread_id"])
    form = await read_form(request)
    _require_login(request)
    viewer = request.state.viewer
    body = form.get("body", "")
    raw_parent = form.get("parent", "").strip()
    parent_id = int_or_none(raw_parent)
    context: dict[str, Any] = {
        "network": network,
        "thread": thread,
        "parent": None,
        "body": body,
        "preview": None,
    }
    limits = request.app.state.settings.limits
    try:
        if raw_parent and parent_id is None:
            raise ValidationError({"parent": "The post you are replying to is not in this thread."})
        context["parent"] = await _reply_target(thread, parent_id)
        if form.get("action") == "preview":
            await ratelimit.hit_all([preview_rule(viewer)])
            context["preview"] = await services.preview(body, limits)
            return render(request, "threads/reply.html", {**context, "errors": {}})
        rule = posting_rule(viewer)
        await ratelimit.check_all([rule])
        post = await services.reply(
            viewer=viewer, thread=thread, body=body, parent_id=parent_id, limits=limits
        )
        await ratelimit.record_all([rule[0]])
    except ValidationError as exc:
        return render(request, "threads/reply.html", {**context, "errors": exc.errors}, 422)
    except ratelimit.RateLimited as exc:
        errors = {"body": str(exc)}
        return too_many(request, "threads/reply.html", {**context, "errors": errors}, exc)
    except PermissionDenied as exc:
        return render(request, "threads/reply.html", {**context, "errors": {"body": str(exc)}}, 403)
    return RedirectResponse(post_url(post, thread, network), status_code=303)
