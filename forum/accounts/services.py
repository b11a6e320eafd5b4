"""Every write to organisations, users and sessions."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from forum import changes, db, permissions, ratelimit
from forum.accounts import passwords
from forum.accounts.models import Organisation, Session, Token, User
from forum.errors import Conflict, NotFound, ValidationError
from forum.networks.models import Role
from forum.text import clean_line
from forum.timeutil import utcnow

USERNAME_RE = re.compile(r"^[a-z0-9_][a-z0-9_.-]{0,38}[a-z0-9_]$|^[a-z0-9_]$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
EMAIL_RE = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$")


def check_slug(slug: str, field: str = "slug") -> str:
    if not SLUG_RE.match(slug):
        raise ValidationError(
            {field: "Use lowercase letters, digits and hyphens, starting with a letter or digit."}
        )
    return slug


async def create_organisation(
    *,
    slug: str,
    name: str,
    email_domains: list[str] | None = None,
    using: BaseDBAsyncClient | None = None,
) -> Organisation:
    """Create an organisation. Raises ValidationError, Conflict if the slug is taken."""
    name = clean_line(name)
    if not name:
        raise ValidationError({"name": "Enter the organisation's name."})
    check_slug(slug)
    if await Organisation.filter(slug=slug).using_db(using).exists():
        raise Conflict(f"organisation {slug!r} already exists")
    domains = [d.strip().lower() for d in (email_domains or []) if d.strip()]
    organisation = await Organisation.create(
        slug=slug, name=name[:200], email_domains=domains, using_db=using
    )
    await changes.record("organisation", organisation.id, using=using)
    return organisation


def normalise_username(username: str) -> str:
    return username.strip().lstrip("@").lower()


def account_problems(
    *, username: str, email: str, display_name: str, password: str | None
) -> dict[str, str]:
    """What is wrong with the fields of a new account, by field (empty if nothing), without
    asking the database: the same answer whoever already has an account."""
    username = normalise_username(username)
    email = email.strip()
    errors: dict[str, str] = {}
    if not USERNAME_RE.match(username):
        errors["username"] = "Use 1 to 40 lowercase letters, digits, underscores, dots or hyphens."
    if not EMAIL_RE.match(email) or len(email) > 254:
        errors["email"] = "Enter an email address like name@example.org."
    if not clean_line(display_name):
        errors["display_name"] = "Enter the name people will see."
    weak = (
        passwords.problem(password, username=username, email=email)
        if password is not None
        else None
    )
    if weak:
        errors["password"] = weak
    return errors


async def create_user(
    *,
    username: str,
    email: str,
    display_name: str,
    password: str | None = None,
    organisation: Organisation | None = None,
    is_admin: bool = False,
    created_at: datetime | None = None,
    email_verified: bool = True,
    using: BaseDBAsyncClient | None = None,
) -> User:
    """Create a user (password optional: an account without one cannot log in).

    Accounts made by an admin, the demo or an import count as verified; self-registration
    (`forum.accounts.registration`) passes email_verified=False until the link is followed.

    Raises ValidationError for a bad username, email or password; Conflict if the username or
    email is taken.
    """
    username = normalise_username(username)
    email = email.strip()
    display_name = clean_line(display_name)
    errors = account_problems(
        username=username, email=email, display_name=display_name, password=password
    )
    if errors:
        raise ValidationError(errors)
    if await User.filter(username=username).using_db(using).exists():
        raise Conflict(f"username {username!r} is taken")
    if await User.filter(email__iexact=email).using_db(using).exists():
        raise Conflict(f"email {email!r} is already registered")
    password_hash = await passwords.hashed(password) if password else ""
    try:
        return await User.create(
            username=username,
            email=email,
            display_name=display_name[:100],
            password_hash=password_hash,
            organisation=organisation,
            is_admin=is_admin,
            created_at=created_at or utcnow(),
            email_verified_at=(created_at or utcnow()) if email_verified else None,
            using_db=using,
        )
    except IntegrityError:
        raise Conflict(f"username {username!r} or email {email!r} is taken") from None


async def set_password(*, user: User, password: str, keep_session_key: str | None = None) -> None:
    """Replace a user's password, end their sessions and retire their emailed links
    (`password_changed`). Raises ValidationError.

    Whoever knew the old password is logged out everywhere. When the owner changes it while
    logged in, pass their own session's key as `keep_session_key` so they stay logged in
    where they are; a reset from an emailed link or by an admin passes nothing.
    """
    weak = passwords.problem(password, username=user.username, email=user.email)
    if weak:
        raise ValidationError({"password": weak})
    password_hash = await passwords.hashed(password)
    async with in_transaction() as conn:
        await User.filter(id=user.id).using_db(conn).update(password_hash=password_hash)
        await password_changed(user.id, keep_session_key=keep_session_key, using=conn)
    # Only once it is saved: `user` may be a signed-in request's kept visit's.
    user.password_hash = password_hash


async def password_changed(
    user_id: int, *, keep_session_key: str | None = None, using: BaseDBAsyncClient
) -> None:
    """What every change of an account's password brings with it, in the transaction that
    saves the new hash: every session ends (but the one `keep_session_key` opens, when the
    owner changed it from there) and every outstanding emailed link is retired
    (`retire_links`). Whoever knew the old password, or holds an old link, is shut out."""
    ended = Session.filter(user_id=user_id)
    if keep_session_key:
        ended = ended.exclude(key_hash=_hash_key(keep_session_key))
    await ended.using_db(using).delete()
    await retire_links(user_id, using=using)
    await account_changed(user_id, using=using)


async def retire_links(user_id: int, *, using: BaseDBAsyncClient | None = None) -> int:
    """Make every emailed link of the account that is still usable unusable: a pending
    change of address, a confirmation, every password reset (all `Token` rows, whatever
    their purpose). Returns how many were retired.

    The one place that does it, called by every change of what proves who the owner is: a
    new password (changed, reset or set by an admin), a new address, a deactivation. A link
    mailed before such a change was asked for by whoever held the account then: it must not
    outlive the change (an email change asked for by a thief must not complete after the
    owner reset the password; a second reset link must not work after the first was used).
    Invitations are not an account's links: they are retired when used or withdrawn.
    """
    return int(
        await Token.filter(user_id=user_id, used_at__isnull=True)
        .using_db(using)
        .update(used_at=utcnow())
    )


async def account_for_login(login: str) -> User | None:
    """The account (active or not) a login form's username or email names, else None."""
    login = login.strip()
    if "@" in login and not login.startswith("@"):
        if EMAIL_RE.match(login) and len(login) <= 254:
            return await User.filter(email__iexact=login).first()
    elif USERNAME_RE.match(normalise_username(login)):
        return await User.filter(username=normalise_username(login)).first()
    return None


