"""The dashboard's "gradient reaching k steps back" chart: log10 of the gradient norm against k.

A simple RNN's line falls steeply (each step back multiplies the gradient by the recurrent Jacobian); an
LSTM's or GRU's stays high much longer. The first measurement stays drawn beside the latest one, so the
learner sees how training changed it. Its title and legend come in several lengths: the panel shows the
longest its border holds (half of an 80-column terminal is little), never a cut one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text

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

    def titles(self, norms: list[float] | None, note: str = "") -> list[str]:
        """The panel's title, longest first (``fit`` takes the longest its border holds)."""
        out = []
        pairs = log_norms(norms or [])
        if note:
            out.append(f"Gradient reaching k steps back · {note}")
        elif norms is None:
            out.append("Gradient reaching k steps back · measured at each evaluation")
        elif len(pairs) >= 2:
            (k1, first), (kn, last) = pairs[0], pairs[-1]
            ratio = f"{10 ** (first - last):.3g}×"
            out += [f"Gradient reaching k steps back · {self.summary(norms)}",
                    f"Gradient reach · {kn} steps back: {ratio} smaller than {k1} back",
                    f"Gradient reach · {ratio} less at k = {kn}"]
        return [*out, "Gradient reach (log10)", "Gradient reach"]

    def subtitles(self, norms: list[float] | None, warmup: int = 0, stateless: bool = False) -> list[Text]:
        """The legend of its two curves, with the window it was measured over where there is room (a
        recurrent network's state was warmed on ``warmup`` tokens first; a fixed-window model has none)."""
        legend = self.legend()
        if not norms:
            return [legend]
        k = len(norms)
        warm = [f"after {warmup} tokens read to warm the state", f"{warmup} warm-up tokens", "warm state"]
        where = [f" · k = 1..{k}, {w}" for w in warm] if warmup else [f" · k = 1..{k}, from a zero state"]
        if stateless:
            where = [f" · k = 1..{k}"]
        return [Text.assemble(legend, (w, "dim")) for w in [*where, f" · k ≤ {k}"]] + [legend]


def fit(candidates: Sequence[str | Text], room: int) -> str | Text:
    """The first (longest) candidate that fits ``room`` cells, else the last: a border never cuts a title."""
    for c in candidates:
        if cell_len(c.plain if isinstance(c, Text) else c) <= room:
            return c
    return candidates[-1]


def set_line(chart: LineChart, name: str, x0: float | None, x1: float, y: float) -> None:
    """Make series ``name`` one horizontal line at ``y`` from ``x0`` to ``x1`` (a threshold)."""
    series = chart._series[name]
    series.xs[:] = [x1 if x0 is None else x0, x1]
    series.ys[:] = [y, y]
    chart._dirty = True
