"""Signing up, proving an email address, resetting a password and changing an address.

Each emailed link carries a random key whose hash is a `Token` row: single-use, expiring, and
written in the same transaction as the email that carries it. The pages built on these
functions answer the same way whether or not an address has an account, so they cannot be
used to find out who is registered.
"""

from __future__ import annotations

from datetime import timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from forum.accounts import passwords, services, tokens
from forum.accounts.models import Organisation, Token, TokenPurpose, User
from forum.config import SiteSettings
from forum.errors import Conflict, NotFound, ValidationError
from forum.mail import services as mail
from forum.timeutil import utcnow

VERIFY_FOR = timedelta(days=3)
RESET_FOR = timedelta(hours=1)
BAD_LINK = "This link has been used or has expired. Ask for a new one."
WRONG_PASSWORD = "Enter your current password."  # noqa: S105 (a message)


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


async def organisation_for(email: str) -> Organisation | None:
    """The member organisation whose email domains include this address's domain."""
    domain = email_domain(email)
    if not domain:
        return None
    # Few organisations, each with a few domains: read them and match here, the same way on
    # SQLite and PostgreSQL.
    for organisation in await Organisation.all():
        if domain in (d.lower() for d in organisation.email_domains):
            return organisation
    return None


async def _new_token(
    user: User, purpose: TokenPurpose, email: str, valid_for: timedelta, conn: BaseDBAsyncClient
) -> str:
    key, key_hash = tokens.new_key()
    now = utcnow()
    await Token.create(
        key_hash=key_hash,
        purpose=purpose,
        user=user,
        email=email,
        created_at=now,
        expires_at=now + valid_for,
        using_db=conn,
    )
    return key


async def _mail_verification(
    user: User, email: str, site: SiteSettings, conn: BaseDBAsyncClient
) -> None:
    key = await _new_token(user, TokenPurpose.VERIFY_EMAIL, email, VERIFY_FOR, conn)
    await mail.queue(
        to=email,
        subject=f"Confirm your email address for {site.name}",
        text="\n".join(
            [
                f"Hello {user.display_name},",
                "",
                f"To confirm that {email} is your address on {site.name}, open this link",
                "(it works once, for 3 days):",
                site.link(f"/verify/{key}"),
                "",
                "If you did not ask for this, you can ignore this email.",
            ]
        ),
        using=conn,
    )


async def register(
    *, username: str, email: str, display_name: str, password: str, site: SiteSettings
) -> User | None:
    """Sign up with an address at a member organisation; mails the confirmation link.

    The account can read at once and write once the link is followed. Returns None, having
    mailed the address a note instead, when the address already has an account (the page
    says "check your email" either way). Raises ValidationError (including an address at no
    member organisation) and Conflict (username taken).

    Every answer but "check your email" is decided before the address is looked up, and so
    is the same whether or not it has an account: a bad field, an address at no member
    organisation, a taken username (usernames are public, on every profile).
    """
    email = email.strip()
    errors = services.account_problems(
        username=username, email=email, display_name=display_name, password=password
    )
    organisation = await organisation_for(email) if "email" not in errors else None
    if "email" not in errors and organisation is None:
        errors["email"] = (
            "This address is not at a member organisation. Ask a facilitator or an admin "
            "of the forum to invite you."
        )
    if errors:
        raise ValidationError(errors)
    if await User.filter(username=services.normalise_username(username)).exists():
        raise Conflict(f"username {username!r} is taken")
    existing = await User.filter(email__iexact=email).first()
    if existing is None:
        try:
            async with in_transaction() as conn:
                user = await services.create_user(
                    username=username,
                    email=email,
                    display_name=display_name,
                    password=password,
                    organisation=organisation,
                    email_verified=False,
                    using=conn,
                )
                await _mail_verification(user, email, site, conn)
            return user
        except Conflict:
            # Taken by a sign-up at the same moment: the address, or else the username.
            existing = await User.filter(email__iexact=email).first()
            if existing is None:
                raise
    else:
        # Hash anyway, so that the answer takes as long as a real sign-up.
        await passwords.hashed(password)
    await _mail_already_registered(existing, site)
    return None


async def _mail_already_registered(user: User, site: SiteSettings) -> None:
    await mail.queue(
        to=user.email,
        subject=f"You already have an account on {site.name}",
        text="\n".join(
            [
                f"Hello {user.display_name},",
                "",
                f"Someone (perhaps you) tried to sign up to {site.name} with this address,",
                f"which already has an account (username: {user.username}).",
                "",
                "To log in: " + site.link("/login"),
                "Forgotten your password? " + site.link("/password/forgot"),
            ]
        ),
    )


async def resend_verification(*, user: User, site: SiteSettings) -> None:
    """Mail a new confirmation link to an account whose address is not confirmed yet."""
    if user.email_verified:
        return
    async with in_transaction() as conn:
        await _mail_verification(user, user.email, site, conn)


async def _usable(key: str, purpose: TokenPurpose, conn: BaseDBAsyncClient | None = None) -> Token:
    """The unused, unexpired token of an active account that a link's key names. Raises
    NotFound (one message for every reason: the page cannot tell which)."""
    if not key or len(key) > 100:
        raise NotFound(BAD_LINK)
    token = (
        await Token.filter(key_hash=tokens.hash_key(key), purpose=purpose)
        .using_db(conn)
        .select_related("user")
        .first()
    )
    if (
        token is None
        or token.used_at is not None
        or token.expires_at <= utcnow()
        or not token.user.is_active
    ):
        raise NotFound(BAD_LINK)
    return token