async def authenticate(*, login: str, password: str) -> User | None:
    """The active user whose username or email and password match, else None."""
    user = await account_for_login(login)
    ok = await passwords.verified(user.password_hash if user else "", password)
    if not ok or user is None or not user.is_active:
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await passwords.hashed(password)
        await user.save(update_fields=["password_hash"])
    return user


async def check_password(user: User, password: str) -> bool:
    """Whether `password` is the user's current one (to confirm a sensitive change).

    Every check of a signed-in user's password goes through here, and is limited like a
    login: after PASSWORD_CHECK_PER_ACCOUNT wrong ones it raises RateLimited (without
    checking) until the oldest leaves the window; the right one forgets the failures.
    """
    key = f"password-check:user:{user.id}"
    await ratelimit.check(key, ratelimit.PASSWORD_CHECK_PER_ACCOUNT)
    ok = await passwords.verified(user.password_hash, password)
    if ok:
        await ratelimit.clear(key)
    else:
        await ratelimit.record_all([key])
    return ok


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# How often a session's last use is written: a page view rarely writes, and the idle limit
# (hours or days) does not need it to the minute.
SEEN_EVERY = timedelta(minutes=5)


async def start_session(*, user: User, days: int, user_agent: str = "", address: str = "") -> str:
    """Open a new session for `user`; returns the random key to put in the cookie.

    The browser's user agent and address are kept so the owner can recognise the session in
    their list. The user's expired sessions are deleted on the way.
    """
    key = secrets.token_urlsafe(32)
    now = utcnow()
    await Session.filter(user_id=user.id, expires_at__lte=now).delete()
    await Session.create(
        key_hash=_hash_key(key),
        user=user,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(days=days),
        user_agent=clean_line(user_agent)[:200],
        address=clean_line(address)[:64],
    )
    return key


