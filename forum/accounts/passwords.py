"""Password hashing with argon2id, and the rules a new password must meet.

Every place that sets a password (creating an account, accepting an invitation, resetting or
changing a password, the CLI) asks `problem` first, so the rules live here only.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from forum.turns import Turns

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# A hash verified against when there is no real one to check (an unknown username or email,
# an account without a password), so that every failed login costs one argon2 verification
# with the current parameters and the time taken does not tell which accounts exist. It is
# made from the hasher in use (tests swap in a cheap one), hence kept beside it.
_dummy: tuple[PasswordHasher, str] | None = None

MIN_LENGTH = 10
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")


# Each argon2 hash or verification holds 64 MiB while it runs. Left to the default thread
# pool, six logins at once took a server process from 60 MB to over 500 MB; at most this
# many run at once per process, the others wait their turn (not holding a pool thread).
MAX_AT_ONCE = 2
_turn = Turns(MAX_AT_ONCE)


async def hashed(password: str) -> str:
    """`hash_password` in a worker thread, at most MAX_AT_ONCE at a time."""
    async with _turn():
        return await asyncio.to_thread(hash_password, password)


async def verified(password_hash: str, password: str) -> bool:
    """`verify` in a worker thread, at most MAX_AT_ONCE at a time."""
    async with _turn():
        return await asyncio.to_thread(verify, password_hash, password)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _dummy_hash() -> str:
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash("not-a-real-password"))
    return _dummy[1]


def verify(password_hash: str, password: str) -> bool:
    """Whether `password` matches; always one argon2 verification, even with no hash."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list (lowercase), read once: see the header of the file for its source."""
    with COMMON_PASSWORDS.open(encoding="utf-8") as fh:
        return frozenset(
            line.rstrip("\n") for line in fh if line.strip() and not line.startswith("#")
        )


def problem(password: str, *, username: str | None = None, email: str | None = None) -> str | None:
    """Why a new password is refused (a message for the form), or None if it will do.

    Refused: fewer than MIN_LENGTH characters, a common password, or the account's own
    username or email address (all compared without regard to case).
    """
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    folded = password.strip().casefold()
    if folded in common_passwords():
        return "That password is too common. Choose one that would be hard to guess."
    own = {v.strip().casefold() for v in (username, email) if v and v.strip()}
    if email and "@" in email:
        own.add(email.strip().rsplit("@", 1)[0].casefold())
    if folded in own:
        return "Do not use your username or email address as your password."
    return None
