"""One post: permalink, edit, delete, edit history."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import permissions, ratelimit
from forum.accounts.models import User
from forum.errors import NotFound, PermissionDenied, ValidationError
from forum.networks import queries as network_queries
from forum.networks.models import Network
from forum.threads import queries, services
from forum.threads.models import Post
from forum.web.forms import read_form
from forum.web.limits import edit_rule, preview_rule, too_many
from forum.web.templating import render
from forum.web.urls import post_url


async def load_post(request: Request) -> tuple[Network, Post]:
    """The post named by the path, with its thread and author, if the viewer may read it."""
    network = await network_queries.get_network(
        request.path_params["network"], request.state.viewer
    )
    post = (
        await Post.filter(id=request.path_params["post_id"])
        .select_related("thread", "author__organisation")
        .first()
    )
    if post is None or post.thread.network_id != network.id:
        raise NotFound("no such post")
    post.thread.network = network
    return network, post


async def permalink(request: Request) -> Response:
    try:
        network, post = await load_post(request)
    except NotFound:
        # The post's thread may have moved network, or been merged into another thread.
        found = await Post.filter(id=request.path_params["post_id"]).first()
        moved = await queries.moved_thread(found.thread_id, request.state.viewer) if found else None
        if found is None or moved is None:
            raise
        return RedirectResponse(post_url(found, moved), status_code=301)
    return RedirectResponse(post_url(post, post.thread, network), status_code=303)


def _require_edit(request: Request, network: Network, post: Post, verb: str) -> None:
    viewer = request.state.viewer
    if post.deleted:
        raise PermissionDenied("This post has been deleted.")
    if post.redacted_at is not None:
        raise PermissionDenied("This post's text was redacted.")
    if not permissions.can_edit_post(viewer, post, network):
        raise PermissionDenied(f"You can only {verb} your own posts.")


async def edit_form(request: Request) -> Response:
    network, post = await load_post(request)
    _require_edit(request, network, post, "edit")
    return render(
        request,
        "posts/edit.html",
        {
            "network": network,
            "post": post,
            "thread": post.thread,
            "body": post.body,
            "errors": {},
            "preview": None,
        },
    )


async def edit(request: Request) -> Response:
    network, post = await load_post(request)
    form = await read_form(request)
    _require_edit(request, network, post, "edit")
    body = form.get("body", "")
    limits = request.app.state.settings.limits
    context = {
        "network": network,
        "post": post,
        "thread": post.thread,
        "body": body,
        "preview": None,
    }
    viewer = request.state.viewer
    try:
        if form.get("action") == "preview":
            await ratelimit.hit_all([preview_rule(viewer)])
            context["preview"] = await services.preview(body, limits)
            return render(request, "posts/edit.html", {**context, "errors": {}})
        rule = edit_rule(viewer)
        await ratelimit.check_all([rule])
        await services.edit_post(
            viewer=viewer, post=post, network=network, body=body, limits=limits
        )
        await ratelimit.record_all([rule[0]])
    except ValidationError as exc:
        return render(request, "posts/edit.html", {**context, "errors": exc.errors}, 422)
    except ratelimit.RateLimited as exc:
        return too_many(request, "posts/edit.html", {**context, "errors": {"body": str(exc)}}, exc)
    return RedirectResponse(post_url(post, post.thread, network), status_code=303)


async def delete_form(request: Request) -> Response:
    network, post = await load_post(request)
    _require_edit(request, network, post, "delete")
    return render(
        request, "posts/delete.html", {"network": network, "post": post, "thread": post.thread}
    )


async def delete(request: Request) -> Response:
    network, post = await load_post(request)
    await read_form(request)
    _require_edit(request, network, post, "delete")
    await services.delete_post(viewer=request.state.viewer, post=post, network=network)
    return RedirectResponse(post_url(post, post.thread, network), status_code=303)


async def history(request: Request) -> Response:
    network, post = await load_post(request)
    if (post.deleted or post.hidden) and not permissions.can_moderate(
        request.state.viewer, network
    ):
        raise NotFound("no such post")
    revisions = await queries.post_history(post)
    editor = None
    if post.edited_by_id:
        editor = await User.get_or_none(id=post.edited_by_id)
    return render(
        request,
        "posts/history.html",
        {
            "network": network,
            "post": post,
            "thread": post.thread,
            "revisions": revisions,
            "editor": editor,
        },
    )
