"""No post can hold the server: the renderer's cost is linear in its input, renders from
requests run in worker processes within a time budget, a post's HTML has a size limit,
previews and edits are rate-limited per account, and protocol-relative links are what they
are (links to another site).

Nothing here measures wall-clock time: cost is counted (Python lines executed, and the
open-element depth the sanitiser's HTML parser scans at each tag), and the time budget is
exercised with a worker that never finishes.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser
from starlette.applications import Starlette

from forum import markdown, ratelimit, rendering
from forum.accounts.models import User
from forum.config import LimitSettings, Settings
from forum.errors import ValidationError
from forum.markdown import LINK_REL, Rendered, TooLarge, render
from forum.threads.models import Post, Thread
from tests.factories import csrf, login, make_member, make_network, make_thread

# ------------------------------------------------------------------ linear cost

# Hostile families: each builds a body from a repeat count k.
FAMILIES: dict[str, Callable[[int], str]] = {
    "emphasis around mentions": lambda k: ("*@a " * k) + ("@a* " * k),
    "nested emphasis": lambda k: ("*a " * k) + ("a* " * k),
    "nested underscores": lambda k: ("_a " * k) + ("a_ " * k),
    "nested strong": lambda k: ("**a " * k) + ("a** " * k),
    "nested strikethrough": lambda k: ("~~a " * k) + ("a~~ " * k),
    "mixed nesting": lambda k: ("*_**~~a " * k) + ("a~~**_* " * k),
    "links inside nested emphasis": lambda k: ("*[a](b) " * k) + ("a* " * k),
    "mentions": lambda k: "@a " * k,
    "emphasised mentions": lambda k: "**@a** " * k,
    "open brackets": lambda k: "[" * k,
    "link openers": lambda k: "[a](" * k,
    "nested link texts": lambda k: ("[" * k) + "a" + ("](b)" * k),
    "nested images": lambda k: ("![" * k) + "a" + ("](https://x.example/y)" * k),
    "quotes": lambda k: ">" * k + " a",
    "nested lists": lambda k: "".join("  " * (i % 40) + "- x\n" for i in range(k)),
    "backtick runs": lambda k: "".join("`" * (i % 60 + 1) + "a" for i in range(k)),
    "ampersands": lambda k: "&" * k,
    "angle brackets": lambda k: "<" * k,
    "entities": lambda k: "&amp; &#x26; " * k,
    "table rows": lambda k: "|a|b|\n|-|-|\n" + "|x|*y*|\n" * k,
    "bare links": lambda k: "https://a.example/ " * k,
}


class _DepthCost(HTMLParser):
    """Sum, over the elements of the output, of how many are open around each: the lists
    html5lib scans at every tag (open elements, active formatting elements) are this long."""

    VOID = frozenset({"br", "hr", "img"})

    def __init__(self) -> None:
        super().__init__()
        self.open = 0
        self.cost = 0
        self.deepest = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.cost += self.open
        if tag not in self.VOID:
            self.open += 1
            self.deepest = max(self.deepest, self.open)

    def handle_endtag(self, tag: str) -> None:
        self.open -= 1


def _lines_executed(source: str) -> int:
    count = 0

    def tracer(frame: object, event: str, arg: object) -> Callable[..., object]:
        nonlocal count
        count += 1
        return tracer

    sys.settrace(tracer)
    try:
        render(source)
    finally:
        sys.settrace(None)
    return count


def _depth(html: str) -> _DepthCost:
    parser = _DepthCost()
    parser.feed(html)
    parser.close()
    return parser


@pytest.mark.parametrize("family", list(FAMILIES))
def test_rendering_cost_is_linear_in_the_input(family: str) -> None:
    """Doubling a hostile body at most (about) doubles the work, counted two ways."""
    build = FAMILIES[family]
    small, large = build(150), build(300)
    render(small), render(large)  # one-time work (caches, lazy imports) is not counted
    lines_ratio = _lines_executed(large) / _lines_executed(small)
    assert lines_ratio < 2.3, f"{family}: Python work grew {lines_ratio:.2f}x for 2x input"
    small_depth, large_depth = _depth(render(small).html), _depth(render(large).html)
    depth_ratio = (large_depth.cost + 1) / (small_depth.cost + 1)
    assert depth_ratio < 2.3, f"{family}: tag-depth work grew {depth_ratio:.2f}x for 2x input"


@pytest.mark.parametrize("family", list(FAMILIES))
def test_output_nesting_is_bounded(family: str) -> None:
    html = render(FAMILIES[family](2_000)).html
    # block nesting (markdown-it's maxNesting) plus inline formatting, plus a link and <p>
    assert _depth(html).deepest <= markdown.MAX_NESTING + markdown.MAX_INLINE_NESTING + 3


def test_formatting_deeper_than_the_bound_stays_as_its_markup() -> None:
    depth = markdown.MAX_INLINE_NESTING
    rendered = render(("*a " * (depth + 2)) + ("a* " * (depth + 2)))
    assert rendered.html.count("<em>") == depth
    assert rendered.html.count("</em>") == depth
    assert "*a *a a* a*" in rendered.html  # the two innermost pairs, as written
    # ordinary nesting is untouched
    assert render("***a** b* ~~_c_~~").html == (
        "<p><em><strong>a</strong> b</em> <s><em>c</em></s></p>\n"
    )


# ---------------------------------------------------------------------- size bound


def test_html_over_the_size_limit_is_refused_before_sanitising() -> None:
    body = "@a " * 16_666  # 50,000 characters, 1.28 MB of HTML
    with pytest.raises(TooLarge) as caught:
        render(body, max_html_bytes=LimitSettings().max_html_bytes)
    assert caught.value.size > LimitSettings().max_html_bytes
    ordinary = "A sentence with a [link](https://example.org) and @someone. " * 800
    assert len(ordinary) < LimitSettings().body_max
    assert render(ordinary, max_html_bytes=LimitSettings().max_html_bytes).html


async def test_an_oversized_post_is_refused_in_the_form_with_the_text_kept(
    client: httpx.AsyncClient,
) -> None:
    network = await make_network("dl")
    alice = await make_member(network)
    thread = await make_thread(network, alice)
    await login(client, alice)
    url = f"/n/dl/t/{thread.id}/reply"
    token = await csrf(client, url)
    body = "@a " * 16_666
    for action in ("preview", "post"):
        r = await client.post(url, data={"body": body, "action": action, "csrf_token": token})
        assert r.status_code == 422
        doc = LexborHTMLParser(r.text)
        summary = doc.css_first(".error-summary").text()
        assert "the limit is 500,000" in summary and "bytes" in summary
        assert doc.css_first("textarea#body").text() == body
    assert await Post.filter(thread_id=thread.id).count() == 1


async def test_an_oversized_preview_is_a_400_with_a_json_error(
    client: httpx.AsyncClient,
) -> None:
    network = await make_network("dl")
    alice = await make_member(network)
    await login(client, alice)
    token = await csrf(client, "/")
    r = await client.post("/api/v1/preview", data={"body": "@a " * 16_666, "csrf_token": token})
    assert r.status_code == 400
    assert "the limit is 500,000" in r.json()["error"]


# ------------------------------------------------------------- off the event loop


def _never_finishes(source: str, max_html_bytes: int) -> Rendered:
    time.sleep(3600)
    raise AssertionError("unreachable")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a killed child not yet reaped is a zombie: gone for our purposes
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def _wait_dead(pid: int) -> bool:
    for _ in range(500):
        if not _alive(pid):
            return True
        await asyncio.sleep(0.01)
    return False


async def test_a_render_over_budget_is_abandoned_and_its_worker_killed() -> None:
    pool = rendering.RenderPool(workers=1, budget_ms=300, target=_never_finishes)
    try:
        task = asyncio.ensure_future(pool.render("anything", 1000))
        # the event loop is free while the worker renders: other work goes on meanwhile
        for _ in range(200):
            await asyncio.sleep(0.01)
            if pool.pids():
                break
        assert not task.done()
        (pid,) = pool.pids()
        with pytest.raises(TimeoutError):
            await task
        assert pool.killed == 1
        assert await _wait_dead(pid), "the worker that ran over budget still runs"
        pool.target = rendering._render_in_worker  # the replacement worker renders
        rendered = await pool.render("*fine*", 1000)
        assert rendered.html == "<p><em>fine</em></p>\n"
        assert pid not in pool.pids()
    finally:
        pool.close()


async def test_a_render_whose_caller_went_away_is_killed_too() -> None:
    pool = rendering.RenderPool(workers=1, budget_ms=600_000, target=_never_finishes)
    try:
        task = asyncio.ensure_future(pool.render("anything", 1000))
        for _ in range(500):
            await asyncio.sleep(0.01)
            if pool.pids():
                break
        (pid,) = pool.pids()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await _wait_dead(pid)
    finally:
        pool.close()


@asynccontextmanager
async def _pooled(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan run, so renders go to the worker pool; a budget of 1 ms,
    which no render of a 50,000-character body meets."""
    from forum.app import create_app

    limits = replace(settings.limits, render_time_budget_ms=1)
    app: Starlette = create_app(replace(settings, limits=limits), manage_db=False)
    async with app.router.lifespan_context(app):
        assert rendering.pool() is not None
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c
    assert rendering.pool() is None


