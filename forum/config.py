"""Settings: `config.toml`, then environment overrides, into one frozen, typed `Settings`.

Every key in the file can be overridden by `FORUM_<SECTION>_<KEY>`. A bad value fails at
start-up with a `ConfigError` naming the key, so a typo never becomes a silent default.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config.toml"


class ConfigError(Exception):
    """A setting is missing, unknown or of the wrong kind; the message names the key."""


@dataclasses.dataclass(frozen=True, slots=True)
class SiteSettings:
    name: str = "Network Forum"
    base_url: str = "http://127.0.0.1:8000"

    def link(self, path: str) -> str:
        """An absolute link to `path` on this site, for emails and feeds."""
        return self.base_url.rstrip("/") + path


@dataclasses.dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_body_bytes: int = 1_048_576
    # "text" or "json": the format of the forum's one line per request.
    log_format: str = "text"
    # Empty: /metrics is off (404). Set: Prometheus scrapes with "Authorization: Bearer <it>".
    metrics_token: str = ""
    # Addresses or networks (CIDR) of the reverse proxies whose X-Forwarded-For and
    # X-Forwarded-Proto are believed. Empty: none, whatever connects is the client (so
    # nothing on the host can pick an address to dodge the per-address limits).
    forwarded_allow_ips: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str = "sqlite://data/forum.sqlite3"
    busy_timeout_ms: int = 10_000


@dataclasses.dataclass(frozen=True, slots=True)
class SearchSettings:
    index_dir: str = "search_index"
    run_indexer: str = "auto"
    # A search stops after this long and shows what it found so far.
    time_budget_ms: int = 2000
    # Searches run at once in a process (at most one per client address), and how many
    # more of one address's may wait their turn (one more is refused).
    searches_at_once: int = 2
    searches_waiting_per_client: int = 2
    # Searches per minute from one address, per process (a slow search counts for more).
    searches_per_minute: int = 60


@dataclasses.dataclass(frozen=True, slots=True)
class SecuritySettings:
    secret_key: str = ""
    data_dir: str = "data"
    secure_cookies: str = "auto"
    session_days: int = 30
    # A session unused for this long has ended (the owner logs in again).
    session_idle_hours: int = 336


@dataclasses.dataclass(frozen=True, slots=True)
class EmailSettings:
    # "folder": write each message as a file under `folder` and log its links (no mail
    # server needed). "smtp": send through the server below.
    backend: str = "folder"
    folder: str = "data/mail"
    from_address: str = "Network Forum <forum@localhost>"
    host: str = "localhost"
    port: int = 587
    # "starttls" (usually port 587), "tls" (implicit TLS, usually 465) or "none".
    security: str = "starttls"
    # A PEM file of the certificate authorities that may vouch for the SMTP server (an
    # organisation's own relay is often signed by its internal CA); empty: the system's.
    ca_file: str = ""
    username: str = ""
    password: str = ""
    timeout_seconds: int = 30
    # At most one email about a thread per person per this many minutes.
    quiet_minutes: int = 60


@dataclasses.dataclass(frozen=True, slots=True)
class LimitSettings:
    title_max: int = 200
    body_max: int = 50_000
    tags_max: int = 8
    threads_per_page: int = 30
    # Most bytes of HTML one post may become (mentions and links expand a lot).
    max_html_bytes: int = 500_000
    # Longest a render from a request may take before it is abandoned (its worker killed).
    render_time_budget_ms: int = 2000
    # Worker processes that render posts off the event loop, per server process.
    render_workers: int = 2


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    site: SiteSettings = dataclasses.field(default_factory=SiteSettings)
    server: ServerSettings = dataclasses.field(default_factory=ServerSettings)
    database: DatabaseSettings = dataclasses.field(default_factory=DatabaseSettings)
    search: SearchSettings = dataclasses.field(default_factory=SearchSettings)
    security: SecuritySettings = dataclasses.field(default_factory=SecuritySettings)
    limits: LimitSettings = dataclasses.field(default_factory=LimitSettings)
    email: EmailSettings = dataclasses.field(default_factory=EmailSettings)
    # Folder that relative paths in the file are resolved against.
    base_dir: Path = ROOT

    def path(self, value: str) -> Path:
        """Resolve a configured path against the config file's folder."""
        p = Path(value)
        return p if p.is_absolute() else self.base_dir / p

    @property
    def data_dir(self) -> Path:
        return self.path(self.security.data_dir)

    @property
    def index_dir(self) -> Path:
        return self.path(self.search.index_dir)

    @property
    def database_url(self) -> str:
        """The database URL with a relative SQLite path made absolute."""
        url = self.database.url
        if url.startswith("sqlite://"):
            rest = url.removeprefix("sqlite://")
            path, _, query = rest.partition("?")
            if path != ":memory:":
                path = str(self.path(path))
            params = f"busy_timeout={self.database.busy_timeout_ms}"
            return f"sqlite://{path}?{query + '&' if query else ''}{params}"
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.database.url.startswith("sqlite://")


