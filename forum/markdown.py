"""Markdown rendering: the one and only path from user-written text to HTML.

Every piece of user-authored content (posts, replies, knowledge-base articles, profile
blurbs...) goes through :func:`render`.  Keeping a single path means there is exactly one
place to review when asking "can a user put X on a page?", and exactly one allowlist.

Pipeline
--------
1. **Normalise the input.**  Lone surrogates (which cannot be encoded as UTF-8 and would
   blow up later in the stack), NUL and other control characters except tab, newline and
   carriage return are replaced by U+FFFD.
2. **Parse with markdown-it-py** (CommonMark preset) with tables, ``~~strikethrough~~`` and
   linkify (bare URLs become links, via linkify-it-py; without a scheme only for a few
   generic TLDs, so that ``setup.py`` or ``README.md`` are not links).  Raw HTML is *off*
   (``html=False``, and the ``html_block``/``html_inline`` rules are disabled too): anything
   that looks like a tag is shown as escaped text, never interpreted.  markdown-it itself
   refuses ``javascript:``, ``vbscript:``, ``file:`` and non-image ``data:`` link targets,
   and we go further: a link or image whose target is neither relative nor http, https
   or mailto stays literal text.
   A protocol-relative target (``//host``, ``/\\host``…) is made ``https://host``: it is
   a link to another site, not a path on this one.
   The ``maxNesting`` guard (20, the CommonMark preset's value) bounds the depth of
   quotes/lists, so ``>>>>…`` ten thousand deep cannot exhaust the recursion limit;
   content nested deeper than that is dropped.  Emphasis escapes it (it is paired after
   parsing), so a core rule leaves formatting deeper than ``MAX_INLINE_NESTING`` as the
   ``*``/``_``/``~~`` that was typed.
3. **@mentions** are found by an inline rule (so never inside code spans, code blocks,
   link texts or autolinks) and become ``<a class="mention" href="/u/<lowercased>">``.
   A mention must not follow a word character (``a@b.com`` is an e-mail) or ``/``
   (``example.com/@bob`` is a URL), and ``\\@name`` escapes one.
4. **Fenced and indented code blocks** are highlighted by Pygments using CSS classes only
   (see :func:`pygments_css` / ``static/pygments.css``).  The shape is
   ``<pre class="highlight"><code class="language-xyz">…</code></pre>``.  An unknown or
   missing language gives plain escaped code.  Highlighting is skipped (plain escaped
   code) once a document has used up a highlighting budget, to bound the cost of huge
   posts.
5. **Headings are demoted by two levels** (``#`` → ``<h3>``, ``##`` → ``<h4>``, …, capped
   at ``<h6>``): the page around a post already uses ``<h1>``/``<h2>`` for the site and
   thread titles, and a post must not be able to outrank them.
6. **Sanitise with bleach**, even though step 2 cannot emit raw user HTML: defence in
   depth against bugs in this module or in markdown-it.  The allowlist is:

   ======================  ====================================================
   tag                     attributes
   ======================  ====================================================
   p br hr blockquote      --
   h3 h4 h5 h6             --
   strong em del s         --
   ul li                   --
   ol                      ``start`` (digits only)
   code                    ``class`` only ``language-[a-z0-9_+-]+``
   pre                     ``class`` only ``highlight``
   span                    ``class`` only Pygments token classes (``k``, ``nf s2``…)
   a                       ``href`` (http, https, mailto or relative), ``title``,
                           ``class`` only ``mention``
   img                     ``src`` (absolute http/https only), ``alt``, ``title``;
                           Markdown images are rendered as links ("Image: alt"), never
                           as ``<img>``: a picture elsewhere would tell that site who
                           reads the thread. The rule is for HTML from elsewhere.
   table thead tbody tr    --
   th td                   ``align`` only ``left``/``center``/``right``
   ======================  ====================================================

   There is no ``style`` attribute anywhere (table alignment is expressed with ``align``
   instead of markdown-it's ``style="text-align:…"``), no event handlers, no
   svg/math/iframe/form/object/embed/script/style.  A tag outside the list is escaped,
   comments are removed.  Images with a relative, protocol-relative or non-http(s)
   ``src`` lose the ``src`` (so a post cannot make the reader's browser issue a GET to
   one of our own URLs).
7. **Every link gets** ``rel="nofollow ugc noopener noreferrer"``, set by an html5lib filter
   that runs *after* sanitising and overwrites whatever was there.

Alongside the HTML, :class:`Rendered` carries the plain text of the post (from the
markdown-it token stream, for search indexing and snippets; it is *text*, so escape it
when putting it in HTML) and the users it mentions (for notifications).

Thread safety: the MarkdownIt instance is built once at import and is safe to share
(parsing keeps all state in per-call state objects, and linkify-it-py 2.x matching is
stateless); bleach's ``Cleaner`` is not thread-safe, so each thread gets its own.

:func:`render` never raises for a ``str``: should anything in the pipeline fail
unexpectedly, the error is logged and the source is returned as escaped plain text.

Cost: rendering is linear in the input (tests/test_render_budget.py counts it), but
html5lib (inside bleach) is slow, some tens of microseconds per tag or escaped character,
so 50,000 characters of hostile input can still take a second or two.  Callers must cap the
length of what users submit before it gets here, pass ``max_html_bytes``, and render off
the event loop with a time budget: :mod:`forum.rendering` does all three for requests.
"""

