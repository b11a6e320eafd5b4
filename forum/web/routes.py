"""The route table: every URL the forum answers, in one place."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from forum.config import ROOT
from forum.web import (
    accounts,
    admin,
    api,
    curation,
    kb,
    moderation,
    notifications,
    pages,
    posts,
    register,
    search,
    sessions,
    summaries,
    threads,
)


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
    Route(NET, pages.network, name="network"),
    Route(NET + "/new", threads.new_form, methods=["GET"], name="thread_new"),
    Route(NET + "/new", threads.create, methods=["POST"], name="thread_create"),
    Route(NET + "/t/{thread}", threads.show, name="thread"),
    Route(NET + "/t/{thread_id:id}/reply", threads.reply_form, methods=["GET"], name="reply_form"),
    Route(NET + "/t/{thread_id:id}/reply", threads.reply, methods=["POST"], name="reply"),
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
    Route("/admin/audit", admin.audit, name="admin_audit"),
    # Summaries and the knowledge base.
    Route(
        NET + "/t/{thread_id:id}/summary", summaries.edit_form, methods=["GET"], name="summary_form"
    ),
    Route(NET + "/t/{thread_id:id}/summary", summaries.save, methods=["POST"], name="summary_save"),
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
    Route(NET + "/kb.atom", kb.feed, name="kb_feed"),
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
    Route(NET + "/p/{post_id:id}/edit", posts.edit, methods=["POST"], name="post_edit"),
    Route(
        NET + "/p/{post_id:id}/delete", posts.delete_form, methods=["GET"], name="post_delete_form"
    ),
    Route(NET + "/p/{post_id:id}/delete", posts.delete, methods=["POST"], name="post_delete"),
    Route(NET + "/p/{post_id:id}/history", posts.history, name="post_history"),
    Route("/search", search.page, name="search"),
    Route("/search/similar", search.similar, name="search_similar"),
    Route("/search/help", search.help_page, name="search_help"),
    Route("/api/v1/search", search.api, name="api_search"),
    Route("/api/v1/search/similar", search.similar_api, name="api_search_similar"),
    Route("/api/v1/networks", api.networks, name="api_networks"),
    Route("/api/v1/n/{network}/threads", api.network_threads, name="api_threads"),
    Route("/api/v1/n/{network}/t/{thread_id:id}", api.thread, name="api_thread"),
    Mount("/static", app=StaticFiles(directory=ROOT / "static"), name="static"),
]