async def end_all_sessions(*, user: User, using: BaseDBAsyncClient | None = None) -> None:
    """Log the user out everywhere (a password reset, a deactivated account)."""
    await Session.filter(user_id=user.id).using_db(using).delete()
    await account_changed(user.id, using=using)


async def end_session(*, key: str) -> None:
    """Log out the session `key` opens (if any), on every host at once."""
    async with in_transaction() as conn:
        ended = Session.filter(key_hash=_hash_key(key)).using_db(conn)
        session = await ended.first()
        if session is not None:
            await ended.delete()
            await account_changed(session.user_id, using=conn)


@dataclass(frozen=True, slots=True)
class Visit:
    """A signed-in request's session (with its user and organisation), the user's roles by
    network id, and their unread notifications in networks they may read now."""

    session: Session
    roles: dict[int, Role]
    unread: int


@cache
def _visit_sql(dialect: str) -> str:
    """Written once Tortoise knows every column (foreign keys are added at its start)."""
    joined = "string_agg" if dialect == "postgres" else "group_concat"
    return (
        f"SELECT {db.columns(Session, 's')}, {db.columns(User, 'u')},"  # noqa: S608 (names only)
        f" {db.columns(Organisation, 'o')},"
        f" (SELECT {joined}(m.network_id || ':' || m.role, ' ') FROM memberships m"
        "  WHERE m.user_id = u.id) AS roles,"
        # The header's count, as the notifications page lists them: those about what the
        # user may read now, as it stands now (permissions.notification_shown_sql).
        " (SELECT COUNT(*) FROM notifications x WHERE x.user_id = u.id AND x.read_at IS NULL"
        f"  AND {permissions.notification_shown_sql('x')})"
        " AS unread,"
        f" {changes.LATEST_ID} AS c_id, {changes.LATEST_AT} AS c_at,"
        f" {changes.SETTLED[dialect]} AS c_settled"
        " FROM sessions s JOIN users u ON u.id = s.user_id"
        " LEFT JOIN organisations o ON o.id = u.organisation_id"
        " WHERE s.key_hash = ?"
    )


# A visit is kept in this process (`_kept_visits`) until the change log moves, and for at most
# KEPT_FOR seconds whatever happens: most signed-in requests then ask the database only where
# the log stands. Every write that changes what a visit holds appends an "account" entry to
# the log in its own transaction (`account_changed`): ending sessions, a user's activation,
# admin role, email or password, their memberships, marking notifications read; every other
# write the header's count or roles depend on (a post and its notifications, a network made
# members-only) appends its own entry already. KEPT_FOR bounds how late anything else is seen.
KEPT_FOR = 30.0
_kept_visits: changes.UntilChanged[tuple[str, int], Visit | None] = changes.UntilChanged(4096)


def _is_visit(found: Visit | None) -> bool:
    """Only a session found is kept: keys that open none (made up, or of ended sessions)
    cost their query each time, and never push a real visit out."""
    return found is not None


async def account_changed(user_id: int, *, using: BaseDBAsyncClient | None = None) -> None:
    """Note in the change log that what a signed-in request holds of `user_id` changed
    (their sessions, roles, account or unread count): every process reads their visit again.
    Call it in the transaction of the write."""
    await changes.record("account", user_id, using=using)


