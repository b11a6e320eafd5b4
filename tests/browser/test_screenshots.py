"""Screenshots of the main pages, desktop and phone, for the README.

`make screenshots` writes them into docs/screenshots/; other runs take them into a temporary
folder. They run first (see conftest.py), on the demo as `make run` loads it. Each page is
also checked to fill its width without overflowing sideways.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Browse, Demo

# (file name, who, path, also in the dark theme)
SHOTS = [
    ("home", None, "/", True),
    ("network", None, "/n/data-leaders", False),
    ("thread", "kwame.mensah", "{thread}", True),
    ("search", None, "/search?q=data+team", False),
    ("knowledge-base", None, "/kb", False),
    ("new-thread", "kwame.mensah", "/n/data-leaders/new", False),
]


@pytest.mark.parametrize(("name", "who", "path", "dark"), SHOTS, ids=[s[0] for s in SHOTS])
def test_screenshot(
    browse: Browse,
    demo: Demo,
    screenshots: Path,
    name: str,
    who: str | None,
    path: str,
    dark: bool,
) -> None:
    variants = [("desktop", False, False), ("phone", True, False)]
    if dark:
        variants.append(("desktop-dark", False, True))
    for suffix, phone, dark_theme in variants:
        page = browse.open(who, phone=phone, dark=dark_theme)
        response = page.goto(path.format(**vars(demo)))
        assert response is not None and response.status == 200
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width == page.viewport_size["width"], f"{name} {suffix} is {width}px wide"
        page.screenshot(
            path=screenshots / f"{name}-{suffix}.png", animations="disabled", caret="hide"
        )
