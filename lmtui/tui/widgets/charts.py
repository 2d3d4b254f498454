"""Live line charts of training against step (textual-plot), redrawn at most a few times a second."""

from __future__ import annotations

from textual_plot import HiResMode, LegendLocation, PlotWidget


class LineChart(PlotWidget, can_focus=False):
    """Named series of (step, value) points; ``add`` is cheap, ``redraw`` replots when something changed."""

    def __init__(self, x_label: str = "step", *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, allow_pan_and_zoom=False)
        self.set_reactive(PlotWidget.margin_top, 1)
        self.set_reactive(PlotWidget.margin_bottom, 2)
        self.set_reactive(PlotWidget.margin_left, 8)
        self._series: dict[str, tuple[list[float], list[float], str]] = {}
        self._dirty = False
        self.set_xlabel(x_label)

    def add_series(self, name: str, style: str) -> None:
        self._series[name] = ([], [], style)

    def add(self, name: str, x: float, y: float | None) -> None:
        if y is None:
            return
        xs, ys, _ = self._series[name]
        xs.append(x)
        ys.append(y)
        self._dirty = True

    def reset(self) -> None:
        for xs, ys, _ in self._series.values():
            xs.clear()
            ys.clear()
        self._dirty = True

    def first_x(self, name: str) -> float | None:
        xs = self._series[name][0]
        return xs[0] if xs else None

    def count(self, name: str) -> int:
        return len(self._series[name][0])

    def redraw(self, force: bool = False) -> None:
        if not (self._dirty or force) or not self.is_mounted:
            return
        self._dirty = False
        self.clear()
        shown = [name for name, (xs, _, _) in self._series.items() if xs]
        for name in shown:
            xs, ys, style = self._series[name]
            self.plot(xs, ys, line_style=style, hires_mode=HiResMode.BRAILLE, label=name)
        self.show_legend(LegendLocation.TOPRIGHT, is_visible=len(self._series) > 1 and bool(shown))
