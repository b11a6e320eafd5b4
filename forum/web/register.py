"""Signing up, confirming an address, invitations, password reset and account settings."""

from __future__ import annotations

from datetime import timedelta

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import ratelimit
from forum.accounts import invitations, passwords, registration, services
from forum.accounts.models import TokenPurpose, User
from forum.accounts.registration import WRONG_PASSWORD
from forum.config import SiteSettings
from forum.errors import Conflict, NotFound, ValidationError
from forum.ratelimit import Limit, RateLimited
from forum.web.accounts import start_session
from forum.web.forms import read_form
from forum.web.limits import too_many
from forum.web.security import client_address
from forum.web.templating import render

# Per person asked about: each of these sends an email.
MAIL_LIMIT = Limit(5, timedelta(hours=1))


def _site(request: Request) -> SiteSettings:
    site: SiteSettings = request.app.state.settings.site
    return site


def _limited(
    request: Request, template: str, context: dict[str, str], exc: RateLimited
) -> Response:
    """The form again, with what was typed and the wait named (429 and Retry-After)."""
    return too_many(request, template, {**context, "errors": {"form": str(exc)}}, exc)


def _signed_in(request: Request) -> User:
    user: User | None = request.state.viewer.user
    if user is None:
        raise HTTPException(303, headers={"Location": f"/login?next={request.url.path}"})
    return user


# --- Sign up ---------------------------------------------------------------------------


def _signup_fields(form: dict[str, str]) -> dict[str, str]:
    return {
        "username": form.get("username", "")[:100],
        "email": form.get("email", "")[:300],
        "display_name": form.get("display_name", "")[:200],
    }


async def register_form(request: Request) -> Response:
    if request.state.viewer.user:
        return RedirectResponse("/", status_code=303)
    fields = {"username": "", "email": "", "display_name": ""}
    return render(request, "accounts/register.html", {**fields, "errors": {}})


async def register(request: Request) -> Response:
    form = await read_form(request)
    fields = _signup_fields(form)
    password = form.get("password", "")[:1024]
    try:
        address = client_address(request)
        await ratelimit.hit_all([(f"register:address:{address}", ratelimit.REGISTER_PER_ADDRESS)])
    except RateLimited as exc:
        return _limited(request, "accounts/register.html", fields, exc)
    errors: dict[str, str] = {}
    try:
        await registration.register(**fields, password=password, site=_site(request))
    except ValidationError as exc:
        errors = exc.errors
    except Conflict:
        errors = {"username": "That username is taken: choose another."}
    if errors:
        return render(request, "accounts/register.html", {**fields, "errors": errors}, 400)
    return render(request, "accounts/check_email.html", {"email": fields["email"].strip()})


# --- Confirming an address --------------------------------------------------------------


async def verify_form(request: Request) -> Response:
    """The link in the email shows a button: a mail scanner that fetches links confirms
    nothing; the person's click does."""
    key = request.path_params["key"]
    try:
        token = await registration.check_token(key, TokenPurpose.VERIFY_EMAIL)
    except NotFound as exc:
        return render(request, "accounts/bad_link.html", {"message": str(exc)}, 404)
    return render(request, "accounts/verify.html", {"key": key, "email": token.email})


async def verify(request: Request) -> Response:
    await read_form(request)
    try:
        user = await registration.verify_email(key=request.path_params["key"])
    except (NotFound, Conflict) as exc:
        return render(request, "accounts/bad_link.html", {"message": str(exc)}, 404)
    return render(request, "accounts/verified.html", {"verified": user})


