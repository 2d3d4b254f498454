"""The dashboard's "gradient reaching k steps back" chart: log10 of the gradient norm against k.

A simple RNN's line falls steeply (each step back multiplies the gradient by the recurrent Jacobian); an
LSTM's or GRU's stays high much longer. The first measurement stays drawn beside the latest one, so the
learner sees how training changed it.
"""

from __future__ import annotations

import math

from lmtui.tui.widgets.charts import LineChart


def log_norms(norms: list[float]) -> list[tuple[int, float]]:
    """(k, log10 norm) for the nonzero norms (a window model's zeros beyond its window have no logarithm)."""
    return [(k, math.log10(v)) for k, v in enumerate(norms, start=1) if v > 0 and math.isfinite(v)]


class GradientReachChart(LineChart):
    """Series "first" and "now": log10 ‖∂loss_T / ∂x_(T-k)‖ for k = 1..K, from GradientReach events."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("k steps back", id=id, classes=classes)
        self.add_series("first", "grey50")
        self.add_series("now", "bright_green")
        self.measured = 0
        self.last_step: int | None = None

    def show(self, step: int, norms: list[float]) -> None:
        """Draw one measurement (the first one is kept as "first")."""
        names = ("first", "now") if self.measured == 0 else ("now",)
        for name in names:
            series = self._series[name]
            series.xs.clear()
            series.ys.clear()
            for k, value in log_norms(norms):
                self.add(name, k, value)
        self.measured += 1
        self.last_step = step
        self._dirty = True

    def reset(self) -> None:
        super().reset()
        self.measured = 0
        self.last_step = None

    def summary(self, norms: list[float]) -> str:
        """One line: how many times smaller the gradient is at the furthest k than one step back."""
        pairs = log_norms(norms)
        if len(pairs) < 2:
            return "no gradient reaches back" if norms else ""
        (k1, first), (kn, last) = pairs[0], pairs[-1]
        return f"log10 scale · {kn} steps back: {10 ** (first - last):.3g}× smaller than {k1} step back"


def set_line(chart: LineChart, name: str, x0: float | None, x1: float, y: float) -> None:
    """Make series ``name`` one horizontal line at ``y`` from ``x0`` to ``x1`` (a threshold)."""
    series = chart._series[name]
    series.xs[:] = [x1 if x0 is None else x0, x1]
    series.ys[:] = [y, y]
    chart._dirty = True
