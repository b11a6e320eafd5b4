"""A thread's summary: write or edit (or promote a reply), history and diff, restore, review."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import ratelimit
from forum.errors import NotFound, ValidationError
from forum.knowledge import queries as kb_queries
from forum.knowledge import services
from forum.knowledge.diff import change_counts, word_diff
from forum.networks import queries as network_queries
from forum.threads import queries
from forum.threads.models import Summary, Thread
from forum.web.forms import int_or_none, read_form
from forum.web.limits import edit_rule, preview_rule, too_many
from forum.web.templating import render
from forum.web.urls import thread_url


async def _thread(request: Request) -> Thread:
    network = await network_queries.get_network(
        request.path_params["network"], request.state.viewer
    )
    return await queries.get_thread(network, request.path_params["thread_id"])


async def _facilitated_thread(request: Request) -> Thread:
    thread = await _thread(request)
    services.require_facilitator(request.state.viewer, thread)
    return thread


async def edit_form(request: Request) -> Response:
    """The summary form: the current text, or a reply's text to promote (`?from=post id`)."""
    thread = await _facilitated_thread(request)
    summary = await Summary.filter(thread_id=thread.id).first()
    context: dict[str, Any] = {
        "thread": thread,
        "network": thread.network,
        "summary": summary,
        "body": summary.body if summary else "",
        "source": None,
        "errors": {},
        "preview": None,
    }
    source_id = int_or_none(request.query_params.get("from"))
    if source_id is not None:
        try:
            source = await services.source_post(thread, source_id)
        except ValidationError as exc:
            return render(request, "summaries/edit.html", {**context, "errors": exc.errors}, 422)
        assert source is not None
        context["source"] = source
        context["body"] = source.body
    return render(request, "summaries/edit.html", context)


async def save(request: Request) -> Response:
    thread = await _thread(request)
    form = await read_form(request)  # the CSRF check comes first, whoever is asking
    viewer = request.state.viewer
    services.require_facilitator(viewer, thread)
    body = form.get("body", "")
    raw_source = form.get("source", "").strip()
    source_id = int_or_none(raw_source)
    limits = request.app.state.settings.limits
    context: dict[str, Any] = {
        "thread": thread,
        "network": thread.network,
        "summary": await Summary.filter(thread_id=thread.id).first(),
        "body": body,
        "source": None,
        "preview": None,
    }
    try:
        if raw_source and source_id is None:
            raise ValidationError(
                {"body": "The reply to promote is not a live post of this thread."}
            )
        context["source"] = await services.source_post(thread, source_id)
        if form.get("action") == "preview":
            await ratelimit.hit_all([preview_rule(viewer)])
            context["preview"] = await services.preview(body, limits)
            return render(request, "summaries/edit.html", {**context, "errors": {}})
        rule = edit_rule(viewer)
        await ratelimit.check_all([rule])
        await services.write_summary(
            viewer=viewer,
            thread=thread,
            body=body,
            source_post_id=source_id,
            limits=limits,
        )
        await ratelimit.record_all([rule[0]])
    except ValidationError as exc:
        return render(request, "summaries/edit.html", {**context, "errors": exc.errors}, 422)
    except ratelimit.RateLimited as exc:
        errors = {"body": str(exc)}
        return too_many(request, "summaries/edit.html", {**context, "errors": errors}, exc)
    return RedirectResponse(thread_url(thread) + "#summary", status_code=303)


async def history(request: Request) -> Response:
    """Every version, and the difference between any two (`?from=2&to=5`; the default is the
    last change). Readable by anyone who can read the thread."""
    thread = await _thread(request)
    summary = await Summary.filter(thread_id=thread.id).first()
    if summary is None:
        raise NotFound("this thread has no summary")
    versions = await kb_queries.summary_versions(summary)
    last = len(versions)
    old = int_or_none(request.query_params.get("from")) or max(1, last - 1)
    new = int_or_none(request.query_params.get("to")) or last
    old, new = min(max(old, 1), last), min(max(new, 1), last)
    if old > new:
        old, new = new, old
    a, b = versions[old - 1], versions[new - 1]
    added, removed = change_counts(a.body, b.body)
    return render(
        request,
        "summaries/history.html",
        {
            "thread": thread,
            "network": thread.network,
            "versions": list(reversed(versions)),
            "old": a,
            "new": b,
            "diff": word_diff(a.body, b.body),
            "added": added,
            "removed": removed,
            "can_moderate": services.can_facilitate(request.state.viewer, thread),
        },
    )


async def restore(request: Request) -> Response:
    thread = await _thread(request)
    form = await read_form(request)
    services.require_facilitator(request.state.viewer, thread)
    version = int_or_none(form.get("version"))
    if version is None:
        raise ValidationError({"version": "Choose a version to restore."})
    await services.restore_version(
        viewer=request.state.viewer,
        thread=thread,
        version=version,
        limits=request.app.state.settings.limits,
    )
    return RedirectResponse(thread_url(thread) + "#summary", status_code=303)


async def reviewed(request: Request) -> Response:
    thread = await _thread(request)
    await read_form(request)
    services.require_facilitator(request.state.viewer, thread)
    await services.mark_reviewed(viewer=request.state.viewer, thread=thread)
    return RedirectResponse(thread_url(thread) + "#summary", status_code=303)