async def test_requests_render_in_the_pool_and_too_complex_posts_are_refused(
    settings: Settings, db: str
) -> None:
    network = await make_network("dl")
    alice = await make_member(network)
    thread = await make_thread(network, alice)
    async with _pooled(settings) as pooled:
        await _refused_as_too_complex(pooled, alice, thread)


async def _refused_as_too_complex(pooled: httpx.AsyncClient, alice: User, thread: Thread) -> None:
    await login(pooled, alice)
    url = f"/n/dl/t/{thread.id}/reply"
    token = await csrf(pooled, url)
    body = ("*@a " * 6250) + ("@a* " * 6250)
    r = await pooled.post(url, data={"body": body, "csrf_token": token})
    assert r.status_code == 422
    doc = LexborHTMLParser(r.text)
    assert "too complex to format" in doc.css_first(".error-summary").text()
    assert doc.css_first("textarea#body").text() == body
    pool = rendering.pool()
    assert pool is not None and pool.killed >= 1
    r = await pooled.post("/api/v1/preview", data={"body": body, "csrf_token": token})
    assert r.status_code == 400 and "too complex to format" in r.json()["error"]


async def test_without_a_started_pool_services_render_inline_with_the_size_limit(
    db: str,
) -> None:
    assert rendering.pool() is None
    assert (await rendering.render("*x*")).html == "<p><em>x</em></p>\n"
    with pytest.raises(ValidationError) as caught:
        await rendering.render("@a " * 16_666)
    assert "limit is 500,000" in caught.value.errors["body"]