from __future__ import annotations

import functools
import html
import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import bleach
from bleach import html5lib_shim
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml, unescapeAll
from markdown_it.renderer import RendererProtocol
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import find_lexer_class_by_name
from pygments.util import ClassNotFound

if TYPE_CHECKING:  # bleach vendors html5lib; its stubs do not re-export Filter
    from html5lib.filters.base import Filter
else:
    from bleach.html5lib_shim import Filter

__all__ = ["LINK_REL", "Rendered", "TooLarge", "pygments_css", "render"]

log = logging.getLogger(__name__)

#: The ``rel`` every rendered link carries: user content is not endorsed by us (nofollow,
#: ugc) and must not get a handle on our window or learn which page linked it.
LINK_REL = "nofollow ugc noopener noreferrer"

#: Deepest nesting (blockquotes, lists, emphasis, links) markdown-it will build.
MAX_NESTING = 20

#: Characters of code per document that Pygments may highlight; the rest stays plain.
#: Highlighting turns every token into a ``<span>`` that the sanitiser must then walk.
HIGHLIGHT_BUDGET = 20_000

#: Heading levels are shifted by this much (``#`` becomes ``<h3>``), capped at ``<h6>``.
HEADING_SHIFT = 2

MENTION_URL_PREFIX = "/u/"

#: Top-level domains for which a bare host name without ``https://`` (``example.org``,
#: ``www.example.com/x``) is turned into a link.  URLs with a scheme always are.
FUZZY_LINK_TLDS = ("com", "org", "net", "edu", "gov", "int", "info", "biz", "eu")

#: URL schemes a link may use (images: http and https only); relative URLs are fine too.
_ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})

_ENV_HIGHLIGHT_BUDGET = "forum_highlight_budget"


@dataclass(frozen=True, slots=True)
class Rendered:
    """The result of rendering one piece of user-written Markdown."""

    #: Sanitised HTML, safe to insert into a page as-is.
    html: str
    #: Plain text (words of the post, no markup) for search indexing and snippets.
    text: str
    #: Lowercased usernames mentioned with ``@username``, unique, in order of appearance.
    mentions: tuple[str, ...]


# --------------------------------------------------------------------------- mentions

# 1-40 characters from [A-Za-z0-9_.-], starting and ending with [A-Za-z0-9_].  The
# lookahead makes an over-long name (or one running on into more name characters) not a
# mention at all, rather than a mention of its first 40 characters.
_USERNAME_RE = re.compile(
    r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,38}[A-Za-z0-9_])?(?![A-Za-z0-9_]|[.-][A-Za-z0-9_])"
)
# A mention may not directly follow these (``a@b.com`` is an e-mail address and
# ``example.com/@bob`` a URL).
_NOT_BEFORE_MENTION_RE = re.compile(r"[\w/]")