_SECTIONS: dict[str, type] = {
    "site": SiteSettings,
    "server": ServerSettings,
    "database": DatabaseSettings,
    "search": SearchSettings,
    "security": SecuritySettings,
    "limits": LimitSettings,
    "email": EmailSettings,
}

_CHOICES = {
    ("security", "secure_cookies"): {"auto", "always", "never"},
    ("search", "run_indexer"): {"auto", "no"},
    ("email", "backend"): {"folder", "smtp"},
    ("server", "log_format"): {"text", "json"},
    ("email", "security"): {"starttls", "tls", "none"},
}
_POSITIVE = {
    ("server", "port"),
    ("server", "workers"),
    ("server", "max_body_bytes"),
    ("search", "time_budget_ms"),
    ("search", "searches_at_once"),
    ("search", "searches_per_minute"),
    ("limits", "title_max"),
    ("limits", "body_max"),
    ("limits", "tags_max"),
    ("limits", "threads_per_page"),
    ("limits", "max_html_bytes"),
    ("limits", "render_time_budget_ms"),
    ("limits", "render_workers"),
    ("security", "session_days"),
    ("security", "session_idle_hours"),
    ("email", "port"),
    ("email", "timeout_seconds"),
    ("email", "quiet_minutes"),
}


def _addresses(name: str, value: Any) -> tuple[str, ...]:
    """A list of IP addresses and networks: a TOML list, or text separated by commas (from
    the environment). Each is checked here: uvicorn would quietly take a typo for a name
    that never matches."""
    if isinstance(value, str):
        value = [part for part in value.replace(",", " ").split() if part]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{name}: expected a list of addresses, got {value!r}")
    addresses = []
    for item in value:
        try:
            if "/" in item:
                addresses.append(str(ipaddress.ip_network(item.strip(), strict=False)))
            else:
                addresses.append(str(ipaddress.ip_address(item.strip())))
        except ValueError:
            raise ConfigError(
                f"{name}: expected IP addresses or networks (127.0.0.1, 10.0.0.0/24), got {item!r}"
            ) from None
    return tuple(addresses)


def _coerce(section: str, key: str, kind: type, value: Any) -> Any:
    name = f"{section}.{key}"
    if kind is tuple:
        return _addresses(name, value)
    if kind is int:
        if isinstance(value, bool):
            raise ConfigError(f"{name}: expected a whole number, got {value!r}")
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise ConfigError(f"{name}: expected a whole number, got {value!r}") from None
        if not isinstance(value, int):
            raise ConfigError(f"{name}: expected a whole number, got {value!r}")
        if (section, key) in _POSITIVE and value <= 0:
            raise ConfigError(f"{name}: must be greater than 0, got {value}")
        if key == "port" and value > 65535:
            raise ConfigError(f"{name}: must be a port number (1-65535), got {value}")
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{name}: expected text, got {value!r}")
    choices = _CHOICES.get((section, key))
    if choices and value not in choices:
        raise ConfigError(f"{name}: must be one of {', '.join(sorted(choices))}, got {value!r}")
    return value


