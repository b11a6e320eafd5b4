"""Organisation pages: who works there, and what they have said lately where the viewer may
read it (members-only networks' posts only for their members)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum import permissions
from forum.accounts import queries
from forum.threads import queries as thread_queries
from forum.web.templating import render


async def organisation(request: Request) -> Response:
    org = await queries.get_organisation(request.path_params["organisation"])
    network_ids = await permissions.readable_network_ids(request.state.viewer)
    return render(
        request,
        "organisation.html",
        {
            "organisation": org,
            "people": await queries.organisation_people(org),
            "posts": await thread_queries.recent_posts_by_organisation(org.id, network_ids),
        },
    )
