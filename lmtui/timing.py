"""When a training session evaluates, checkpoints and stops: by time as well as by steps.

Steps alone fail both ways: a slow word model never reaches ``eval_every`` within its budget (an empty
validation chart), a fast one evaluates so often that the passes eat the budget. So evaluations also come
every ``eval_gap`` seconds, on a fixed slice of the validation split sized to cost a small share of that gap,
and ``--max-seconds`` keeps room for the final full evaluation (or leaves it pending when it cannot fit).
No torch here: these are plain numbers, unit-tested on their own.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field

from lmtui.errors import LmtuiError

EVALS_PER_SESSION = 10  # time-scheduled evaluations a budgeted session gets (plus the one at its end)
MIN_EVAL_GAP = 1.0  # seconds; a tiny budget still leaves most of its time to training
MAX_EVAL_GAP = 60.0  # also the gap of a session with a step budget only
SLICE_SHARE = 0.04  # one slice evaluation costs about this share of the gap between evaluations
MIN_SLICE = 1024  # tokens: fewer make a noisy curve, whatever they cost
MAX_EVAL_SHARE = 0.12  # evaluations (slice, sample, checkpoint) take at most this share of training time
FINAL_SHARE = 0.3  # the final full evaluation may use this share of --max-seconds; beyond, it is pending
END_SLACK = 2.0  # seconds a session may end past --max-seconds when its final evaluation ran a little long
STEPS_PER_BUDGET = 20  # no single step is planned to take more than this share of a time budget


MAX_STEPS_ENV = "LMTUI_MAX_STEPS"  # caps every neural training session's steps (README's own test sets it)
# Early stopping, for a time budget on a short text: this many evaluations in a row and this many passes over
# the training text past the best validation loss end the session (reason "overfit"; the best weights are the
# run's). A budget in steps is trained to the end.
PATIENCE_EVALS, PATIENCE_PASSES = 10, 3


def step_cap() -> int | None:
    """At most this many optimizer steps per neural training session, whatever --steps, --max-seconds, a
    preset or compare's budget say: ``LMTUI_MAX_STEPS``, so a test can run README's commands as written (same
    names) on a short budget. None when unset; read here only. n-grams ignore it (one counting pass)."""
    value = os.environ.get(MAX_STEPS_ENV, "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise LmtuiError(f"{MAX_STEPS_ENV}={value!r}: must be a positive whole number of steps (or unset)")
    return int(value)


def max_step_seconds(training_seconds: float) -> float:
    """The longest one training step may be planned to take, with this many seconds to train."""
    return training_seconds / STEPS_PER_BUDGET


def process_age() -> float:
    """Seconds since this process started (Linux's /proc), 0 where that is unknown: a command's time budget
    counts from when the user started it, interpreter and imports included."""
    with contextlib.suppress(OSError, ValueError, IndexError, AttributeError):
        with open("/proc/self/stat", encoding="ascii") as fh:
            started = int(fh.read().rsplit(")", 1)[1].split()[19])  # field 22: start time, in clock ticks
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        return max(0.0, uptime - started / os.sysconf("SC_CLK_TCK"))
    return 0.0


def eval_gap(training_seconds: float | None) -> float:
    """Seconds between time-scheduled evaluations, for a session with this much time left to train."""
    if training_seconds is None:
        return MAX_EVAL_GAP
    return min(MAX_EVAL_GAP, max(MIN_EVAL_GAP, training_seconds / EVALS_PER_SESSION))


def spacing(gap: float, eval_cost: float) -> float:
    """Seconds from one evaluation's start to the next: the gap, stretched when evaluating costs more than
    MAX_EVAL_SHARE of it (a word model's sample through a 10k softmax can cost more than its slice)."""
    return max(gap, eval_cost / MAX_EVAL_SHARE)


def slice_tokens(tokens_per_s: float, gap: float, available: int) -> int:
    """How much of the validation split one evaluation during training scores (the same tokens each time)."""
    wanted = int(tokens_per_s * gap * SLICE_SHARE)
    return max(2, min(available, max(MIN_SLICE, wanted)))


@dataclass
class Session:
    """One ``lmtui train`` session's clock: start-up, training, final evaluation, and its budget."""

    max_seconds: float | None
    started: float = field(default_factory=time.perf_counter)
    loop_started: float | None = None
    first_step: float | None = None
    loop_ended: float | None = None
    finished: float | None = None
    eval_rate: float = 0.0  # validation tokens scored per second (measured on the slice)
    eval_cost: float = 0.0  # seconds the last in-training evaluation took (slice, sample, checkpoint)

    def now(self) -> float:
        return time.perf_counter() - self.started

    def final_cost(self, tokens: int) -> float | None:
        """Estimated seconds to score ``tokens`` in full (load, val, test); None before any measurement."""
        if self.eval_rate <= 0:
            return None
        return 0.2 + 1.5 * tokens / self.eval_rate  # the whole split scores no faster per token than a slice

    def full_fits(self, tokens: int) -> bool:
        """May the session end with a full evaluation of ``tokens``? Always without a time budget."""
        if not self.max_seconds:
            return True
        cost = self.final_cost(tokens)
        return cost is not None and cost <= FINAL_SHARE * self.max_seconds

    def full_fits_now(self, tokens: int) -> bool:
        """At the end of training: does a full evaluation fit the time that is left (give or take END_SLACK)?

        Only the time left counts here, not the share: the estimate moves with the load, and a session that
        reserved the time for its full evaluation should not give it up for an estimate a little higher."""
        if not self.max_seconds:
            return True
        cost = self.final_cost(tokens)
        return cost is not None and self.now() + cost <= self.max_seconds + END_SLACK

    def training_deadline(self, tokens: int) -> float | None:
        """Session seconds at which training must end so the final evaluation still fits the budget."""
        if not self.max_seconds:
            return None
        reserve = self.eval_cost
        if self.full_fits(tokens):
            reserve += self.final_cost(tokens) or 0.0
        return self.max_seconds - reserve

    def parts(self) -> dict[str, float]:
        """Seconds per part of the session, for the closing line and the finished event."""
        end = self.finished or time.perf_counter()
        loop_started = self.loop_started or end
        loop_ended = self.loop_ended or end
        return {
            "session_seconds": end - self.started,
            "startup_seconds": loop_started - self.started,
            "training_seconds": loop_ended - loop_started,
            "eval_seconds": end - loop_ended,
            **({"first_step_seconds": self.first_step - self.started} if self.first_step else {}),
        }