def _section(section: str, kind: type, raw: Mapping[str, Any], env: Mapping[str, str]) -> object:
    fields = {f.name: f for f in dataclasses.fields(kind)}
    unknown = set(raw) - set(fields)
    if unknown:
        raise ConfigError(f"{section}.{sorted(unknown)[0]}: unknown setting")
    values: dict[str, Any] = {}
    for name, field in fields.items():
        env_key = f"FORUM_{section.upper()}_{name.upper()}"
        if env_key in env:
            values[name] = _coerce(section, name, _type_of(field), env[env_key])
        elif name in raw:
            values[name] = _coerce(section, name, _type_of(field), raw[name])
    return kind(**values)


def _type_of(field: dataclasses.Field[Any]) -> type:
    if field.type in ("int", int):
        return int
    return tuple if str(field.type).startswith("tuple") else str


def _following_the_server(site: SiteSettings, server: ServerSettings) -> SiteSettings:
    """The local address a new install links to (emails, feeds, the demo's own login link)
    is wherever `forum serve` listens: `PORT=8010 make run` links to port 8010. Any other
    base URL is kept as configured."""
    default = ServerSettings()
    if site.base_url.rstrip("/") != f"http://{default.host}:{default.port}":
        return site  # configured
    if (server.host, server.port) == (default.host, default.port):
        return site  # already where it serves
    host = "127.0.0.1" if server.host in ("0.0.0.0", "::", "") else server.host  # noqa: S104
    host = f"[{host}]" if ":" in host else host
    return dataclasses.replace(site, base_url=f"http://{host}:{server.port}")


def _legacy_forwarded(server: ServerSettings, env: Mapping[str, str]) -> ServerSettings:
    """uvicorn's own `FORWARDED_ALLOW_IPS`, which deployments set before the forum had
    `server.forwarded_allow_ips`, is still read when the setting is empty and not in the
    environment (the forum hands uvicorn its list, so uvicorn no longer reads it): an
    upgrade must not quietly stop believing a proxy it was told to believe."""
    given = server.forwarded_allow_ips or "FORUM_SERVER_FORWARDED_ALLOW_IPS" in env
    legacy = env.get("FORWARDED_ALLOW_IPS", "").strip()
    if given or not legacy:
        return server
    ips = _addresses("FORWARDED_ALLOW_IPS (server.forwarded_allow_ips)", legacy)
    return dataclasses.replace(server, forwarded_allow_ips=ips)


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the config file (default `config.toml`, or `$FORUM_CONFIG`) and the environment.

    Raises ConfigError naming the key when a value is unknown or of the wrong kind.
    """
    env = os.environ if env is None else env
    if path is None:
        path = env.get("FORUM_CONFIG") or DEFAULT_CONFIG
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(raw) - set(_SECTIONS)
    if unknown:
        raise ConfigError(f"{sorted(unknown)[0]}: unknown section in {path}")
    sections: dict[str, Any] = {}
    for name, kind in _SECTIONS.items():
        body = raw.get(name, {})
        if not isinstance(body, dict):
            raise ConfigError(f"{name}: expected a [{name}] table")
        sections[name] = _section(name, kind, body, env)
    sections["server"] = _legacy_forwarded(sections["server"], env)
    sections["site"] = _following_the_server(sections["site"], sections["server"])
    settings = Settings(base_dir=path.resolve().parent, **sections)
    url = settings.database.url
    if not url.startswith(("sqlite://", "postgres://", "postgresql://", "asyncpg://")):
        raise ConfigError(f"database.url: expected sqlite://… or postgres://…, got {url!r}")
    ca_file = settings.email.ca_file
    if ca_file and not settings.path(ca_file).is_file():
        # Said at start, not at the first email an hour later.
        raise ConfigError(f"email.ca_file: no such file: {settings.path(ca_file)}")
    return settings


def secret_key(settings: Settings) -> str:
    """The configured secret, or one generated once into the data folder (mode 0600)."""
    if settings.security.secret_key:
        return settings.security.secret_key
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    key_file = data / "secret_key"
    try:
        return key_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(48)
    # O_EXCL: when two processes start at once, one writes and the other reads its key.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    return key
