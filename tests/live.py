"""Real `forum serve` processes for the tests that need one (several hosts, shutdown)."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from tests.mailbox import free_port


@dataclass
class LiveServer:
    process: subprocess.Popen[bytes]
    base: str
    log_path: Path
    _log: IO[bytes]

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not ended within 20 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def start(env: dict[str, str], log_path: Path) -> LiveServer:
    """Start `forum serve` on a free loopback port and wait until /healthz answers."""
    port = free_port()
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "forum", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = LiveServer(process, f"http://127.0.0.1:{port}", log_path, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            server.stop()
            raise AssertionError(f"the server stopped:\n{log_path.read_text()}")
        try:
            if httpx.get(server.base + "/healthz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.stop()
    raise AssertionError(f"the server did not start:\n{log_path.read_text()}")
