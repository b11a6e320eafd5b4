"""What one render of a hostile body costs: time and HTML size, against the limits.

    .venv/bin/python bench/render.py [--rounds 3]

Renders the bodies of issue 20's review (and their relatives from bench/stall.py's families,
each at the 50,000-character body limit) with `forum.markdown.render` in this process, and
prints, per body, the median time of a plain render, the HTML it makes, and what a request's
render does with `limits.max_html_bytes` (accepted, or refused for size and how soon). The
time budget a request's render gets (`limits.render_time_budget_ms`, in a worker process) is
printed beside it. Runs against an older checkout too (PYTHONPATH=that checkout), where the
size limit does not exist: then only the plain render is measured, for a "before".
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

from forum import markdown
from forum.config import LimitSettings

BODY_MAX = LimitSettings().body_max


def _fill(unit: str) -> str:
    return unit * (BODY_MAX // len(unit))


BODIES: dict[str, Callable[[], str]] = {
    "nested emphasis around mentions": lambda: ("*@a " * 6250) + ("@a* " * 6250),
    "mentions": lambda: _fill("@a "),
    "emphasis and strong": lambda: _fill("*a **b "),
    "open brackets": lambda: "[" * (BODY_MAX // 2) + "]" * (BODY_MAX // 2),
    "links": lambda: _fill("[a](b) "),
    "ampersands": lambda: _fill("&"),
    "angle brackets": lambda: _fill("<"),
    "table rows": lambda: "|a|b|\n|-|-|\n" + _fill("|x|*y*|\n")[: BODY_MAX - 12],
}


def _median_ms(work: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _limited(body: str, limit: int) -> str:
    started = time.perf_counter()
    try:
        markdown.render(body, max_html_bytes=limit)
        verdict = "accepted"
    except markdown.TooLarge:
        verdict = "refused for size"
    return f"{verdict} in {(time.perf_counter() - started) * 1000:,.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    limits = LimitSettings()
    limit = getattr(limits, "max_html_bytes", None)
    budget = getattr(limits, "render_time_budget_ms", None)
    print(f"limits       body_max {BODY_MAX:,} characters", end="")
    if limit is None:
        print("; no HTML size limit and no render time budget (a checkout from before them)")
    else:
        print(f"; max_html_bytes {limit:,}; render_time_budget_ms {budget:,} (in a worker)")
    for name, build in BODIES.items():
        body = build()
        html = len(markdown.render(body).html.encode())
        ms = _median_ms(partial(markdown.render, body), args.rounds)
        line = f"{name:34s} {len(body):>7,} chars  {ms:>7,.0f} ms  {html:>10,} bytes of HTML"
        if limit is not None:
            line += f"  request: {_limited(body, limit)}"
        print(line)


if __name__ == "__main__":
    main()
