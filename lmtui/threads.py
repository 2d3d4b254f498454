"""How many CPU threads torch trains with: the cores other programs leave free, rechecked while training.

torch's OpenMP threads meet at the end of every parallel operation, and a thread that finds its partner
descheduled spins until it returns. With one thread per core beside a busy program, the thread whose core is
taken holds up the others at every operation, and training collapses: on a 2-core machine beside two busy
processes a small LSTM made 1 step/s on two threads and 80 on one (BENCHMARKS.md, section 11). So the count
is a decision made from what is free, not from how many cores exist:

- ``--threads N`` (or ``OMP_NUM_THREADS``) forces N;
- otherwise the session starts with the cores that were free over its start-up (``/proc/stat``, less this
  process's own use), and a :class:`ThreadTuner` measures again about every second while training: fewer
  threads as soon as others take a core, more when cores come free and stay free, and a step back when more
  threads turned out slower. The app's training child keeps one core for the UI (``LMTUI_KEEP_CORES``).

No torch here: the tuner is handed a setter, and is unit-tested with fake clocks and loads.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

KEEP_CORES_ENV = "LMTUI_KEEP_CORES"  # cores a training process leaves to another (the app's UI)
CHECK_EVERY = 1.0  # seconds between load measurements while training
MARGIN = 0.3  # a core counts as free when others leave at least 1 - MARGIN of it unused
SLOWER = 1.1  # more threads that make steps this much slower are undone
HOLD_AFTER_UNDO = 30.0  # seconds before more threads are tried again after they were slower


def cores() -> int:
    """CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _busy_seconds() -> float | None:
    """CPU seconds all cores have spent busy since boot (Linux's /proc/stat), or None where unknown."""
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/stat", encoding="ascii") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal: busy is all but idle and iowait
        busy = sum(fields[:3]) + sum(fields[5:8])
        return busy / os.sysconf("SC_CLK_TCK")
    return None


@dataclass(frozen=True)
class CpuSample:
    """A moment's CPU counters: the wall clock, every core's busy time, and this process's own."""

    wall: float
    busy: float | None
    own: float

    @classmethod
    def now(cls) -> CpuSample:
        return cls(time.perf_counter(), _busy_seconds(), time.process_time())


def others_busy(before: CpuSample, after: CpuSample) -> float | None:
    """Cores that other programs kept busy between two samples; None when it cannot be measured."""
    wall = after.wall - before.wall
    if before.busy is None or after.busy is None or wall < 0.2:
        return None
    return max(0.0, (after.busy - before.busy - (after.own - before.own)) / wall)


def fitting_threads(others: float, total: int) -> int:
    """Threads that fit the cores left free when others keep ``others`` cores busy (at least one)."""
    return max(1, min(total, int(total - others + MARGIN)))


@dataclass(frozen=True)
class Choice:
    threads: int
    why: str
    adaptive: bool  # the tuner may change it while training


def forced_threads(requested: int | None) -> int | None:
    """The count the user fixed: ``--threads N``, else ``OMP_NUM_THREADS``; None leaves it to the load."""
    if requested:
        return requested
    env = os.environ.get("OMP_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else None


def limit() -> int:
    """The most threads this process may use: its cores, less those kept for another program."""
    keep = os.environ.get(KEEP_CORES_ENV, "")
    kept = int(keep) if keep.isdigit() else 0
    return max(1, cores() - kept)


def choose(requested: int | None, since: CpuSample | None) -> Choice:
    """The thread count a session starts with, and why (shown on the run line)."""
    total, most = cores(), limit()
    forced = forced_threads(requested)
    if forced is not None:
        source = "--threads" if requested else "OMP_NUM_THREADS"
        return Choice(min(forced, total), f"{source} {forced}", False)
    kept = ", one kept for the app" if most < total else ""
    if total == 1:
        return Choice(1, "1 core", False)
    others = None if since is None else others_busy(since, CpuSample.now())
    if others is None:
        load = _load_average()
        if load is None:
            return Choice(most, f"{most} of {total} cores{kept}; the load cannot be read here", False)
        others = max(0.0, load - 1.0)  # the load average counts this process too
    n = min(most, fitting_threads(others, total))
    return Choice(n, f"{n} of {total} cores free{kept}; adjusted to the load", True)


def _load_average() -> float | None:
    with contextlib.suppress(OSError, AttributeError):
        return os.getloadavg()[0]
    return None


class ThreadTuner:
    """Keeps torch's thread count fitted to the free cores while training.

    ``step_done(seconds)`` after every training step: about every CHECK_EVERY seconds it measures how busy the
    other programs kept the cores and lowers the count at once when they took one; it raises it only when
    cores were free at two checks in a row, and lowers it back (and waits HOLD_AFTER_UNDO before trying
    again) when the steps that followed were SLOWER than before.
    """

    def __init__(
        self,
        choice: Choice,
        set_threads: Callable[[int], None],
        sample: Callable[[], CpuSample] | None = None,
        total: int | None = None,
        most: int | None = None,
    ):
        self.threads = choice.threads
        self.adaptive = choice.adaptive
        self.set_threads = set_threads
        self.sample = sample or (lambda: CpuSample.now())
        self.total = total or cores()
        self.most = most or limit()
        self.last = self.sample()
        self.free_before = False  # cores were free at the previous check
        self.hold_until = 0.0
        self.step_times: list[float] = []  # steps since the last check
        self.before_raise: float | None = None  # mean step time before the last raise, to judge it
        self.changes: list[str] = []  # what changed and why, for the run's notes

    def step_done(self, seconds: float) -> None:
        if not self.adaptive:
            return
        self.step_times.append(seconds)
        now = self.sample()
        if now.wall - self.last.wall < CHECK_EVERY:
            return
        others = others_busy(self.last, now)
        timed = self.step_times[1:] or self.step_times  # the first step after a change warms the threads up
        mean = sum(timed) / len(timed)
        self.last, self.step_times = now, []
        if others is None:
            return
        if self.before_raise is not None:  # the check after a raise: did the steps get faster?
            before, self.before_raise = self.before_raise, None
            if mean > SLOWER * before:
                self.hold_until = now.wall + HOLD_AFTER_UNDO
                self._set(self.threads - 1, f"{self.threads} threads were slower than {self.threads - 1}")
                return
        fits = min(self.most, fitting_threads(others, self.total))
        if fits < self.threads:
            self.free_before = False
            self._set(fits, f"other programs took {others:.1f} of {self.total} cores")
        elif fits > self.threads and now.wall >= self.hold_until:
            if self.free_before:
                self.before_raise = mean
                self._set(self.threads + 1, f"{self.total - others:.1f} of {self.total} cores are free")
            self.free_before = not self.free_before
        else:
            self.free_before = False

    def _set(self, n: int, why: str) -> None:
        self.changes.append(f"threads {self.threads} → {n}: {why}")
        self.threads = n
        self.set_threads(n)