def _mention_rule(state: StateInline, silent: bool) -> bool:
    """Inline rule turning ``@username`` into a mention link."""
    pos = state.pos
    if state.src[pos] != "@" or state.linkLevel > 0:
        return False
    if pos > 0 and _NOT_BEFORE_MENTION_RE.match(state.src[pos - 1]):
        return False
    match = _USERNAME_RE.match(state.src, pos + 1, state.posMax)
    if match is None:
        return False
    if not silent:
        name = match.group(0)
        token = state.push("link_open", "a", 1)
        token.attrs = {"class": "mention", "href": MENTION_URL_PREFIX + name.lower()}
        token.markup = "mention"
        token.info = "mention"
        token.meta = {"mention": name.lower()}
        token = state.push("text", "", 0)
        token.content = "@" + name
        token = state.push("link_close", "a", -1)
        token.markup = "mention"
        token.info = "mention"
    state.pos = match.end()
    return True


# --------------------------------------------------------------------- core rewrites

_TEXT_ALIGN_RE = re.compile(r"text-align:(left|center|right)")


#: Inline formatting (emphasis, strong, strikethrough) nested deeper than this stays as
#: the literal ``*``/``_``/``~~`` it was written with.  markdown-it's ``maxNesting`` does not
#: bound it (emphasis is paired after parsing), and every element the sanitiser's HTML
#: parser opens or closes scans the list of open formatting elements: ``*@a `` x 6,250 then
#: ``@a* `` x 6,250 nested 6,250 deep and took seconds, quadratic in the depth.
MAX_INLINE_NESTING = MAX_NESTING

_FORMATTING_OPEN = frozenset({"em_open", "strong_open", "s_open"})


def _as_text(token: Token) -> None:
    token.type = "text"
    token.tag = ""
    token.nesting = 0
    token.attrs = {}
    token.content = token.markup


def _bound_inline_nesting(children: Sequence[Token]) -> None:
    """Turn formatting nested deeper than :data:`MAX_INLINE_NESTING` back into its markup."""
    depth = 0
    kept: list[bool] = []  # one entry per open token: kept (True) or turned into text
    for token in children:
        if token.nesting == 1:
            if token.type in _FORMATTING_OPEN and depth >= MAX_INLINE_NESTING:
                _as_text(token)
                kept.append(False)
            else:
                kept.append(True)
                depth += 1
        elif token.nesting == -1:
            if not kept or kept.pop():
                depth -= 1
            else:
                _as_text(token)


def _forum_core_rule(state: StateCore) -> None:
    """Demote headings, turn table alignment styles into ``align`` attributes and bound the
    nesting of inline formatting."""
    for token in state.tokens:
        if token.type == "inline" and token.children:
            _bound_inline_nesting(token.children)
        elif token.type in ("heading_open", "heading_close"):
            level = min(int(token.tag[1:]) + HEADING_SHIFT, 6)
            token.tag = f"h{level}"
        elif token.type in ("th_open", "td_open") and "style" in token.attrs:
            style = str(token.attrs.pop("style"))
            align = _TEXT_ALIGN_RE.fullmatch(style)
            if align is not None:
                token.attrs["align"] = align.group(1)


# ------------------------------------------------------------------------ code blocks

_LANG_CLASS_RE = re.compile(r"[a-z0-9_+-]{1,40}")
_FORMATTER = HtmlFormatter(nowrap=True)


@functools.lru_cache(maxsize=256)
def _lexer_class(lang: str) -> type[Lexer] | None:
    try:
        return find_lexer_class_by_name(lang)
    except ClassNotFound:
        return None


def _code_block_html(code: str, lang: str, env: EnvType) -> str:
    lang = lang.lower()
    if len(lang) > 40:
        lang = ""
    code_attrs = ""
    if _LANG_CLASS_RE.fullmatch(lang):
        code_attrs = f' class="language-{lang}"'
    body = escapeHtml(code)
    lexer_class = _lexer_class(lang) if lang else None
    budget: int = env.get(_ENV_HIGHLIGHT_BUDGET, HIGHLIGHT_BUDGET)
    if lexer_class is not None and len(code) <= budget:
        env[_ENV_HIGHLIGHT_BUDGET] = budget - len(code)
        try:
            body = highlight(code, lexer_class(stripnl=False, ensurenl=False), _FORMATTER)
        except Exception:
            log.exception("Pygments failed to highlight a %r code block", lang)
    return f'<pre class="highlight"><code{code_attrs}>{body}</code></pre>\n'