async def resend(request: Request) -> Response:
    user = _signed_in(request)
    await read_form(request)
    try:
        await ratelimit.hit(f"verify:user:{user.id}", MAIL_LIMIT)
    except RateLimited as exc:
        response = render(request, "accounts/check_email.html", {"email": user.email}, 429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    await registration.resend_verification(user=user, site=_site(request))
    return render(request, "accounts/check_email.html", {"email": user.email})


# --- Invitations ------------------------------------------------------------------------


async def invitation_form(request: Request) -> Response:
    key = request.path_params["key"]
    try:
        invitation = await invitations.find_valid(key)
    except NotFound as exc:
        return render(request, "accounts/bad_link.html", {"message": str(exc)}, 404)
    return render(
        request,
        "accounts/invitation.html",
        {"key": key, "invitation": invitation, "username": "", "display_name": "", "errors": {}},
    )


async def accept_invitation(request: Request) -> Response:
    form = await read_form(request)
    key = request.path_params["key"]
    fields = _signup_fields(form)
    try:
        invitation = await invitations.find_valid(key)
    except NotFound as exc:
        return render(request, "accounts/bad_link.html", {"message": str(exc)}, 404)
    errors: dict[str, str] = {}
    try:
        user = await invitations.accept(
            key=key,
            username=fields["username"],
            display_name=fields["display_name"],
            password=form.get("password", "")[:1024],
        )
    except ValidationError as exc:
        errors = exc.errors
    except Conflict:
        errors = {"username": "That username is taken: choose another."}
    except NotFound as exc:
        return render(request, "accounts/bad_link.html", {"message": str(exc)}, 404)
    if errors:
        context = {"key": key, "invitation": invitation, **fields, "errors": errors}
        return render(request, "accounts/invitation.html", context, 400)
    return await start_session(request, user, "/")


# --- Password reset ---------------------------------------------------------------------


async def forgot_form(request: Request) -> Response:
    return render(request, "accounts/forgot.html", {"email": "", "errors": {}})


async def forgot(request: Request) -> Response:
    form = await read_form(request)
    email = form.get("email", "")[:300].strip()
    try:
        await ratelimit.hit_all(
            [
                (f"reset:address:{client_address(request)}", ratelimit.RESET_PER_ADDRESS),
                (f"reset:email:{email.lower()}", ratelimit.RESET_PER_EMAIL),
            ]
        )
    except RateLimited as exc:
        return _limited(request, "accounts/forgot.html", {"email": email}, exc)
    try:
        await registration.request_password_reset(email=email, site=_site(request))
    except ValidationError as exc:
        return render(request, "accounts/forgot.html", {"email": email, "errors": exc.errors}, 400)
    return render(request, "accounts/check_email.html", {"email": email, "reset": True})


async def reset_form(request: Request) -> Response:
    key = request.path_params["key"]
    try:
        await registration.check_token(key, TokenPurpose.RESET_PASSWORD)
    except NotFound as exc:
        return render(request, "accounts/bad_link.html", {"message": str(exc)}, 404)
    return render(request, "accounts/reset.html", {"key": key, "errors": {}})


async def reset(request: Request) -> Response:
    form = await read_form(request)
    key = request.path_params["key"]
    try:
        user = await registration.reset_password(key=key, password=form.get("password", "")[:1024])
    except NotFound as exc:
        return render(request, "accounts/bad_link.html", {"message": str(exc)}, 404)
    except ValidationError as exc:
        return render(request, "accounts/reset.html", {"key": key, "errors": exc.errors}, 400)
    return await start_session(request, user, "/account?done=password")


# --- Account settings -------------------------------------------------------------------

DONE = {
    "profile": "Your name has been saved.",
    "password": "Your new password is set. You have been logged out everywhere else.",
    "email": "We have sent a link to your new address: your address changes when you open it.",
}


def _account(request: Request, status: int = 200, **context: object) -> Response:
    user = _signed_in(request)
    base: dict[str, object] = {
        "display_name": user.display_name,
        "new_email": "",
        "errors": {},
        "done": DONE.get(request.query_params.get("done", "")),
    }
    return render(request, "accounts/settings.html", {**base, **context}, status)


async def account(request: Request) -> Response:
    return _account(request)


async def account_profile(request: Request) -> Response:
    user = _signed_in(request)
    form = await read_form(request)
    name = form.get("display_name", "")[:200]
    try:
        await services.update_profile(user=user, display_name=name)
    except ValidationError as exc:
        return _account(request, 400, display_name=name, errors=exc.errors)
    return RedirectResponse("/account?done=profile", status_code=303)


async def account_email(request: Request) -> Response:
    user = _signed_in(request)
    form = await read_form(request)
    new_email = form.get("email", "")[:300]
    try:
        await ratelimit.hit(f"email-change:user:{user.id}", MAIL_LIMIT)
        await registration.change_email(
            user=user,
            new_email=new_email,
            password=form.get("current_password", "")[:1024],
            site=_site(request),
        )
    except RateLimited as exc:
        response = _account(request, 429, new_email=new_email, errors={"email": str(exc)})
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except ValidationError as exc:
        return _account(request, 400, new_email=new_email, errors=exc.errors)
    return RedirectResponse("/account?done=email", status_code=303)


async def account_password(request: Request) -> Response:
    user = _signed_in(request)
    form = await read_form(request)
    errors: dict[str, str] = {}
    try:
        right = await services.check_password(user, form.get("current_password", "")[:1024])
    except RateLimited as exc:
        response = _account(request, 429, errors={"current_password": str(exc)})
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if not right:
        errors["current_password"] = WRONG_PASSWORD
    new = form.get("password", "")[:1024]
    weak = passwords.problem(new, username=user.username, email=user.email)
    if weak:
        errors["password"] = weak
    if errors:
        return _account(request, 400, errors=errors)
    await services.set_password(user=user, password=new, keep_session_key=request.state.session_key)
    return RedirectResponse("/account?done=password", status_code=303)
