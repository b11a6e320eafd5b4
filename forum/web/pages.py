"""Home and network pages, and the help page for keyboard shortcuts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum import permissions
from forum.accounts import queries as account_queries
from forum.networks import queries as network_queries
from forum.notifications import queries as notification_queries
from forum.threads import queries as thread_queries
from forum.web.templating import render


async def home(request: Request) -> Response:
    viewer = request.state.viewer
    networks = await network_queries.visible_networks(viewer)
    stats = await thread_queries.network_stats([n.id for n in networks])
    return render(request, "home.html", {"networks": networks, "stats": stats})


async def network(request: Request) -> Response:
    viewer = request.state.viewer
    net = await network_queries.get_network(request.path_params["network"], viewer)
    per_page = request.app.state.settings.limits.threads_per_page
    show = request.query_params.get("show", "")
    summarised = {"summarised": True, "awaiting": False}.get(show)
    organisations = await account_queries.all_organisations()
    org = next((o for o in organisations if o.slug == request.query_params.get("org")), None)
    listing = await thread_queries.network_threads(
        net,
        per_page=per_page,
        after=request.query_params.get("after"),
        before=request.query_params.get("before"),
        summarised=summarised,
        organisation_id=org.id if org else None,
    )
    unread = await notification_queries.unread_in(viewer, [t.id for t in listing.threads])
    watch = await notification_queries.watch_level(viewer, net) if viewer.user else None
    # What the viewer can do about belonging here: a waiting request is looked up only for
    # a signed-in visitor who is not a member.
    asking = viewer.user is not None and not viewer.is_member(net)
    pending = await network_queries.pending_request(net, viewer.user_id) if asking else None
    return render(
        request,
        "network.html",
        {
            "network": net,
            "listing": listing,
            "show": show if summarised is not None else "",
            "unread": unread,
            "watch": watch,
            "watch_saved": request.query_params.get("watch") == "saved",
            "organisations": organisations,
            "org": org,
            "pending": pending,
            "can_join": permissions.can_join(viewer, net),
            "can_manage": permissions.can_manage_members(viewer, net),
        },
    )


async def shortcuts(request: Request) -> Response:
    return render(request, "help/shortcuts.html")
