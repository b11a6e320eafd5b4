"""The route table: every URL the forum answers, in one place."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from forum.config import ROOT
from forum.web import (
    accounts,
    admin,
    admin_accounts,
    api,
    curation,
    feeds,
    health,
    kb,
    membership,
    metrics,
    moderation,
    notifications,
    organisations,
    pages,
    posts,
    register,
    search,
    sessions,
    summaries,
    threads,
    weeknotes,
)
from forum.web.unsent import keeps_unsent


class IdConvertor(Convertor[int]):
    """A database id: at most 9 digits, so an absurd number is a 404, not an overflow."""

    regex = "[0-9]{1,9}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())

NET = "/n/{network}"

ROUTES: list[BaseRoute] = [
    Route("/", pages.home, name="home"),
    Route("/healthz", health.healthz, name="healthz"),
    Route("/readyz", health.readyz, name="readyz"),
    Route("/metrics", metrics.metrics, name="metrics"),
    Route("/login", accounts.login_form, methods=["GET"], name="login"),
    Route("/login", accounts.login, methods=["POST"], name="login_post"),
    Route("/logout", accounts.logout, methods=["POST"], name="logout"),
    Route("/register", register.register_form, methods=["GET"], name="register"),
    Route("/register", register.register, methods=["POST"], name="register_post"),
    Route("/verify/resend", register.resend, methods=["POST"], name="verify_resend"),
    Route("/verify/{key}", register.verify_form, methods=["GET"], name="verify"),
    Route("/verify/{key}", register.verify, methods=["POST"], name="verify_post"),
    Route("/invite/{key}", register.invitation_form, methods=["GET"], name="invitation"),
    Route("/invite/{key}", register.accept_invitation, methods=["POST"], name="invitation_post"),
    Route("/password/forgot", register.forgot_form, methods=["GET"], name="password_forgot"),
    Route("/password/forgot", register.forgot, methods=["POST"], name="password_forgot_post"),
    Route("/password/reset/{key}", register.reset_form, methods=["GET"], name="password_reset"),
    Route("/password/reset/{key}", register.reset, methods=["POST"], name="password_reset_post"),
    Route("/notifications", notifications.page, name="notifications"),
    Route(
        "/notifications/read-all",
        notifications.read_all,
        methods=["POST"],
        name="notifications_read_all",
    ),
    Route(
        "/notifications/{notification_id:id}/open",
        notifications.open_one,
        methods=["POST"],
        name="notification_open",
    ),
    Route(
        "/account/notifications",
        notifications.preferences_form,
        methods=["GET"],
        name="preferences",
    ),
    Route(
        "/account/notifications",
        notifications.preferences,
        methods=["POST"],
        name="preferences_post",
    ),
    Route("/unsubscribe/{token}", notifications.unsubscribe_form, methods=["GET"], name="unsub"),
    Route("/unsubscribe/{token}", notifications.unsubscribe, methods=["POST"], name="unsub_post"),
    Route(NET + "/watch", notifications.watch, methods=["POST"], name="network_watch"),
    Route(
        NET + "/t/{thread_id:id}/follow",
        notifications.follow,
        methods=["POST"],
        name="thread_follow",
    ),
    # Weeknotes: a network's, and the site-wide ones of the public networks.
    *[
        route
        for prefix, tag in ((NET + "/weeknotes", "weeknote"), ("/weeknotes", "site_weeknote"))
        for route in (
            Route(prefix, weeknotes.index, name=f"{tag}s"),
            Route(prefix + "/draft", weeknotes.draft, methods=["POST"], name=f"{tag}_draft"),
            Route(prefix + "/{weeknote_id:id}/edit", weeknotes.edit_form, name=f"{tag}_edit_form"),
            Route(
                prefix + "/{weeknote_id:id}/edit",
                weeknotes.edit,
                methods=["POST"],
                name=f"{tag}_edit",
            ),
            Route(
                prefix + "/{weeknote_id:id}/publish",
                weeknotes.publish,
                methods=["POST"],
                name=f"{tag}_publish",
            ),
            Route(
                prefix + "/{weeknote_id:id}/delete",
                weeknotes.discard,
                methods=["POST"],
                name=f"{tag}_delete",
            ),
            Route(prefix + "/{weeknote}", weeknotes.show, name=tag),
        )
    ],
    Route("/account", register.account, methods=["GET"], name="account"),
    Route("/account/profile", register.account_profile, methods=["POST"], name="account_profile"),
    Route("/account/email", register.account_email, methods=["POST"], name="account_email"),
    Route(
        "/account/password", register.account_password, methods=["POST"], name="account_password"
    ),
    Route("/u/{username}", accounts.profile, name="profile"),
    # The signed-in user's own sessions.
    Route("/account/sessions", sessions.page, methods=["GET"], name="account_sessions"),
    Route(
        "/account/sessions/end-others",
        sessions.end_others,
        methods=["POST"],
        name="account_sessions_end_others",
    ),
    Route(
        "/account/sessions/{session_id:id}/end",
        sessions.end,
        methods=["POST"],
        name="account_session_end",
    ),
    # The signed-in user's private feed key.
    Route("/account/feeds", feeds.account_page, methods=["GET"], name="account_feeds"),
    Route("/account/feeds/token", feeds.create_key, methods=["POST"], name="account_feeds_token"),
    Route(
        "/account/feeds/token/revoke",
        feeds.revoke_keys,
        methods=["POST"],
        name="account_feeds_revoke",
    ),
    # Atom feeds (members-only networks': for members, or with a private key).
    Route(NET + "/threads.atom", feeds.threads, name="threads_feed"),
    Route(NET + "/t/{thread_id:id}/replies.atom", feeds.replies, name="replies_feed"),
    Route(NET + "/kb.atom", feeds.kb, name="kb_feed"),
    Route(NET + "/weeknotes.atom", feeds.network_weeknotes, name="weeknotes_feed"),
    Route("/weeknotes.atom", feeds.site_weeknotes, name="site_weeknotes_feed"),
    Route("/o/{organisation}", organisations.organisation, name="organisation"),
    Route("/networks", membership.networks, name="networks"),
    Route(NET, pages.network, name="network"),
    # Belonging to a network: join, ask to join, leave; facilitators manage the members.
    Route(NET + "/join", membership.join, methods=["POST"], name="network_join"),
    Route(NET + "/request", membership.request_form, methods=["GET"], name="join_request_form"),
    Route(NET + "/request", membership.request_join, methods=["POST"], name="join_request"),
    Route(
        NET + "/request/withdraw",
        membership.withdraw,
        methods=["POST"],
        name="join_request_withdraw",
    ),
    Route(NET + "/leave", membership.leave, methods=["POST"], name="network_leave"),
    Route(NET + "/members", membership.members, methods=["GET"], name="members"),
    Route(NET + "/members/add", membership.add, methods=["POST"], name="member_add"),
    Route(NET + "/members/invite", membership.invite, methods=["POST"], name="member_invite"),
    Route(
        NET + "/members/{user_id:id}/remove",
        membership.remove,
        methods=["POST"],
        name="member_remove",
    ),
    Route(
        NET + "/members/{user_id:id}/role", membership.role, methods=["POST"], name="member_role"
    ),
    Route(
        NET + "/requests/{request_id:id}/approve",
        membership.approve,
        methods=["POST"],
        name="request_approve",
    ),
    Route(
        NET + "/requests/{request_id:id}/decline",
        membership.decline,
        methods=["POST"],
        name="request_decline",
    ),
    Route(NET + "/new", threads.new_form, methods=["GET"], name="thread_new"),
    Route(NET + "/new", keeps_unsent(threads.create), methods=["POST"], name="thread_create"),
    Route(NET + "/t/{thread}", threads.show, name="thread"),
    Route(NET + "/t/{thread_id:id}/reply", threads.reply_form, methods=["GET"], name="reply_form"),
    Route(
        NET + "/t/{thread_id:id}/reply", keeps_unsent(threads.reply), methods=["POST"], name="reply"
    ),
    # Curating threads (facilitators and admins).
    Route(NET + "/t/{thread_id:id}/pin", curation.pin, methods=["POST"], name="thread_pin"),
    Route(
        NET + "/t/{thread_id:id}/lock", curation.lock_form, methods=["GET"], name="thread_lock_form"
    ),
    Route(NET + "/t/{thread_id:id}/lock", curation.lock, methods=["POST"], name="thread_lock"),
    Route(
        NET + "/t/{thread_id:id}/tags", curation.tags_form, methods=["GET"], name="thread_tags_form"
    ),
    Route(NET + "/t/{thread_id:id}/tags", curation.tags, methods=["POST"], name="thread_tags"),
    Route(
        NET + "/t/{thread_id:id}/rename",
        curation.rename_form,
        methods=["GET"],
        name="thread_rename_form",
    ),
    Route(
        NET + "/t/{thread_id:id}/rename", curation.rename, methods=["POST"], name="thread_rename"
    ),
    Route(
        NET + "/t/{thread_id:id}/move", curation.move_form, methods=["GET"], name="thread_move_form"
    ),
    Route(NET + "/t/{thread_id:id}/move", curation.move, methods=["POST"], name="thread_move"),
    Route(
        NET + "/t/{thread_id:id}/merge",
        curation.merge_form,
        methods=["GET"],
        name="thread_merge_form",
    ),
    Route(NET + "/t/{thread_id:id}/merge", curation.merge, methods=["POST"], name="thread_merge"),
    # Site administration (admins only; 404 for everyone else).
    Route("/admin", admin.overview, name="admin"),
    Route("/admin/audit", admin.audit, name="admin_audit"),
    Route("/admin/networks", admin.networks, name="admin_networks"),
    Route("/admin/networks/new", admin.network_new, methods=["GET"], name="admin_network_new"),
    Route(
        "/admin/networks/new",
        admin.network_create,
        methods=["POST"],
        name="admin_network_create",
    ),
    Route(
        "/admin/networks/{network}/edit",
        admin.network_edit_form,
        methods=["GET"],
        name="admin_network_edit_form",
    ),
    Route(
        "/admin/networks/{network}/edit",
        admin.network_edit,
        methods=["POST"],
        name="admin_network_edit",
    ),
    Route("/admin/organisations", admin.organisations_page, name="admin_organisations"),
    Route(
        "/admin/organisations/new",
        admin.organisation_new,
        methods=["GET"],
        name="admin_organisation_new",
    ),
    Route(
        "/admin/organisations/new",
        admin.organisation_create,
        methods=["POST"],
        name="admin_organisation_create",
    ),
    Route(
        "/admin/organisations/{organisation}/edit",
        admin.organisation_edit_form,
        methods=["GET"],
        name="admin_organisation_edit_form",
    ),
    Route(
        "/admin/organisations/{organisation}/edit",
        admin.organisation_edit,
        methods=["POST"],
        name="admin_organisation_edit",
    ),
    Route("/admin/users", admin_accounts.users, name="admin_users"),
    Route("/admin/users/{user_id:id}", admin_accounts.user, name="admin_user"),
    Route(
        "/admin/users/{user_id:id}/active",
        admin_accounts.set_active,
        methods=["POST"],
        name="admin_user_active",
    ),
    Route(
        "/admin/users/{user_id:id}/admin",
        admin_accounts.set_admin,
        methods=["POST"],
        name="admin_user_admin",
    ),
    Route("/admin/invitations", admin_accounts.invitations_page, name="admin_invitations"),
    Route(
        "/admin/invitations/new",
        admin_accounts.invitation_new,
        methods=["GET"],
        name="admin_invitation_new",
    ),
    Route(
        "/admin/invitations/new",
        admin_accounts.invitation_create,
        methods=["POST"],
        name="admin_invitation_create",
    ),
    Route(
        "/admin/invitations/{invitation_id:id}/revoke",
        admin_accounts.invitation_revoke,
        methods=["POST"],
        name="admin_invitation_revoke",
    ),
    # Summaries and the knowledge base.
    Route(
        NET + "/t/{thread_id:id}/summary", summaries.edit_form, methods=["GET"], name="summary_form"
    ),
    Route(
        NET + "/t/{thread_id:id}/summary",
        keeps_unsent(summaries.save),
        methods=["POST"],
        name="summary_save",
    ),
    Route(NET + "/t/{thread_id:id}/summary/history", summaries.history, name="summary_history"),
    Route(
        NET + "/t/{thread_id:id}/summary/restore",
        summaries.restore,
        methods=["POST"],
        name="summary_restore",
    ),
    Route(
        NET + "/t/{thread_id:id}/summary/reviewed",
        summaries.reviewed,
        methods=["POST"],
        name="summary_reviewed",
    ),
    Route(NET + "/kb", kb.network_kb, name="network_kb"),
    Route(NET + "/kb/{thread}", kb.article, name="kb_article"),
    Route("/kb", kb.all_kb, name="kb"),
    Route("/queue", kb.queue, name="facilitator_queue"),
    # Moderation: members flag posts; facilitators hide, restore, redact, dismiss.
    Route(NET + "/p/{post_id:id}/flag", moderation.flag_form, methods=["GET"], name="flag_form"),
    Route(NET + "/p/{post_id:id}/flag", moderation.flag, methods=["POST"], name="flag"),
    Route(NET + "/p/{post_id:id}/hide", moderation.hide_form, methods=["GET"], name="hide_form"),
    Route(NET + "/p/{post_id:id}/hide", moderation.hide, methods=["POST"], name="hide"),
    Route(NET + "/p/{post_id:id}/restore", moderation.restore, methods=["POST"], name="restore"),
    Route(
        NET + "/p/{post_id:id}/redact", moderation.redact_form, methods=["GET"], name="redact_form"
    ),
    Route(NET + "/p/{post_id:id}/redact", moderation.redact, methods=["POST"], name="redact"),
    Route(
        NET + "/flags/{flag_id:id}/dismiss", moderation.dismiss, methods=["POST"], name="dismiss"
    ),
    Route("/flags", moderation.flags, name="flags"),
    # Posts.
    Route(NET + "/p/{post_id:id}", posts.permalink, name="post"),
    Route(NET + "/p/{post_id:id}/edit", posts.edit_form, methods=["GET"], name="post_edit_form"),
    Route(
        NET + "/p/{post_id:id}/edit", keeps_unsent(posts.edit), methods=["POST"], name="post_edit"
    ),
    Route(
        NET + "/p/{post_id:id}/delete", posts.delete_form, methods=["GET"], name="post_delete_form"
    ),
    Route(NET + "/p/{post_id:id}/delete", posts.delete, methods=["POST"], name="post_delete"),
    Route(NET + "/p/{post_id:id}/history", posts.history, name="post_history"),
    Route("/search", search.page, name="search"),
    Route("/search/similar", search.similar, name="search_similar"),
    Route("/search/help", search.help_page, name="search_help"),
    Route("/help/shortcuts", pages.shortcuts, name="shortcuts"),
    Route("/api/v1/search", search.api, name="api_search"),
    Route("/api/v1/search/similar", search.similar_api, name="api_search_similar"),
    Route("/api/v1/networks", api.networks, name="api_networks"),
    Route("/api/v1/preview", api.preview, methods=["POST"], name="api_preview"),
    Route("/api/v1/n/{network}/threads", api.network_threads, name="api_threads"),
    Route("/api/v1/n/{network}/t/{thread_id:id}", api.thread, name="api_thread"),
    Mount("/static", app=StaticFiles(directory=ROOT / "static"), name="static"),
]
