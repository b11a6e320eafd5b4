"""Settings: the file, environment overrides, clear errors, and the generated secret."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

import pytest

from forum.config import ConfigError, load_settings, secret_key


def test_every_setting_in_config_toml_loads() -> None:
    settings = load_settings(env={})
    assert settings.limits.title_max == 200
    assert settings.limits.body_max == 50_000
    assert settings.database.url.startswith("sqlite://")


@pytest.mark.parametrize(
    ("env", "check"),
    [
        (
            {"FORUM_DATABASE_URL": "postgres://u@h/db"},
            lambda s: s.database.url == "postgres://u@h/db",
        ),
        ({"FORUM_SEARCH_INDEX_DIR": "/tmp/idx"}, lambda s: s.index_dir == Path("/tmp/idx")),
        ({"FORUM_SECURITY_SECRET_KEY": "k" * 40}, lambda s: s.security.secret_key == "k" * 40),
        ({"FORUM_LIMITS_TITLE_MAX": "120"}, lambda s: s.limits.title_max == 120),
        ({"FORUM_SERVER_PORT": "9000"}, lambda s: s.server.port == 9000),
    ],
)
def test_environment_overrides_the_file(env: dict[str, str], check) -> None:  # type: ignore[no-untyped-def]
    assert check(load_settings(env=env))


@pytest.mark.parametrize(
    ("env", "base_url"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"FORUM_SERVER_PORT": "8010"}, "http://127.0.0.1:8010"),
        ({"FORUM_SERVER_HOST": "0.0.0.0", "FORUM_SERVER_PORT": "8010"}, "http://127.0.0.1:8010"),  # noqa: S104
        ({"FORUM_SERVER_HOST": "::1", "FORUM_SERVER_PORT": "8010"}, "http://[::1]:8010"),
        (
            {"FORUM_SERVER_PORT": "8010", "FORUM_SITE_BASE_URL": "https://forum.example.org"},
            "https://forum.example.org",
        ),
    ],
)
def test_a_new_install_links_to_where_it_serves(env: dict[str, str], base_url: str) -> None:
    """The shipped local base URL follows the port (`PORT=8010 make run`); any other stays."""
    assert load_settings(env=env).site.base_url == base_url


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"FORUM_SERVER_PORT": "eighty"}, "server.port"),
        ({"FORUM_SERVER_PORT": "70000"}, "server.port"),
        ({"FORUM_LIMITS_BODY_MAX": "-5"}, "limits.body_max"),
        ({"FORUM_SECURITY_SECURE_COOKIES": "sometimes"}, "security.secure_cookies"),
        ({"FORUM_DATABASE_URL": "mysql://x"}, "database.url"),
    ],
)
def test_a_bad_value_fails_naming_the_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_settings(env=env)


def test_a_bad_file_fails_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[limits]\ntitle_max = "long"\n')
    with pytest.raises(ConfigError, match=r"limits\.title_max"):
        load_settings(path, env={})
    path.write_text("[limits]\ntitel_max = 5\n")
    with pytest.raises(ConfigError, match=r"limits\.titel_max: unknown"):
        load_settings(path, env={})
    path.write_text("[limits\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, env={})


def test_proxies_are_believed_only_when_listed(tmp_path: Path) -> None:
    """`server.forwarded_allow_ips`: empty by default; a list in the file, or addresses
    separated by commas in FORUM_SERVER_FORWARDED_ALLOW_IPS (the environment wins);
    uvicorn's old FORWARDED_ALLOW_IPS is still read when the setting is not given."""
    assert load_settings(env={}).server.forwarded_allow_ips == ()
    path = tmp_path / "c.toml"
    path.write_text('[server]\nforwarded_allow_ips = ["127.0.0.1", "10.0.0.0/24", "::1"]\n')
    allowed = ("127.0.0.1", "10.0.0.0/24", "::1")
    assert load_settings(path, env={}).server.forwarded_allow_ips == allowed
    env = {"FORUM_SERVER_FORWARDED_ALLOW_IPS": "192.0.2.1, 10.1.2.3/16"}
    assert load_settings(path, env=env).server.forwarded_allow_ips == ("192.0.2.1", "10.1.0.0/16")
    assert (
        load_settings(
            path, env={**env, "FORUM_SERVER_FORWARDED_ALLOW_IPS": ""}
        ).server.forwarded_allow_ips
        == ()
    )
    legacy = {"FORWARDED_ALLOW_IPS": "10.0.0.5"}
    assert load_settings(env=legacy).server.forwarded_allow_ips == ("10.0.0.5",)
    assert load_settings(path, env=legacy).server.forwarded_allow_ips == allowed
    for bad in ("*", "localhost", "10.0.0.300", "10.0.0.0/40"):
        with pytest.raises(ConfigError, match=r"server\.forwarded_allow_ips: expected IP"):
            load_settings(env={"FORUM_SERVER_FORWARDED_ALLOW_IPS": bad})
    path.write_text('[server]\nforwarded_allow_ips = "127.0.0.1"\n')
    # Text in the file is read like the environment's; a number is not an address list.
    assert load_settings(path, env={}).server.forwarded_allow_ips == ("127.0.0.1",)
    path.write_text("[server]\nforwarded_allow_ips = [1]\n")
    with pytest.raises(ConfigError, match=r"server\.forwarded_allow_ips: expected a list"):
        load_settings(path, env={})


def test_a_missing_email_ca_file_is_named_at_start(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[email]\nca_file = "certs/relay-ca.pem"\n')
    with pytest.raises(ConfigError, match=r"email\.ca_file: no such file: .*certs/relay-ca\.pem"):
        load_settings(path, env={})
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "relay-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    # Relative to the config file's folder, as every path in it is.
    assert load_settings(path, env={}).email.ca_file == "certs/relay-ca.pem"


def test_config_path_comes_from_forum_config(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text('[site]\nname = "Elsewhere"\n')
    settings = load_settings(env={"FORUM_CONFIG": str(path)})
    assert settings.site.name == "Elsewhere"
    assert settings.base_dir == tmp_path


def test_secret_key_is_generated_once_with_owner_only_permissions(tmp_path: Path) -> None:
    settings = replace(load_settings(env={}), base_dir=tmp_path)
    first = secret_key(settings)
    assert len(first) >= 40
    key_file = tmp_path / "data" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert secret_key(settings) == first


def test_no_secret_is_committed_in_config_toml() -> None:
    assert load_settings(env={}).security.secret_key == ""
