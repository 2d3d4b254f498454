"""Live line charts of training against step (textual-plot), redrawn at most a few times a second.

The chart sets its own axis limits from the data, so one point gets sane axes (textual-plot's autoscale
gives a zero-width range ticked "299.9999990 299.9999995…"), and an emptied chart forgets the last run's
axes. Its legend is text for the box around it (``legend()``), never drawn over the data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.text import Text
from textual.widget import Widget
from textual_plot import HiResMode, PlotWidget
from textual_plot.axis_formatter import NumericAxisFormatter


class StepFormatter(NumericAxisFormatter):
    """Whole-number ticks for a step axis (no "299.5"), spaced to fit the chart's width (``columns``),
    shortened to "12k" past ten thousand."""

    columns = 80

    def get_ticks(self, min_: float, max_: float, max_ticks: int = 8) -> list[float]:
        most = max(2, min(max_ticks, self.columns // 6))  # room for a label of up to five characters each
        interval = 1.0
        for power in range(12):
            for nice in (1, 2, 5):
                interval = float(nice * 10**power)
                if (max_ - min_) / interval < most:
                    ticks = [float(t) for t in range(math.ceil(min_ / interval) * int(interval),
                                                     int(max_) + 1, int(interval))]
                    return [t for t in ticks if self._fits(t, min_, max_)]
        return [min_, max_]

    def _fits(self, tick: float, min_: float, max_: float) -> bool:
        """Whether the tick's label ends inside the chart: textual-plot centres it on the tick's column (the
        right half the longer) and right-aligns only a tick at the axis's very end; at 80 columns the loss
        chart's "1000", two columns from the end, was drawn as "100"."""
        if tick >= max_ or max_ <= min_:
            return True
        column = math.floor(1 + (tick - min_) / (max_ - min_) * (self.columns - 2))  # as textual-plot maps it
        return column + len(self.get_labels_for_ticks([tick])[0]) // 2 <= self.columns - 1

    def get_labels_for_ticks(self, ticks: Sequence[float]) -> list[str]:
        return [f"{t / 1000:g}k" if abs(t) >= 10_000 else f"{t:.0f}" for t in ticks]


@dataclass
class Series:
    style: str
    marker: str | None = None  # each point also drawn as this character (evaluations on the loss chart)
    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)


def limits(values: Sequence[float], pad: float, least: float) -> tuple[float, float]:
    """An axis range holding every value: a margin of ``pad`` of the range, at least ``least`` wide."""
    low, high = min(values), max(values)
    margin = (high - low) * pad
    if high - low < least:  # one value (or a flat line): centre it in a range of sensible width
        margin = max(least, abs(high) * 0.05) / 2
    return low - margin, high + margin


class LineChart(PlotWidget, can_focus=False):
    """Named series of (step, value) points; ``add`` is cheap, ``redraw`` replots when something changed."""

    def __init__(self, x_label: str = "step", *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, allow_pan_and_zoom=False)
        self.set_reactive(PlotWidget.margin_top, 1)
        self.set_reactive(PlotWidget.margin_bottom, 2)
        self.set_reactive(PlotWidget.margin_left, 8)
        self._series: dict[str, Series] = {}
        self._dirty = False
        self.set_xlabel(x_label)
        self._steps = StepFormatter()
        self.set_x_formatter(self._steps)
        self._look: tuple[str, ...] | None = None  # the axis, tick and label styles last plotted with

    def notify_style_update(self) -> None:
        """Replot on a restyle only when the chart's own styles changed (a new theme): Textual restyles
        every widget of a screen each time the screen is shown again, and replotting every chart then made
        the switch to the dashboard the slowest one."""
        Widget.notify_style_update(self)  # clear the style caches, without PlotWidget's replot
        if self.is_mounted:  # compare once Textual has also restyled the component classes
            self.call_later(self._restyled)

    def _restyled(self) -> None:
        look = tuple(str(self.get_component_rich_style(name))
                     for name in ("plot--axis", "plot--tick", "plot--label"))
        if look != self._look:
            self._look = look
            self._rerender()

    def add_series(self, name: str, style: str, marker: str | None = None) -> None:
        self._series[name] = Series(style, marker)

    def add(self, name: str, x: float, y: float | None) -> None:
        if y is None or not math.isfinite(y):
            return
        series = self._series[name]
        series.xs.append(x)
        series.ys.append(y)
        self._dirty = True

    def reset(self) -> None:
        for series in self._series.values():
            series.xs.clear()
            series.ys.clear()
        self._dirty = True

    def first_x(self, name: str) -> float | None:
        xs = self._series[name].xs
        return xs[0] if xs else None

    def count(self, name: str | None = None) -> int:
        """Points in one series, or in all of them."""
        if name is None:
            return sum(len(s.xs) for s in self._series.values())
        return len(self._series[name].xs)

    def points(self, name: str) -> list[tuple[float, float]]:
        series = self._series[name]
        return list(zip(series.xs, series.ys, strict=True))

    def legend(self) -> Text:
        """The series names in their colours (with the marker where points are marked), for a border."""
        parts: list[tuple[str, str] | str] = []
        for name, series in self._series.items():
            if parts:
                parts.append("  ")
            parts.append((series.marker or "━", series.style))
            parts.append(f" {name}")
        return Text.assemble(*parts)

    def render(self):  # type: ignore[no-untyped-def]
        """Ticks are spaced for the width the chart has now: a chart plotted while hidden or at another
        terminal size (charts take turns at 80x24) is re-ticked as it is drawn, not when data next comes."""
        self._steps.columns = self.size.width - self.margin_left
        return super().render()

    def redraw(self, force: bool = False) -> None:
        if not (self._dirty or force) or not self.is_mounted:
            return
        self._dirty = False
        self.clear()
        shown = [s for s in self._series.values() if s.xs]
        if not shown:  # nothing yet: plain axes, not the previous run's
            self.set_xlimits(0, 1)
            self.set_ylimits(0, 1)
            return
        low, high = limits([x for s in shown for x in s.xs], 0.0, 2.0)
        if 0 <= low <= 0.1 * high:  # a run from its start: the axis starts at 0, a tick a reader expects
            low = 0
        self.set_xlimits(low, high)
        self.set_ylimits(*limits([y for s in shown for y in s.ys], 0.05, 1e-3))
        for s in shown:
            if len(s.xs) > 1:
                self.plot(s.xs, s.ys, line_style=s.style, hires_mode=HiResMode.BRAILLE)
            if s.marker or len(s.xs) == 1:  # a single point is drawn as a point, not as nothing
                self.scatter(s.xs, s.ys, marker=s.marker or "●", marker_style=f"bold {s.style}")
