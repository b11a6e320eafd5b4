"""How long after a reply is accepted until search finds it, through a real server.

Starts `forum serve` (one worker, in-process indexer) on a fresh SQLite database with the
demo content, logs in as a demo member, posts replies with a unique word each, and polls
/api/v1/search until each is found. Prints the delays (the target is under two seconds).

    .venv/bin/python bench/search_freshness.py [--replies 20]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
FORUM = [sys.executable, "-m", "forum"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=20)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="forum-fresh-"))
    env = {
        **os.environ,
        "FORUM_DATABASE_URL": f"sqlite://{tmp}/forum.sqlite3",
        "FORUM_SEARCH_INDEX_DIR": str(tmp / "index"),
        "FORUM_SECURITY_DATA_DIR": str(tmp / "data"),
        "FORUM_SECURITY_SECRET_KEY": secrets.token_urlsafe(32),
    }
    subprocess.run([*FORUM, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([*FORUM, "demo"], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [*FORUM, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    delays: list[float] = []
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(100):
                try:
                    client.get("/")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
            assert token
            client.post(
                "/login",
                data={
                    "login": "priya.shah",
                    "password": "demo-password-2026",
                    "csrf_token": token.group(1),
                },
            )
            page = client.get("/n/data-leaders")
            thread = re.search(r'href="/n/data-leaders/t/(\d+)-', page.text)
            assert thread
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token
            for i in range(args.replies):
                word = f"fresh{secrets.token_hex(4)}"
                response = client.post(
                    f"/n/data-leaders/t/{thread.group(1)}/reply",
                    data={"body": f"Reply {i}: {word}", "csrf_token": token.group(1)},
                )
                accepted = time.monotonic()
                assert response.status_code == 303, response.status_code
                while client.get("/api/v1/search", params={"q": word}).json()["total"] == 0:
                    if time.monotonic() - accepted > 30:
                        raise SystemExit(f"{word} not searchable after 30 s")
                    time.sleep(0.02)
                delays.append(time.monotonic() - accepted)
    finally:
        server.terminate()
        server.wait(timeout=30)
    delays.sort()
    print(f"replies      {len(delays)}")
    print(f"median       {statistics.median(delays):.2f} s from accepted to searchable")
    print(f"worst        {delays[-1]:.2f} s (target: under 2 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
