"""What the benchmarks share: a real `forum serve` from this checkout, and how they report.

Start the server with `start_server`, wait for it with `wait_until_up`, read the peak memory
of its processes with `peak_rss` before `stop_server`.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from forum.config import ROOT


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    folder: Path,
    port: int,
    env: dict[str, str],
    *,
    workers: int | None = None,
    log_name: str = "server.log",
) -> subprocess.Popen[bytes]:
    """`forum serve` from this checkout's virtualenv, its output in folder/log_name."""
    command = [str(Path(sys.executable).parent / "forum"), "serve", "--port", str(port)]
    if workers is not None:
        command += ["--workers", str(workers)]
    log = (folder / log_name).open("wb")
    return subprocess.Popen(
        command,
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_until_up(
    client: httpx.Client,
    server: subprocess.Popen[bytes],
    seconds: float,
    path: str = "/api/v1/networks",
) -> None:
    """Until `path` answers 200. Raises RuntimeError if the server exits or does not answer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with status {server.returncode}")
        try:
            if client.get(path).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {seconds:.0f} s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# ------------------------------------------------------------------------------------ memory


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (Linux: from /proc), parents first."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # gone meanwhile
        # "pid (comm) state ppid …": comm may hold spaces and parentheses.
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop(0)
        tree.append(current)
        todo.extend(sorted(children.get(current, [])))
    return tree


@dataclass(frozen=True)
class Memory:
    pid: int
    command: str
    peak_mb: float  # VmHWM: the most this process has had resident


def _label(argv: list[str]) -> str:
    """A short name for one of the server's processes."""
    text = " ".join(argv)
    for needle, label in (
        ("multiprocessing.spawn", "worker"),
        ("resource_tracker", "resource tracker"),
        ("forum indexer", "indexer"),
        ("serve", "forum serve"),
        ("bare.py", "bare app"),
    ):
        if needle in text:
            return label
    return Path(argv[0]).name if argv else "?"


def peak_rss(pid: int, *, tree: bool = True) -> list[Memory]:
    """The peak resident memory of `pid` and (with `tree`) of each of its descendants."""
    found = []
    for each in process_tree(pid) if tree else [pid]:
        try:
            status = Path(f"/proc/{each}/status").read_text()
            argv = Path(f"/proc/{each}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
        words = [a.decode(errors="replace") for a in argv if a]
        found.append(Memory(each, _label(words), int(kib) / 1024))
    return found


def reset_peak(pids: Sequence[int]) -> None:
    """Start each process's peak (VmHWM) again from its current size (Linux)."""
    for pid in pids:
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/clear_refs").write_text("5")


# --------------------------------------------------------------------------------- reporting


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), interpolating between the closest ranks."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def cpu_model() -> str:
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "CPU model unknown"
    names = [line.split(":", 1)[1].strip() for line in info.splitlines() if "model name" in line]
    return names[0] if names else "CPU model unknown"


def machine() -> str:
    """One line: cores, CPU, Python, load average."""
    try:
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    return (
        f"{os.cpu_count()} CPUs, {cpu_model()}, Python {sys.version.split()[0]}, "
        f"load average {load}"
    )


def cpu_seconds(pids: Sequence[int]) -> float:
    """User and system CPU time the running processes `pids` have used so far (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime and stime, after "state"
    return total / ticks


def postgres_cpu() -> dict[int, float]:
    """CPU seconds so far of every PostgreSQL process on this machine (Linux), by pid: the
    database's share of a page's cost, when the server runs on the same host."""
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() != "postgres":
                continue
            fields = (comm.parent / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        found[int(comm.parent.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def postgres_cpu_since(before: dict[int, float]) -> float:
    """CPU seconds PostgreSQL's processes used since `before` (a backend that started since
    counts from zero; one that ended since is lost, a rare case under a steady load)."""
    return sum(now - before.get(pid, 0.0) for pid, now in postgres_cpu().items())
