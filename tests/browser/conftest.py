"""Real-browser tests: a real server in a subprocess, and Playwright driving Debian's Chromium.

One server serves this whole folder: a temporary SQLite database migrated and loaded with the
demo (and Mallory's hostile content, `hostile.py`) through the `forum` command, mail written
to a temporary folder so that tests can follow emailed links. Tests share it, so each one
makes its own threads with titles of its own.

Every page a test opens is watched: a dialog (unless the test answers dialogs itself,
`open(dialogs=True)`), an uncaught script error, a console error (a CSP refusal included),
a request to another origin or a failed stylesheet or script fails the test at teardown
(`Browse.problems`).

Without Chromium (or Playwright) every test here is skipped, and the run's last line says so
(tests/conftest.py):
`.ci/run` installs Chromium so that CI always runs them.
"""

from __future__ import annotations

import email
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
REPO = HERE.parent.parent
CHROMIUM = Path(os.environ.get("FORUM_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "demo-password-2026"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
LINK = re.compile(r"https?://\S+")
# Where test_screenshots.py saves the pictures the README shows: `make screenshots` sets it
# to docs/screenshots/. Left unset, they go to a temporary folder: the demo's dates follow
# the day it is loaded, so every run on a new day would otherwise change the committed PNGs.
SCREENSHOTS_ENV = "FORUM_SCREENSHOTS"


def _skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"BROWSER TESTS SKIPPED: {CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "BROWSER TESTS SKIPPED: playwright is not installed (make dev)"
    return None


SKIP_REASON = _skip_reason()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    slots = [k for k, item in enumerate(items) if HERE in item.path.parents]
    ours = [items[k] for k in slots]
    # Screenshots first: they show the demo as a newcomer finds it, before other tests add
    # their threads to it.
    first = [item for item in ours if item.path.name == "test_screenshots.py"]
    for k, item in zip(slots, first + [item for item in ours if item not in first], strict=True):
        items[k] = item
    for item in ours:
        item.add_marker(pytest.mark.browser)
        # One server and one browser serve this folder: under pytest-xdist (`make test`
        # runs two workers) its tests go to the same worker, in the order above.
        item.add_marker(pytest.mark.xdist_group("browser"))
        if SKIP_REASON:
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


# --- the server ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    root: Path
    process: subprocess.Popen[bytes]

    @property
    def mail_dir(self) -> Path:
        return self.root / "mail"

    def messages(self) -> list[EmailMessage]:
        found = []
        for path in sorted(self.mail_dir.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(message, EmailMessage)
            found.append(message)
        return found

    def wait_for_mail(self, to: str, containing: str, timeout: float = 20.0) -> str:
        """The first link in the newest mail to `to` with `containing` in its path."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.messages()):
                if to not in str(message["To"]):
                    continue
                part = message.get_body(preferencelist=("plain",))
                assert part is not None
                for url in LINK.findall(str(part.get_content())):
                    if containing in url:
                        return str(url)
            time.sleep(0.2)
        raise AssertionError(f"no mail to {to} with a link containing {containing!r}")

    def log(self) -> str:
        return (self.root / "server.log").read_text(errors="replace")


def _forum(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "forum", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"forum {' '.join(args)} failed:\n{result.stderr}"


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("browser-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORUM_")}
    env.update(
        FORUM_SITE_BASE_URL=url,
        FORUM_DATABASE_URL=f"sqlite://{root}/forum.sqlite3",
        FORUM_SEARCH_INDEX_DIR=str(root / "search_index"),
        FORUM_SECURITY_DATA_DIR=str(root / "data"),
        FORUM_SECURITY_SECRET_KEY="browser-test-secret-" + "x" * 40,
        FORUM_EMAIL_BACKEND="folder",
        FORUM_EMAIL_FOLDER=str(root / "mail"),
        PYTHONPATH=str(REPO),
    )
    _forum(env, "db", "upgrade")
    _forum(env, "demo")
    seeded = subprocess.run(
        [sys.executable, "-m", "tests.browser.hostile"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "forum", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    srv = Server(url=url, root=root, process=process)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"the server stopped:\n{srv.log()}"
            try:
                with urllib.request.urlopen(url + "/", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"the server did not start:\n{srv.log()}"
            time.sleep(0.2)
        yield srv
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# --- the browser -----------------------------------------------------------------------------


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Browse:
    """Opens watched pages: `open(user=…, js=…, width=…, dark=…)` gives a Playwright Page."""

    server: Server
    chromium: Any
    logins: dict[str, Any]
    contexts: list[Any] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def open(
        self,
        user: str | None = None,
        *,
        js: bool = True,
        phone: bool = False,
        dark: bool = False,
        reduced_motion: bool = False,
        dialogs: bool = False,
    ) -> Any:
        """`dialogs`: the test answers the page's dialogs itself (they are no problem)."""
        state = self.login_state(user) if user else None
        context = self.chromium.new_context(
            base_url=self.server.url,
            viewport=PHONE if phone else DESKTOP,
            color_scheme="dark" if dark else "light",
            java_script_enabled=js,
            storage_state=state,
            locale="en-GB",
            timezone_id="Europe/London",
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        self.watch(page, dialogs=dialogs)
        return page

    def watch(self, page: Any, *, dialogs: bool = False) -> None:
        origin = self.server.url

        def on_dialog(dialog: Any) -> None:
            self.problems.append(f"dialog opened: {dialog.type} {dialog.message!r}")
            dialog.dismiss()

        def on_console(message: Any) -> None:
            # A document answered with 404 (a page we meant to open) logs "Failed to load
            # resource": failed subresources are caught by on_response instead.
            if message.type == "error" and not message.text.startswith("Failed to load resource"):
                self.problems.append(f"console error on {page.url}: {message.text}")

        def on_request(request: Any) -> None:
            url = request.url
            if not (url.startswith(origin + "/") or url.startswith(("data:", "about:"))):
                self.problems.append(f"request to another origin from {page.url}: {url}")

        def on_response(response: Any) -> None:
            if response.request.resource_type != "document" and response.status >= 400:
                self.problems.append(f"{response.status} for {response.url} on {page.url}")

        if not dialogs:
            page.on("dialog", on_dialog)
        page.on("console", on_console)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("request", on_request)
        page.on("response", on_response)

    def login_state(self, user: str) -> Any:
        """Cookies of a logged-in session for `user`, made once per server."""
        if user not in self.logins:
            context = self.chromium.new_context(base_url=self.server.url)
            page = context.new_page()
            login(page, user)
            self.logins[user] = context.storage_state()
            context.close()
        return self.logins[user]

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def login(page: Any, user: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Username or email", exact=True).fill(user)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture(scope="package")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get(SCREENSHOTS_ENV)
    path = (REPO / folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="package")
def logins() -> dict[str, Any]:
    return {}


@pytest.fixture
def browse(server: Server, chromium: Any, logins: dict[str, Any]) -> Iterator[Browse]:
    b = Browse(server=server, chromium=chromium, logins=logins)
    try:
        yield b
    finally:
        b.close()
    assert not b.problems, "\n".join(b.problems)


def unique(prefix: str) -> str:
    """A title no other test uses."""
    return f"{prefix} {time.monotonic_ns() % 10_000_000}"


def get_json(server: Server, path: str) -> Any:
    import json

    with urllib.request.urlopen(server.url + path, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


@dataclass(frozen=True)
class Demo:
    """Addresses in the demo content that tests visit."""

    thread: str  # "How is your data team structured?" (Data Leaders, with a summary)
    thread_id: int
    first_post_id: int
    reply_id: int
    article: str  # its knowledge-base article
    hostile_thread: str  # Mallory's
    locked_id: int  # a locked thread in Digital Procurement


@pytest.fixture(scope="package")
def demo(server: Server) -> Demo:
    from forum.demo.content import DATA_TEAM_THREAD

    from .hostile import NETWORK, USERNAME

    threads = get_json(server, "/api/v1/n/data-leaders/threads")["threads"]
    thread = next(t for t in threads if t["title"] == DATA_TEAM_THREAD)
    hostile = next(
        t
        for t in get_json(server, f"/api/v1/n/{NETWORK}/threads")["threads"]
        if t["author"] == USERNAME
    )
    posts = get_json(server, f"/api/v1/n/data-leaders/t/{thread['id']}")["posts"]
    procurement = get_json(server, "/api/v1/n/digital-procurement/threads")["threads"]
    locked = next(t for t in procurement if t["locked"])
    return Demo(
        thread=thread["url"],
        thread_id=thread["id"],
        first_post_id=posts[0]["id"],
        reply_id=posts[1]["id"],
        article=thread["url"].replace("/t/", "/kb/"),
        hostile_thread=hostile["url"],
        locked_id=locked["id"],
    )