def _render_fence(
    self: RendererProtocol,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    token = tokens[idx]
    info = unescapeAll(token.info).strip() if token.info else ""
    lang = info.split(maxsplit=1)[0] if info else ""
    return _code_block_html(token.content, lang, env)


def _render_code_block(
    self: RendererProtocol,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    return _code_block_html(tokens[idx].content, "", env)


# ----------------------------------------------------------------------- the parser


_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


# A URL that starts with two slashes or backslashes (in any mix, after leading spaces or
# control characters, and with tabs or newlines between them, which browsers drop) names
# another host with the page's own scheme: ``//evil.example`` is ``https://evil.example``.
_URL_NOISE_RE = re.compile(r"[\t\n\r]")
_PROTOCOL_RELATIVE_RE = re.compile(r"[\x00-\x20]*[/\\][\t\n\r]*[/\\]")


def _is_protocol_relative(url: str) -> bool:
    """For attribute values as the sanitiser sees them (character references not yet
    decoded): decoded, and with the tabs and newlines a browser would drop removed."""
    return _PROTOCOL_RELATIVE_RE.match(_URL_NOISE_RE.sub("", html.unescape(url))) is not None


class _ForumMarkdownIt(MarkdownIt):
    def normalizeLink(self, url: str) -> str:
        """A protocol-relative target is the external link it is: ``[x](//evil.example)``
        links to ``https://evil.example``, like any other link to another site, rather than
        passing for a path on this one.  Links from linkify come through here too."""
        match = _PROTOCOL_RELATIVE_RE.match(url)
        if match is not None:
            url = "https://" + url[match.end() :].lstrip("/\\\t\n\r")
        return super().normalizeLink(url)

    def validateLink(self, url: str) -> bool:
        """Accept link/image targets that are relative or use an allowed scheme.

        markdown-it's own check (a blocklist: javascript, vbscript, file, data) runs too.
        Anything refused here stays in the post as literal text instead of becoming a link
        (or an ``<a>`` that bleach would later strip of its ``href``).
        """
        scheme = _SCHEME_RE.match(url.strip())
        allowed = scheme is None or scheme.group(1).lower() in _ALLOWED_PROTOCOLS
        return allowed and super().validateLink(url)


def _render_image(
    self: RendererProtocol, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """An image becomes a link to it, never an ``<img>``: a picture on another site would
    make every reader's browser call that site, telling it who reads the thread and when (a
    tracking pixel in a members-only network). The alt text is the link's words."""
    token = tokens[idx]
    alt = (
        "".join(
            child.content for child in token.children or [] if child.type in ("text", "code_inline")
        ).strip()
        or "image"
    )
    words = escapeHtml(f"Image: {alt}")
    src = str(token.attrGet("src") or "")
    if not _IMG_SRC_RE.match(src):
        return words
    title = token.attrGet("title")
    titled = f' title="{escapeHtml(str(title))}"' if title else ""
    return f'<a href="{escapeHtml(src)}"{titled}>{words}</a>'


def _build_markdown() -> MarkdownIt:
    md = _ForumMarkdownIt(
        "commonmark",
        {"html": False, "linkify": True, "xhtmlOut": False, "maxNesting": MAX_NESTING},
    )
    md.enable(["table", "strikethrough", "linkify"])
    assert md.linkify is not None  # linkify-it-py is a dependency
    # Scheme-less links ("example.com") only for these TLDs: linkify-it's default also
    # accepts every two-letter TLD, which turns file names (setup.py, README.md) into links.
    md.linkify.tlds(list(FUZZY_LINK_TLDS), False)
    md.disable(["html_block", "html_inline"])
    md.inline.ruler.push("mention", _mention_rule)
    md.core.ruler.push("forum_rewrite", _forum_core_rule)
    md.add_render_rule("image", _render_image)
    md.add_render_rule("fence", _render_fence)
    md.add_render_rule("code_block", _render_code_block)
    return md


_MD = _build_markdown()


# ------------------------------------------------------------------------ sanitising

_ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "blockquote",
        "h3", "h4", "h5", "h6",
        "strong", "em", "del", "s",
        "ul", "ol", "li",
        "code", "pre", "span",
        "a", "img",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip

_CODE_CLASS_RE = re.compile(r"language-[a-z0-9_+-]+")
_TOKEN_CLASS_RE = re.compile(r"[a-z][a-z0-9]{0,3}(?: [a-z][a-z0-9]{0,3})*")
_OL_START_RE = re.compile(r"[0-9]{1,9}")
_IMG_SRC_RE = re.compile(r"https?://[^\s/]", re.IGNORECASE)

_AttrCheck = Callable[[str], bool]
_ALLOWED_ATTRIBUTES: dict[str, dict[str, _AttrCheck]] = {
    "a": {
        # Scheme checked by bleach against _ALLOWED_PROTOCOLS; a protocol-relative href
        # (which the parser never emits: it makes them https) loses it.
        "href": lambda v: not _is_protocol_relative(v),
        "title": lambda v: True,
        "class": lambda v: v == "mention",
    },
    "img": {
        "src": lambda v: _IMG_SRC_RE.match(v) is not None,
        "alt": lambda v: True,
        "title": lambda v: True,
    },
    "ol": {"start": lambda v: _OL_START_RE.fullmatch(v) is not None},
    "th": {"align": lambda v: v in ("left", "center", "right")},
    "td": {"align": lambda v: v in ("left", "center", "right")},
    "code": {"class": lambda v: _CODE_CLASS_RE.fullmatch(v) is not None},
    "pre": {"class": lambda v: v == "highlight"},
    "span": {"class": lambda v: _TOKEN_CLASS_RE.fullmatch(v) is not None},
}


def _allow_attribute(tag: str, name: str, value: str) -> bool:
    check = _ALLOWED_ATTRIBUTES.get(tag, {}).get(name)
    return check is not None and check(value)


class _LinkRelFilter(Filter):
    """Set ``rel`` on every ``<a>``, overriding anything already there."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for token in super().__iter__():
            if token["type"] in ("StartTag", "EmptyTag") and token["name"] == "a":
                attrs = dict(token.get("data") or {})
                attrs[(None, "rel")] = LINK_REL
                token["data"] = attrs
            yield token


if TYPE_CHECKING:
    from html5lib.treewalkers.base import NonRecursiveTreeWalker as _EtreeWalker
else:
    _EtreeWalker = html5lib_shim.getTreeWalker("etree")


class _LinearEtreeWalker(_EtreeWalker):
    """bleach's tree walker, minus a quadratic blow-up.

    html5lib's etree walker, each time it climbs back out of an element, finds that
    element's position among its siblings with ``list.index`` (after asserting uniqueness
    with ``list.count``): quadratic in the number of siblings, so a 16,000-row table took
    half a minute to sanitise.  This looks the position up in a per-parent map instead;
    the events produced are identical (the test suite checks this on every fixture).
    """

    def __init__(self, tree: Any) -> None:
        super().__init__(tree)
        self._positions: dict[int, dict[int, int]] = {}

    def getParentNode(self, node: Any) -> Any:
        if not isinstance(node, tuple):
            return None
        _element, _key, parents, flag = node
        if flag == "text":
            return super().getParentNode(node)
        parent = parents.pop()
        if not parents:
            return parent
        grandparent = parents[-1]
        positions = self._positions.get(id(grandparent))
        if positions is None:  # every element stays alive for the walk: ids are stable
            positions = {id(child): i for i, child in enumerate(grandparent)}
            self._positions[id(grandparent)] = positions
        return parent, positions[id(parent)], parents, None


def _make_cleaner(*, linear_walker: bool = True) -> bleach.Cleaner:
    cleaner = bleach.Cleaner(
        tags=_ALLOWED_TAGS,
        attributes=_allow_attribute,
        protocols=_ALLOWED_PROTOCOLS,
        strip=False,
        strip_comments=True,
        filters=[_LinkRelFilter],
    )
    if linear_walker:
        cleaner.walker = _LinearEtreeWalker  # type: ignore[assignment]  # stub: it is a class
    return cleaner


class _PerThreadCleaner(threading.local):
    def __init__(self) -> None:
        self.cleaner = _make_cleaner()


_CLEANERS = _PerThreadCleaner()


def _sanitise(markup: str) -> str:
    return _CLEANERS.cleaner.clean(markup)


# ------------------------------------------------------------------- text, mentions

_BLOCK_ENDS = frozenset(
    {"paragraph_close", "heading_close", "tr_close", "list_item_close", "blockquote_close"}
)


def _inline_text(children: Sequence[Token], out: list[str]) -> None:
    """Append the text of an inline token list (image alts included) to ``out``."""
    stack: list[Iterator[Token]] = [iter(children)]
    while stack:
        token = next(stack[-1], None)
        if token is None:
            stack.pop()
        elif token.type in ("text", "code_inline"):
            out.append(token.content)
        elif token.type == "softbreak":
            out.append(" ")
        elif token.type == "hardbreak":
            out.append("\n")
        elif token.type == "image" and token.children:
            stack.append(iter(token.children))


def _text_and_mentions(tokens: Sequence[Token]) -> tuple[str, tuple[str, ...]]:
    lines: list[str] = []
    line: list[str] = []
    mentions: dict[str, None] = {}

    def flush() -> None:
        if line:
            lines.append("".join(line))
            line.clear()

    for token in tokens:
        if token.type == "inline":
            children = token.children or []
            if line and line[-1] != " ":  # table cells of one row share a line
                line.append(" ")
            _inline_text(children, line)
            for child in children:  # not image children: an alt text mentions nobody
                if child.type == "link_open" and child.info == "mention":
                    mentions.setdefault(str(child.meta["mention"]), None)
        elif token.type in ("fence", "code_block"):
            flush()
            lines.append(token.content.rstrip("\n"))
        elif token.type in _BLOCK_ENDS:
            flush()
    flush()
    text = "\n".join(stripped for stripped in (ln.strip() for ln in lines) if stripped)
    return text, tuple(mentions)


# ------------------------------------------------------------------------ public API


# Lone surrogates (not encodable, would make the page unservable), and control characters
# other than tab/newline/carriage return (HTML parse errors, never meaningful in a post).
_BAD_CHARS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _clean_source(source: str) -> str:
    return _BAD_CHARS_RE.sub("\ufffd", source)


class TooLarge(Exception):
    """The HTML of a post would be larger than the limit asked for (``size`` is a lower
    bound when the render stopped early)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(size, limit)
        self.size = size
        self.limit = limit

    def __str__(self) -> str:
        return f"the HTML would take {self.size:,} bytes or more; the limit is {self.limit:,}"


def render(source: str, *, max_html_bytes: int | None = None) -> Rendered:
    """Render user-written Markdown to sanitised HTML, plain text and mentions.

    With ``max_html_bytes``, raises :class:`TooLarge` when the HTML (UTF-8) would be larger
    than that: checked before sanitising too, so an oversized post costs no sanitising.
    Otherwise never raises for a ``str`` argument.
    """
    try:
        source = _clean_source(source)
        env: EnvType = {}
        tokens = _MD.parse(source, env)
        markup = _MD.renderer.render(tokens, _MD.options, env)
        if max_html_bytes is not None and len(markup) > max_html_bytes:
            raise TooLarge(len(markup.encode("utf-8", "replace")), max_html_bytes)
        text, mentions = _text_and_mentions(tokens)
        rendered = Rendered(html=_sanitise(markup), text=text, mentions=mentions)
        if max_html_bytes is not None:
            size = len(rendered.html.encode("utf-8", "replace"))
            if size > max_html_bytes:
                raise TooLarge(size, max_html_bytes)
        return rendered
    except TooLarge:
        raise
    except Exception:
        log.exception("Markdown rendering failed; falling back to escaped text")
        return _fallback(source)


def _fallback(source: str) -> Rendered:
    try:
        text = _clean_source(str(source))
    except Exception:
        text = ""
    escaped = html.escape(text).replace("\n", "<br>\n")
    return Rendered(html=f"<p>{escaped}</p>\n" if text else "", text=text, mentions=())


@functools.cache
def pygments_css() -> str:
    """The stylesheet for the highlighter's classes, scoped to ``.highlight``.

    ``static/pygments.css`` holds this string (a test checks it); after upgrading Pygments,
    regenerate it by writing ``pygments_css()`` to that file.
    """
    formatter = HtmlFormatter(style="default")
    lines = [
        *formatter.get_background_style_defs(".highlight"),
        *formatter.get_token_style_defs(".highlight"),
    ]
    return "\n".join(lines) + "\n"