async def _read_visit(key_hash: str) -> Visit | None:
    """The session `key_hash` names, read now (with the change log's position)."""
    rows = await db.fetch(_visit_sql(db.dialect()), key_hash)
    if not rows:
        return None
    row = rows[0]
    changes.seen(row["c_id"], row["c_at"], row["c_settled"])
    session = db.from_row(Session, row, "s")
    user = db.from_row(User, row, "u")
    user.organisation = db.from_row(Organisation, row, "o") if row["o_id"] is not None else None
    session.user = user
    pairs = (pair.split(":", 1) for pair in (row["roles"] or "").split())
    return Visit(session, {int(n): Role(role) for n, role in pairs}, int(row["unread"]))


async def visit(key: str, *, idle: timedelta) -> Visit | None:
    """The live session a cookie's key opens, with what every signed-in page shows of its
    user; None if it opens none. Kept in this process until the change log moves (at most
    KEPT_FOR seconds): a kept visit costs one query, where the log stands; one read afresh
    costs that and one more, which also reads the position for this request
    (`changes.seen`).

    A session has ended when it expired, when it has not been used for `idle` (a NULL
    last_seen_at, from before it was recorded, counts as its start), or when its user was
    deactivated. A session found idle is deleted, on a fresh reading only (another process
    may have seen it used since this one kept it). Its last use is written at most every
    SEEN_EVERY, so most page views do not write.
    """
    key_hash = _hash_key(key)
    kept_as = (key_hash, int(time.monotonic() // KEPT_FOR))
    fresh = False

    async def read() -> Visit | None:
        nonlocal fresh
        fresh = True
        return await _read_visit(key_hash)

    found = await _kept_visits.get(kept_as, read, keep=_is_visit)
    now = utcnow()
    if found is not None and not fresh and _last_use(found.session) <= now - idle:
        # Idle by the kept copy: another process may have seen it used since. Ask again.
        _kept_visits.discard(kept_as)
        found = await _kept_visits.get(kept_as, read, keep=_is_visit)
    if found is None:
        return None
    session = found.session
    if session.expires_at <= now or not session.user.is_active:
        return None
    last = _last_use(session)
    if last <= now - idle:
        async with in_transaction() as conn:
            await Session.filter(id=session.id).using_db(conn).delete()
            await account_changed(session.user.id, using=conn)
        return None
    if now - last >= SEEN_EVERY:
        # Not an account change: only this check reads it, and a kept copy is updated here.
        await Session.filter(id=session.id).update(last_seen_at=now)
        session.last_seen_at = now
    return found


def _last_use(session: Session) -> datetime:
    """When the session was last used (a NULL last_seen_at, from before it was recorded,
    counts as its start)."""
    return session.last_seen_at or session.created_at


async def end_own_session(*, user: User, session_id: int) -> None:
    """End one of `user`'s sessions. Raises NotFound if it is not theirs (or is gone): an id
    from a URL is never trusted, and another user's sessions do not exist for them."""
    async with in_transaction() as conn:
        if not await Session.filter(id=session_id, user_id=user.id).using_db(conn).delete():
            raise NotFound("no such session")
        await account_changed(user.id, using=conn)


async def end_other_sessions(*, user: User, keep_key: str) -> int:
    """End every session of `user` but the one `keep_key` opens; returns how many ended."""
    async with in_transaction() as conn:
        others = Session.filter(user_id=user.id).exclude(key_hash=_hash_key(keep_key))
        ended = int(await others.using_db(conn).delete())
        await account_changed(user.id, using=conn)
    return ended


async def update_profile(
    *, user: User, display_name: str | None = None, organisation: Organisation | None = None
) -> User:
    """Change how a user appears (name, organisation), everywhere including search.

    Raises ValidationError for an empty name.
    """
    values: dict[str, object] = {}
    if display_name is not None:
        name = clean_line(display_name)
        if not name:
            raise ValidationError({"display_name": "Enter the name people will see."})
        values["display_name"] = name[:100]
    if organisation is not None:
        values["organisation_id"] = organisation.id
    if values:
        async with in_transaction() as conn:
            await User.filter(id=user.id).using_db(conn).update(**values)
            await changes.record("user", user.id, using=conn)
        # Only once it is saved: `user` may be a signed-in request's kept visit's.
        if "display_name" in values:
            user.display_name = str(values["display_name"])
        if organisation is not None:
            user.organisation = organisation
    return user