# --------------------------------------------------- rate limits, unconfirmed accounts


async def test_previews_are_rate_limited_per_account(client: httpx.AsyncClient) -> None:
    network = await make_network("dl")
    alice = await make_member(network)
    await login(client, alice)
    token = await csrf(client, "/")
    limit = ratelimit.PREVIEWS_PER_ACCOUNT.events
    await ratelimit.record_all([f"preview:account:{alice.id}"] * (limit - 1))
    r = await client.post("/api/v1/preview", data={"body": "*x*", "csrf_token": token})
    assert r.status_code == 200
    r = await client.post("/api/v1/preview", data={"body": "*x*", "csrf_token": token})
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    assert "Too many previews" in r.json()["error"]
    # the forms' Preview button counts against the same limit
    thread = await make_thread(network, alice)
    url = f"/n/dl/t/{thread.id}/reply"
    r = await client.post(url, data={"body": "x", "action": "preview", "csrf_token": token})
    assert r.status_code == 429 and "Retry-After" in r.headers
    doc = LexborHTMLParser(r.text)
    assert "Too many attempts" in doc.css_first(".error-summary").text()
    assert doc.css_first("textarea#body").text() == "x"


async def test_edits_are_rate_limited_per_account(client: httpx.AsyncClient) -> None:
    network = await make_network("dl")
    alice = await make_member(network)
    thread = await make_thread(network, alice)
    post = await Post.filter(thread_id=thread.id).first()
    assert post is not None
    await login(client, alice)
    url = f"/n/dl/p/{post.id}/edit"
    token = await csrf(client, url)
    limit = ratelimit.EDITS_PER_ACCOUNT.events
    await ratelimit.record_all([f"edit:account:{alice.id}"] * (limit - 1))
    r = await client.post(url, data={"body": "edited once", "csrf_token": token})
    assert r.status_code == 303
    r = await client.post(url, data={"body": "edited twice", "csrf_token": token})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert LexborHTMLParser(r.text).css_first("textarea#body").text() == "edited twice"
    await post.refresh_from_db()
    assert post.body == "edited once"


