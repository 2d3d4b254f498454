"""When training blows up, and saying so: exploding gradients named as such, with the norms that show it.

A gradient norm a hundred times its first steps' has exploded: the first time, a note says so (with the
norms before it) and the chart gets every step up to it, so the spike is drawn, not skipped between two
Step events. A loss that turns NaN or infinite, or rises ten times past what guessing uniformly costs
(ln V nats, where no run that learns ever is), has diverged: training stops before that step's update and
the message names the step, the norms before it and, when they exploded, the largest.
"""

from __future__ import annotations

import math
import statistics
from collections import deque

from lmtui.errors import LmtuiError

BASELINE_STEPS = 1  # the session's first norm, before any update of it, is the yardstick
EXPLODED = 100.0  # a norm this many times the baseline has exploded
KEEP = 64  # recent steps kept: the chart gets the ones it has not drawn yet, the message the last few
SHOWN = 6  # norms the message lists


class Diverged(LmtuiError):
    """Training blew up at ``step`` (the update was not taken); the message says how."""

    def __init__(self, message: str, step: int) -> None:
        super().__init__(message)
        self.step = step


def diverged_loss(vocab: int) -> float:
    """The training loss past which a run has diverged: ten times a uniform guess's ln V, and at least
    10 nats above it (a tiny vocabulary's ln V is small). No run that learns comes near it."""
    uniform = math.log(max(vocab, 2))
    return max(10 * uniform, uniform + 10)


def _num(x: float) -> str:
    if not math.isfinite(x):
        return str(x)
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


class NormWatch:
    """Each step's loss and gradient norm: what a diverged step's message and the chart's last points show."""

    def __init__(self, vocab: int, clip: float) -> None:
        self.vocab, self.clip = vocab, clip
        self.limit = diverged_loss(vocab)
        self.recent: deque[tuple[int, float, float]] = deque(maxlen=KEEP)  # (step, loss, norm)
        self.first: list[float] = []  # the session's first norms
        self.largest = (0, 0.0)  # (step, norm) of the largest finite norm so far
        self.exploded_at: int | None = None  # the step whose norm first exploded

    def baseline(self) -> float | None:
        finite = [n for n in self.first if math.isfinite(n)]
        return statistics.median(finite) if finite else None

    def check(self, step: int, loss: float, norm: float) -> str | None:
        """Record one step; raise Diverged when its loss is NaN, infinite or far past a uniform guess's.
        Returns the note to give the first time the norm explodes (None otherwise)."""
        self.recent.append((step, loss, norm))
        if len(self.first) < BASELINE_STEPS:
            self.first.append(norm)
        if math.isfinite(norm) and norm > self.largest[1]:
            self.largest = (step, norm)
        if not (math.isfinite(loss) and math.isfinite(norm) and loss <= self.limit):
            raise Diverged(self.message(step, loss, norm), step)
        if self.exploded_at is None and len(self.first) >= BASELINE_STEPS and self.exploded(norm):
            self.exploded_at = step
            base = self.baseline() or 0.0
            capped = (f"clipped to {self.clip:g} before the update" if self.clip > 0
                      else "nothing caps it (--clip 0)")
            return (f"exploding gradients at step {step}: |g| = {_num(norm)}, {norm / base:,.0f} times the "
                    f"session's first {_num(base)} ({self._norms()}); {capped}")
        return None

    def _norms(self) -> str:
        shown = list(self.recent)[-SHOWN:]
        return f"|g| at steps {shown[0][0]}-{shown[-1][0]}: " + ", ".join(_num(n) for _, _, n in shown)

    def exploded(self, norm: float) -> bool:
        base = self.baseline()
        worst = max(self.largest[1], norm if math.isfinite(norm) else math.inf)
        return base is not None and base > 0 and worst > EXPLODED * base

    def message(self, step: int, loss: float, norm: float) -> str:
        uniform = math.log(max(self.vocab, 2))
        if math.isfinite(loss) and math.isfinite(norm):
            what = (f"the loss rose to {loss:.1f} nats/token at step {step}, {loss / uniform:.0f} times what "
                    f"guessing uniformly costs ({uniform:.2f}): training diverged")
        else:
            bad = "loss" if not math.isfinite(loss) else "gradient norm"
            what = f"the {bad} became {loss if bad == 'loss' else norm} at step {step}"
        why = self._norms()
        head = ""
        if self.exploded(norm):
            base = self.baseline() or 0.0
            big_step, big = self.largest
            head = "exploding gradients: "
            why += (f"; the largest, {_num(big)} at step {big_step}, is {big / base:,.0f} times the "
                    f"session's first {_num(base)}")
        fix = "--clip 1, which caps the norm, or a lower --lr" if self.clip <= 0 else "a lower --lr"
        clipped = f" (each norm was clipped to {self.clip:g} before its update)" if self.clip > 0 else ""
        return (f"{head}{what} ({why}){clipped}; training stopped and the last good checkpoint is kept "
                f"(try {fix})")