async def _use_token(key: str, purpose: TokenPurpose, conn: BaseDBAsyncClient) -> Token:
    """Claim a token once (inside the caller's transaction): of two uses at the same
    moment, one claims it and the other gets NotFound."""
    token = await _usable(key, purpose, conn)
    claimed = (
        await Token.filter(id=token.id, used_at__isnull=True)
        .using_db(conn)
        .update(used_at=utcnow())
    )
    if not claimed:
        raise NotFound(BAD_LINK)
    return token


async def check_token(key: str, purpose: TokenPurpose) -> Token:
    """The usable token a link names, without using it (to show its form). Raises NotFound."""
    return await _usable(key, purpose)


async def verify_email(*, key: str) -> User:
    """Follow a confirmation link: the account's address (or its new address) is confirmed.

    Raises NotFound for a used, expired or unknown link; Conflict when the new address was
    taken by another account meanwhile.
    """
    async with in_transaction() as conn:
        token = await _use_token(key, TokenPurpose.VERIFY_EMAIL, conn)
        user = token.user
        fields = ["email_verified_at"]
        if token.email.lower() != user.email.lower():
            if await User.filter(email__iexact=token.email).using_db(conn).exists():
                raise Conflict("Another account now uses that address.")
            user.email = token.email
            fields.append("email")
        user.email_verified_at = utcnow()
        await user.save(using_db=conn, update_fields=fields)
        await services.account_changed(user.id, using=conn)
        if "email" in fields:
            # A new address: every link mailed to the old one (a reset) is retired.
            await services.retire_links(user.id, using=conn)
        else:
            # The other confirmation links are now pointless.
            await (
                Token.filter(
                    user_id=user.id, purpose=TokenPurpose.VERIFY_EMAIL, used_at__isnull=True
                )
                .using_db(conn)
                .update(used_at=utcnow())
            )
    return user


async def request_password_reset(*, email: str, site: SiteSettings) -> None:
    """Mail a reset link if an active account has this address; otherwise do nothing.

    The caller says the same thing in both cases.
    """
    email = email.strip()
    if not services.EMAIL_RE.match(email) or len(email) > 254:
        raise ValidationError({"email": "Enter an email address like name@example.org."})
    user = await User.filter(email__iexact=email, is_active=True).first()
    if user is None:
        return
    async with in_transaction() as conn:
        key = await _new_token(user, TokenPurpose.RESET_PASSWORD, user.email, RESET_FOR, conn)
        await mail.queue(
            to=user.email,
            subject=f"Reset your password for {site.name}",
            text="\n".join(
                [
                    f"Hello {user.display_name},",
                    "",
                    f"To choose a new password for {site.name} (username: {user.username}),",
                    "open this link (it works once, for one hour):",
                    site.link(f"/password/reset/{key}"),
                    "",
                    "If you did not ask for this, you can ignore this email: your password",
                    "has not changed.",
                ]
            ),
            using=conn,
        )


async def reset_password(*, key: str, password: str) -> User:
    """Set a new password from a reset link; every session of the account ends and every
    other emailed link of it is retired (`services.password_changed`).

    Following the link also proves the address. Raises NotFound (bad link), ValidationError.
    """
    token = await check_token(key, TokenPurpose.RESET_PASSWORD)
    weak = passwords.problem(password, username=token.user.username, email=token.user.email)
    if weak:
        raise ValidationError({"password": weak})
    password_hash = await passwords.hashed(password)
    async with in_transaction() as conn:
        token = await _use_token(key, TokenPurpose.RESET_PASSWORD, conn)
        user = token.user
        user.password_hash = password_hash
        fields = ["password_hash"]
        if user.email_verified_at is None and token.email.lower() == user.email.lower():
            user.email_verified_at = utcnow()
            fields.append("email_verified_at")
        await user.save(using_db=conn, update_fields=fields)
        # Every session ends, and every other link (the other resets, a pending change of
        # address) is retired with this one.
        await services.password_changed(user.id, using=conn)
    return user


async def change_email(*, user: User, new_email: str, password: str, site: SiteSettings) -> None:
    """Ask to move the account to a new address: the change happens when the link mailed to
    the new address is followed. The old address is told. Raises ValidationError, and
    RateLimited after too many wrong current passwords (`services.check_password`).

    An address that already has an account gets no link but a note to its owner; the asker
    sees the same either way (page and email), so this cannot find out who is registered.
    """
    new_email = new_email.strip()
    errors: dict[str, str] = {}
    if not services.EMAIL_RE.match(new_email) or len(new_email) > 254:
        errors["email"] = "Enter an email address like name@example.org."
    elif new_email.lower() == user.email.lower():
        errors["email"] = "That is already your address."
    if not await services.check_password(user, password):
        errors["current_password"] = WRONG_PASSWORD
    if errors:
        raise ValidationError(errors)
    taken = await User.filter(email__iexact=new_email).first()
    async with in_transaction() as conn:
        if taken is None:
            await _mail_verification(user, new_email, site, conn)
        else:
            # Nothing the asker sees differs (this page, the note to their own address): the
            # owner of the address is told instead, and no link is made (it would fail).
            await mail.queue(
                to=taken.email,
                subject=f"Someone tried to use your address on {site.name}",
                text="\n".join(
                    [
                        f"Hello {taken.display_name},",
                        "",
                        f"Someone asked to move another account on {site.name} to this",
                        "address. It already belongs to your account, so nothing changed.",
                        "If you did not expect this, you can ignore this email.",
                    ]
                ),
                using=conn,
            )
        await mail.queue(
            to=user.email,
            subject=f"Your email address on {site.name} is changing",
            text="\n".join(
                [
                    f"Hello {user.display_name},",
                    "",
                    f"Someone signed in as {user.username} asked to change the account's",
                    f"address to {new_email}. It changes when the link sent there is opened.",
                    "If this was not you, change your password: " + site.link("/password/forgot"),
                ]
            ),
            using=conn,
        )
