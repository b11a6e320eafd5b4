"""axe-core on every page type: logged out and in, light and dark, desktop and phone.

Zero violations of WCAG 2.0, 2.1 and 2.2 at levels A and AA. Each page is loaded once per
colour scheme and checked at 1280 px, then again after narrowing the same page to 360 px,
where nothing may overflow sideways either (WCAG 1.4.10 Reflow).
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import PASSWORD, PHONE, Browse, Demo

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG}, "resultTypes": ["violations"]}

# (name, who, path, expected status); a path may name a Demo attribute in braces.
PAGES = [
    ("home", None, "/", 200),
    ("networks", None, "/networks", 200),
    ("network", None, "/n/data-leaders", 200),
    ("thread", None, "{thread}", 200),
    ("search", None, "/search?q=data+team", 200),
    ("search-help", None, "/search/help", 200),
    ("shortcuts", None, "/help/shortcuts", 200),
    ("kb", None, "/kb", 200),
    ("article", None, "{article}", 200),
    ("weeknotes", None, "/weeknotes", 200),
    ("login", None, "/login", 200),
    ("register", None, "/register", 200),
    ("forgot-password", None, "/password/forgot", 200),
    ("profile", None, "/u/priya.shah", 200),
    ("organisation", None, "/o/northwick", 200),
    ("not-found", None, "/no/such/page", 404),
    ("home", "priya.shah", "/", 200),
    ("networks", "priya.shah", "/networks", 200),
    ("network", "priya.shah", "/n/data-leaders", 200),
    ("thread", "priya.shah", "{thread}", 200),
    ("new-thread", "priya.shah", "/n/data-leaders/new", 200),
    ("reply", "priya.shah", "/n/data-leaders/t/{thread_id}/reply?to={reply_id}", 200),
    ("quote", "priya.shah", "/n/data-leaders/t/{thread_id}/reply?to={reply_id}&quote=1", 200),
    ("edit-post", "priya.shah", "/n/data-leaders/p/{first_post_id}/edit", 200),
    ("summary-form", "priya.shah", "/n/data-leaders/t/{thread_id}/summary", 200),
    ("search", "priya.shah", "/search?q=data+team", 200),
    ("kb", "priya.shah", "/kb", 200),
    ("article", "priya.shah", "{article}", 200),
    ("notifications", "priya.shah", "/notifications", 200),
    ("notification-settings", "priya.shah", "/account/notifications", 200),
    ("account", "priya.shah", "/account", 200),
    ("sessions", "priya.shah", "/account/sessions", 200),
    ("members", "priya.shah", "/n/data-leaders/members", 200),
    ("weeknotes", "priya.shah", "/n/data-leaders/weeknotes", 200),
    ("flag", "kwame.mensah", "/n/data-leaders/p/{first_post_id}/flag", 200),
    ("flagged", "priya.shah", "/flags", 200),
    ("to-summarise", "priya.shah", "/queue", 200),
    ("not-found", "priya.shah", "/no/such/page", 404),
    ("forbidden", "gareth.lloyd", "/n/digital-procurement/t/{locked_id}/reply", 403),
    ("admin", "admin", "/admin", 200),
    ("admin-users", "admin", "/admin/users", 200),
    ("admin-audit", "admin", "/admin/audit", 200),
]


def violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=AXE_OPTIONS).response
    return [
        f"{v['id']} ({v['impact']}): {v['help']}\n"
        + "\n".join(f"    {n['target']}: {n['failureSummary']}" for n in v["nodes"][:5])
        for v in results["violations"]
    ]


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize(
    ("name", "who", "path", "status"),
    PAGES,
    ids=[f"{name}-{who or 'anonymous'}" for name, who, _, _ in PAGES],
)
def test_page_has_no_wcag_violations(
    browse: Browse, demo: Demo, name: str, who: str | None, path: str, status: int, dark: bool
) -> None:
    page = browse.open(who, dark=dark)
    response = page.goto(path.format(**vars(demo)))
    assert response is not None and response.status == status
    found = {"desktop": violations(page)}
    page.set_viewport_size(PHONE)
    found["phone"] = violations(page)
    overflow = page.evaluate("document.documentElement.scrollWidth")
    problems = [f"{width}: {v}" for width, vs in found.items() for v in vs]
    if overflow > PHONE["width"]:
        problems.append(f"phone: the page is {overflow}px wide at {PHONE['width']}px")
    assert not problems, "\n".join(problems)


def test_the_pages_that_keep_unsent_text_have_no_wcag_violations(
    browse: Browse, demo: Demo
) -> None:
    """The login page carrying a reply written before the session ended, and the form that
    gives it back (web.unsent): both reached by a POST, so not in PAGES."""
    page = browse.open()
    page.goto("/login")
    page.evaluate(
        """([action, body]) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = action;
            for (const [name, value] of [["body", body], ["csrf_token", "stale"]]) {
                const field = document.createElement("input");
                field.type = "hidden";
                field.name = name;
                field.value = value;
                form.appendChild(field);
            }
            document.body.appendChild(form);
            form.submit();
        }""",
        [f"/n/data-leaders/t/{demo.thread_id}/reply", "Kept while logged out."],
    )
    page.wait_for_load_state()
    page.locator("details.unsent-text summary").click()
    problems = [f"login: {v}" for v in violations(page)]
    page.get_by_label("Username or email", exact=True).fill("priya.shah")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert page.locator("h1").text_content() == "Not sent yet"
    problems += [f"unsent: {v}" for v in violations(page)]
    assert not problems, "\n".join(problems)


def test_axe_reports_what_it_is_meant_to_catch(browse: Browse) -> None:
    """The check above can fail: low contrast (dark theme), an unnamed button, an image
    without alt text."""
    page = browse.open(dark=True)  # about:blank: no CSP to refuse the inline style
    page.set_content(
        '<html lang="en"><head><title>t</title><style>@media (prefers-color-scheme: dark) '
        "{ p { color: #333; background: #222 } }</style></head><body><main><p>faint</p>"
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><button></button></main>'
        "</body></html>"
    )
    found = " ".join(violations(page))
    for rule in ("color-contrast", "button-name", "image-alt"):
        assert rule in found
