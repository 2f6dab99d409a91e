"""CPU time a process has used, all its threads together, from /proc: a figure that
stays meaningful when the shared machine is busy (wall-clock rates do not)."""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system time of `pid` so far (its threads included, children not)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def load_1min() -> float:
    return round(os.getloadavg()[0], 1)


class CpuMeter:
    """`with CpuMeter(pid) as meter: ...` then `meter.ms_per(n)`."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.used = 0.0

    def __enter__(self) -> CpuMeter:
        self._start = cpu_seconds(self.pid)
        return self

    def __exit__(self, *_: object) -> None:
        self.used = cpu_seconds(self.pid) - self._start

    def ms_per(self, count: int) -> float | None:
        return round(self.used * 1000 / count, 3) if count else None
