"""Specification of forum.markdown: the single path from user-written text to HTML.

The exact output for named inputs is pinned in tests/fixtures/markdown_cases.json (each case
reviewed by eye when it was pinned); the property tests below check the safety guarantees on
many hostile inputs without caring about the exact markup.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from forum import markdown
from forum.markdown import LINK_REL, Rendered, pygments_css, render

ROOT = Path(__file__).resolve().parent.parent
CASES_FILE = ROOT / "tests" / "fixtures" / "markdown_cases.json"
CASES: list[dict[str, Any]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]

ALLOWED_TAGS = {
    "p", "br", "hr", "blockquote", "h3", "h4", "h5", "h6", "strong", "em", "del", "s",
    "ul", "ol", "li", "code", "pre", "span", "a", "img",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
FORBIDDEN_TAGS = {"script", "iframe", "svg", "math", "form", "object", "embed", "style"}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "class", "rel"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    "code": {"class"},
    "pre": {"class"},
    "span": {"class"},
}
LINK_SCHEMES = {"http", "https", "mailto"}
SCHEME_RE = re.compile(r"([a-z][a-z0-9+.-]*):")
# What browsers ignore when they parse a URL: leading/trailing C0 controls and spaces, and
# tabs/newlines anywhere.
URL_NOISE_RE = re.compile(r"[\t\n\r]")

HOSTILE_INPUTS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "<object data=javascript:alert(1)></object><embed src=javascript:alert(1)>",
    "<form action=javascript:alert(1)><button>go</button></form>",
    "<style>@import 'https://evil.example/x.css';</style>",
    '<a href="javascript:alert(1)">x</a>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    "<details open ontoggle=alert(1)>",
    "<!--><script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](javascript&#x3A;alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](\\javascript:alert(1))",
    "[x](java\u200bscript:alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](<javascript:alert(1)>)",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "[x](file:///etc/passwd)",
    "[x](ftp://example.org/)",
    '[x](https://example.org "x\\" onmouseover=\\"alert(1)")',
    "[x](https://example.org 'x\\' onmouseover=\\'alert(1)')",
    '[x](https://example.org/"><script>alert(1)</script>)',
    '[x][ref]\n\n[ref]: javascript:alert(1) "t"',
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml,<svg onload=alert(1)>)",
    '![x](https://example.org/a.png" onerror="alert(1))',
    '![x" onerror="alert(1)](https://example.org/a.png)',
    "![x](/logout) ![y](//evil.example/t.png) ![z](relative.png)",
    "<javascript:alert(1)>",
    "<vbscript:msgbox(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    'javascript:alert(1) www.example.org/"onmouseover=alert(1)',
    "https://example.org/<script>alert(1)</script>",
    "```html\n<script>alert(1)</script>\n```",
    '```"><img src=x onerror=alert(1)>\n<b>x</b>\n```',
    "```javascript onload=alert(1)\nalert(1)\n```",
    "`<img src=x onerror=alert(1)>`",
    "| <script>x</script> | <img src=x onerror=y> |\n|:-|-:|\n| a | b |",
    '@bob<script>alert(1)</script> @"><svg onload=alert(1)>',
    "@a\u0000b <scr\u0000ipt>alert(1)</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt; &#60;script&#62;",
    "*<img src=x onerror=alert(1)>*",
    "> <iframe src=javascript:alert(1)>\n> > <style>x</style>",
    "<div>\n\n[x](javascript:alert(1))\n\n</div>",
    "[<img src=x onerror=alert(1)>](https://example.org)",
    "[![x](https://example.org/i.png)](javascript:alert(1))",
    "<a href='https://example.org' rel='opener' target=_blank>x</a>",
]


def _case_id(case: dict[str, Any]) -> str:
    return str(case["name"])


def _fuzz_inputs(count: int, seed: int = 20240601) -> list[str]:
    """Random soup of Markdown syntax, raw HTML and attack fragments (deterministic)."""
    pieces = [
        "[", "]", "(", ")", "![", "<", ">", "`", "```", "~~", "*", "_", "#", "> ", "- ",
        "1. ", "|", "|-|", "\n", "\n\n", "  \n", "\\", "&", "&#58;", "&#x6A;", "\"", "'",
        "@", "@bob", "a@b.org", "javascript:", "JAVASCRIPT:", "data:", "vbscript:",
        "http://", "https://", "//", "www.example.org", "onerror=", "onload=", "style=",
        "alert(1)", "<script>", "</script>", "<img src=x ", "<svg ", "<a href=", "x", " ",
        "\t", "\u0000", "\ud800", "\u202e", "<!--", "-->", "<![CDATA[", "]]>",
    ]  # fmt: skip
    rng = random.Random(seed)
    return ["".join(rng.choices(pieces, k=rng.randint(1, 40))) for _ in range(count)]


def _url_scheme(url: str) -> str | None:
    cleaned = URL_NOISE_RE.sub("", url).strip("\x00\x01 \x0b\x0c").lower()
    match = SCHEME_RE.match(cleaned)
    return match.group(1) if match else None


def _assert_safe(html: str) -> None:
    """The guarantees of the sanitiser, checked on the HTML as a browser would parse it."""
    root = HTMLParser(html).root
    assert root is not None
    for node in root.traverse(include_text=False):
        tag = node.tag
        if tag in ("html", "head", "body"):  # added by the parser, never by us
            assert not node.attributes, html
            continue
        assert tag not in FORBIDDEN_TAGS, html
        assert tag in ALLOWED_TAGS, (tag, html)
        attrs = node.attributes
        for name in attrs:
            assert not name.lower().startswith("on"), html
            assert name.lower() != "style", html
            assert name in ALLOWED_ATTRIBUTES.get(tag, set()), (tag, name, html)
        if tag == "a":
            assert attrs.get("rel") == LINK_REL, html
            if "href" in attrs:
                scheme = _url_scheme(attrs["href"] or "")
                assert scheme is None or scheme in LINK_SCHEMES, html
            if "class" in attrs:
                assert attrs["class"] == "mention", html
        if tag == "img" and "src" in attrs:
            assert re.match(r"https?://[^/\s]", attrs["src"] or "", re.IGNORECASE), html
    # What the browser sees must be what we produced, not a reinterpretation of it.
    assert "<script" not in html.lower()


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        '<p onclick="x">a</p>',
        '<p style="color:red">a</p>',
        '<a href="https://e.org">no rel</a>',
        f'<a href="javascript:alert(1)" rel="{LINK_REL}">x</a>',
        f'<a href="java&#x09;script:alert(1)" rel="{LINK_REL}">x</a>',
        '<img src="/logout">',
        "<svg></svg>",
        "<div>not allowed</div>",
        "<style>p{}</style>",
    ],
)
def test_the_safety_check_used_below_does_reject_unsafe_html(html: str) -> None:
    with pytest.raises(AssertionError):
        _assert_safe(html)


# ----------------------------------------------------------------------- pinned cases


def test_fixture_file_has_uniquely_named_cases() -> None:
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names))
    assert len(names) >= 40


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_rendering_matches_pinned_case(case: dict[str, Any]) -> None:
    rendered = render(case["input"])
    assert rendered.html == case["expected_html"]
    if "text" in case:
        assert rendered.text == case["text"]
    if "mentions" in case:
        assert list(rendered.mentions) == case["mentions"]


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_pinned_case_output_is_safe(case: dict[str, Any]) -> None:
    _assert_safe(case["expected_html"])


# -------------------------------------------------------------------- raw HTML, links


def test_raw_html_is_shown_as_text() -> None:
    rendered = render('<b onclick="x()">bold</b>')
    assert rendered.html == "<p>&lt;b onclick=&quot;x()&quot;&gt;bold&lt;/b&gt;</p>\n"
    assert rendered.text == '<b onclick="x()">bold</b>'


@pytest.mark.parametrize("source", HOSTILE_INPUTS)
def test_hostile_input_renders_to_safe_html(source: str) -> None:
    _assert_safe(render(source).html)


@pytest.mark.parametrize("seed", range(4))
def test_random_markup_soup_renders_to_safe_html(seed: int) -> None:
    for source in _fuzz_inputs(150, seed=seed):
        _assert_safe(render(source).html)


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JAVASCRIPT:alert(1))",
        "[x](javascript&#58;alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html,hi)",
        "[x](file:///etc/passwd)",
        "[x](ftp://example.org)",
        "<javascript:alert(1)>",
    ],
)
def test_link_with_disallowed_scheme_stays_literal_text(source: str) -> None:
    html = render(source).html
    assert "<a" not in html
    assert "href" not in html


def test_every_link_carries_the_rel_attribute() -> None:
    html = render("[a](https://a.example) <https://b.example> www.c.org @dave d@e.org").html
    anchors = HTMLParser(html).css("a")
    assert len(anchors) == 5
    assert all(a.attributes.get("rel") == LINK_REL for a in anchors)


def test_rel_is_enforced_by_the_sanitiser_whatever_the_markup_says() -> None:
    cleaned = markdown._sanitise('<a href="https://e.org" rel="opener" target="_blank">x</a>')
    assert cleaned == f'<a href="https://e.org" rel="{LINK_REL}">x</a>'


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ('<a href="javascript:alert(1)" onclick="x">x</a>', f'<a rel="{LINK_REL}">x</a>'),
        ('<a class="btn" href="/x">x</a>', f'<a href="/x" rel="{LINK_REL}">x</a>'),
        ('<img src="x" onerror="alert(1)">', "<img>"),
        ('<img src="/logout" alt="a">', '<img alt="a">'),
        ('<img src="https://e.org/i.png">', '<img src="https://e.org/i.png">'),
        ('<p style="color:red">x</p>', "<p>x</p>"),
        ('<span class="k">x</span>', '<span class="k">x</span>'),
        ('<span class="evil-class">y</span>', "<span>y</span>"),
        ('<code class="language-c++">x</code>', '<code class="language-c++">x</code>'),
        ('<code class="hidden">x</code>', "<code>x</code>"),
        ('<pre class="modal">x</pre>', "<pre>x</pre>"),
        (
            '<table><tr><td align="left" style="x">1</td><td align="justify">2</td></tr></table>',
            '<table><tbody><tr><td align="left">1</td><td>2</td></tr></tbody></table>',
        ),
        ('<ol start="3" type="a"><li>x</li></ol>', '<ol start="3"><li>x</li></ol>'),
        ('<ol start="1;x"><li>x</li></ol>', "<ol><li>x</li></ol>"),
        ("<h1>x</h1>", "&lt;h1&gt;x&lt;/h1&gt;"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("<svg onload=alert(1)></svg>", "&lt;svg onload=alert(1)&gt;&lt;/svg&gt;"),
        ("<!-- x -->y", "y"),
    ],
)  # fmt: skip
def test_sanitiser_allowlist_holds_even_for_markup_markdown_never_produces(
    markup: str, expected: str
) -> None:
    assert markdown._sanitise(markup) == expected


# ---------------------------------------------------------------------------- mentions


def test_mentions_are_lowercased_unique_and_in_order_of_first_appearance() -> None:
    rendered = render("@Carol and @alice, then @CAROL again and @bob_2")
    assert rendered.mentions == ("carol", "alice", "bob_2")


def test_mention_links_to_the_lowercased_profile_but_shows_the_name_as_typed() -> None:
    anchor = HTMLParser(render("hi @MixedCase").html).css_first("a.mention")
    assert anchor is not None
    assert anchor.attributes["href"] == "/u/mixedcase"
    assert anchor.text() == "@MixedCase"


@pytest.mark.parametrize(
    "source",
    [
        "mail a@b.org",
        "`@code`",
        "```\n@block\n```",
        "    @indented",
        "[@linktext](https://e.org)",
        "<https://e.org/@autolink>",
        "https://e.org/@linkified",
        "\\@escaped",
        "![@alt](https://e.org/i.png)",
        "@",
        "@.dot",
        "@-dash",
        "@" + "x" * 41,
    ],
)
def test_text_that_is_not_a_mention(source: str) -> None:
    rendered = render(source)
    assert rendered.mentions == ()
    assert 'class="mention"' not in rendered.html


@pytest.mark.parametrize(
    ("source", "mentions"),
    [
        ("@start", ("start",)),
        ("end @end", ("end",)),
        ("(@paren)", ("paren",)),
        ("**@bold**", ("bold",)),
        ("# @heading", ("heading",)),
        ("> @quoted", ("quoted",)),
        ("- @listed", ("listed",)),
        ("| @cell |\n|-|\n| @row |", ("cell", "row")),
        ("@with.dots-and_underscores.", ("with.dots-and_underscores",)),
        ("@" + "x" * 40, ("x" * 40,)),
    ],
)
def test_text_that_is_a_mention(source: str, mentions: tuple[str, ...]) -> None:
    assert render(source).mentions == mentions


# ------------------------------------------------------------------------------- code


def test_fenced_code_is_highlighted_with_css_classes_not_inline_styles() -> None:
    html = render("```python\nimport os\n```").html
    assert html.startswith('<pre class="highlight"><code class="language-python">')
    assert '<span class="kn">import</span>' in html
    assert "style=" not in html


def test_unknown_or_missing_language_gives_plain_escaped_code() -> None:
    assert render("```klingon\na < b\n```").html == (
        '<pre class="highlight"><code class="language-klingon">a &lt; b\n</code></pre>\n'
    )
    assert render("```\na < b\n```").html == (
        '<pre class="highlight"><code>a &lt; b\n</code></pre>\n'
    )


def test_code_beyond_the_documents_highlighting_budget_is_left_plain() -> None:
    code = "x = 1\n" * (markdown.HIGHLIGHT_BUDGET * 6 // 10 // 6)  # 60% of the budget
    fence = f"```python\n{code}```\n\n"
    first, second, _ = render(fence + fence).html.split("</pre>")
    assert '<span class="n">x</span>' in first
    assert "<span" not in second
    assert second.startswith('\n<pre class="highlight"><code class="language-python">x = 1\n')


def test_pygments_css_is_scoped_and_matches_the_static_file() -> None:
    css = pygments_css()
    assert (ROOT / "static" / "pygments.css").read_text(encoding="utf-8") == css
    rules = [line for line in css.splitlines() if line.strip()]
    assert rules
    assert all(rule.startswith(".highlight") for rule in rules)
    assert ".highlight .k " in css


# ------------------------------------------------------------------------ plain text


def test_plain_text_has_the_words_and_no_markup() -> None:
    source = (
        "# Title\n\nSome **bold** and [a link](https://e.org) to @Ann.\n\n"
        "- one\n- two\n\n```python\nprint('hi')\n```\n\n| h1 | h2 |\n|-|-|\n| c1 | c2 |"
    )
    assert render(source).text == (
        "Title\nSome bold and a link to @Ann.\none\ntwo\nprint('hi')\nh1 h2\nc1 c2"
    )


def test_plain_text_is_not_html_escaped() -> None:
    assert render("a < b & c").text == "a < b & c"


# ------------------------------------------------------------------------- robustness


@pytest.mark.parametrize(
    "source",
    [
        ">" * 10_000 + " deep",
        "> " * 10_000 + "deep",
        "- " * 10_000 + "deep",
        "1. " * 10_000 + "deep",
        "> - 1. " * 3_000 + "deep",
        "".join("  " * i + "- item\n" for i in range(2_000)),
        "*" * 10_000 + "x" + "*" * 10_000,
        "[" * 10_000 + "x" + "](u)" * 10_000,
        "![" * 5_000 + "x" + "](u)" * 5_000,
    ],
    ids=[
        "blockquotes",
        "spaced-blockquotes",
        "bullet-lists",
        "ordered-lists",
        "mixed-containers",
        "indented-list",
        "emphasis",
        "links",
        "images",
    ],
)
def test_ten_thousand_deep_nesting_does_not_raise(source: str) -> None:
    rendered = render(source)
    assert isinstance(rendered.html, str)
    _assert_safe(rendered.html)
    # markdown-it's nesting limit keeps the tree shallow, far from the recursion limit
    assert rendered.html.count("<blockquote>") <= markdown.MAX_NESTING
    assert sys.getrecursionlimit() >= 1000


def test_one_megabyte_input_does_not_raise() -> None:
    paragraph = "Lorem ipsum *dolor* sit amet, consectetur adipiscing elit. " * 20 + "\n\n"
    source = (paragraph * (1_000_000 // len(paragraph) + 1))[:1_000_000]
    rendered = render(source)
    assert rendered.html.startswith("<p>Lorem ipsum <em>dolor</em>")
    assert len(rendered.text) > 900_000


@pytest.mark.parametrize(
    "source",
    ["\ud800", "a\udfffb", "\ud83d", "[\ud800](https://e.org/\udc00)", "@x\ud800y", "\x00" * 10],
)
def test_lone_surrogates_and_nul_bytes_do_not_raise(source: str) -> None:
    rendered = render(source)
    rendered.html.encode("utf-8")  # servable as UTF-8
    rendered.text.encode("utf-8")
    assert "\x00" not in rendered.html


def test_control_characters_are_replaced() -> None:
    assert render("a\x01b\x7fc\x9fd").html == "<p>a\ufffdb\ufffdc\ufffdd</p>\n"


def test_empty_input_renders_to_nothing() -> None:
    assert render("") == Rendered(html="", text="", mentions=())


def test_an_unexpected_failure_falls_back_to_escaped_text(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(markup: str) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(markdown, "_sanitise", explode)
    rendered = render("<script>x</script>\n@bob")
    assert rendered == Rendered(
        html="<p>&lt;script&gt;x&lt;/script&gt;<br>\n@bob</p>\n",
        text="<script>x</script>\n@bob",
        mentions=(),
    )
    assert "Markdown rendering failed" in caplog.text


def test_rendered_is_immutable() -> None:
    rendered = render("x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        rendered.html = "<script>"  # type: ignore[misc]


def test_rendering_from_many_threads_gives_the_same_results() -> None:
    sources = [case["input"] for case in CASES] * 4
    expected = [render(source) for source in sources]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(render, sources)) == expected


# ------------------------------------------------------------- sanitiser performance fix


def test_linear_tree_walker_produces_exactly_what_bleachs_walker_does() -> None:
    stock = markdown._make_cleaner(linear_walker=False)
    table = "| a | b |\n|:-|-:|\n" + "| @x | [y](https://e.org) |\n" * 500
    sources = [case["input"] for case in CASES] + HOSTILE_INPUTS + [table]
    for source in sources:
        markup = markdown._MD.render(markdown._clean_source(source))
        assert markdown._sanitise(markup) == stock.clean(markup)
