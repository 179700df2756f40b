"""CPU time and memory of a process and its children, read from /proc (Linux)."""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()  # fields after the command name, from `state`


def children(pid: int) -> list[int]:
    """Every descendant (the server's reader and history processes)."""
    found, todo = [], [pid]
    procs = [p for p in os.listdir("/proc") if p.isdigit()]
    parents = {}
    for name in procs:
        try:
            parents[int(name)] = int(_stat(int(name))[1])
        except (OSError, ValueError, IndexError):
            continue
    while todo:
        parent = todo.pop()
        kids = [child for child, ppid in parents.items() if ppid == parent]
        found += kids
        todo += kids
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (a process that ended counts 0)."""
    total = 0
    for pid in pids:
        try:
            fields = _stat(pid)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total / 1024