async def test_an_unconfirmed_account_previews_nothing(client: httpx.AsyncClient) -> None:
    network = await make_network("dl")
    bob = await make_member(network)
    bob.email_verified_at = None
    await bob.save(update_fields=["email_verified_at"])
    await login(client, bob)
    token = await csrf(client, "/")
    r = await client.post("/api/v1/preview", data={"body": "*x*", "csrf_token": token})
    assert r.status_code == 403
    assert "Confirm your email address" in r.json()["error"]
    assert "html" not in r.json()


# ----------------------------------------------------------- protocol-relative links

BASE = "https://forum.example/n/dl/t/1"
PROTOCOL_RELATIVE = [
    "[x](//evil.example)",
    "[x](//evil.example/path?q=1)",
    "[x](/\\evil.example)",
    "[x](\\/evil.example)",
    "[x](///evil.example)",
    "[x](<//evil.example>)",
    "[x](< //evil.example>)",
    "[x](</\t/evil.example>)",
    "[x][r]\n\n[r]: //evil.example",
    "[x][r]\n\n[r]: <\\\\evil.example>",
    "![x](//evil.example/a.png)",
    "<//evil.example>",
    "see //evil.example.com/x",
    "see \\\\evil.example.com/x",
]
_NOISE = re.compile(r"[\t\n\r]")
_HREF = re.compile(r'href="([^"]*)"')


def _where_a_browser_goes(href: str) -> str:
    """The host a browser would resolve this href to on a page of ours (it drops tabs and
    newlines, strips leading spaces and controls, and treats \\ as / in http(s) URLs)."""
    import html as html_module

    cleaned = _NOISE.sub("", html_module.unescape(href)).lstrip("\x00 \x01\x02\x03\x04\x05")
    cleaned = cleaned.replace("\\", "/")
    return urlsplit(urljoin(BASE, cleaned)).netloc


@pytest.mark.parametrize("source", PROTOCOL_RELATIVE)
def test_protocol_relative_targets_are_external_https_links(source: str) -> None:
    html = render(source).html
    for href in _HREF.findall(html):
        host = _where_a_browser_goes(href)
        if host != "forum.example":  # leaves the site: says so, as an https link
            assert href.startswith("https://"), (source, html)
    for tag in re.findall(r"<a [^>]*>", html):
        assert f'rel="{LINK_REL}"' in tag


@pytest.mark.parametrize(
    "markup",
    [
        '<a href="//evil.example">x</a>',
        '<a href=" //evil.example">x</a>',
        '<a href="/\\evil.example">x</a>',
        '<a href="\\\\evil.example">x</a>',
        '<a href="/\t/evil.example">x</a>',
        '<a href="/&#9;/evil.example">x</a>',
        '<img src="//evil.example/a.png">',
    ],
)
def test_the_sanitiser_drops_protocol_relative_urls(markup: str) -> None:
    cleaned = markdown._sanitise(markup)
    for href in _HREF.findall(cleaned):
        assert _where_a_browser_goes(href) == "forum.example", cleaned
    assert "evil.example" not in "".join(re.findall(r'src="[^"]*"', cleaned))


def _report_niceness(source: str, max_html_bytes: int) -> Rendered:
    return Rendered(html=str(os.nice(0)), text="", mentions=())


async def test_workers_yield_the_cpu_to_the_server() -> None:
    """When renders keep every core busy, pages and searches still get the CPU first."""
    pool = rendering.RenderPool(workers=1, budget_ms=60_000, target=_report_niceness)
    try:
        rendered = await pool.render("x", 1000)
        assert int(rendered.html) >= os.nice(0) + rendering.WORKER_NICENESS
    finally:
        pool.close()
