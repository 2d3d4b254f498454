"""The dashboard stays cheap while a model trains: no chart work while another screen is shown (one replot
when it comes back), no replot for a restyle that changed nothing, and its numbers line still grows a row
when it needs one."""

from __future__ import annotations

import pytest
from test_tui_charts import step
from test_tui_screens import started, text_of
from tui_helpers import charts_drawn, run_async, wait_for

from lmtui.events import Eval
from lmtui.tui.app import make_app
from lmtui.tui.screens.training import TrainingScreen
from lmtui.tui.trainer_process import TrainerEvent
from lmtui.tui.widgets.charts import LineChart


def plotted(chart: LineChart) -> int:
    """How many training points the chart has drawn (not just received)."""
    return sum(len(d.x) for d in chart._datasets if d.__class__.__name__ == "LinePlot")


@pytest.fixture
def redraws(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the dashboard's redraw ticks (its timer's and those after a switch), so a test can wait for
    some to have passed instead of sleeping for "more than two intervals"."""
    ticks: list[int] = []
    real = TrainingScreen.redraw

    def counted(self: TrainingScreen) -> None:
        ticks.append(1)
        real(self)

    monkeypatch.setattr(TrainingScreen, "redraw", counted)
    return ticks


@run_async
async def test_a_hidden_dashboard_keeps_the_data_and_draws_once_shown(redraws: list[int]) -> None:
    app = make_app(mode="training")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        for event in (started(), step(1), step(2)):
            screen.post_message(TrainerEvent(event))
        loss = screen.query_one("#loss-chart", LineChart)
        await wait_for(pilot, lambda: plotted(loss) == 2, "the first points drawn")
        await app.switch_mode("corpus")
        await pilot.pause()
        renders = []
        loss._render_plot = lambda: renders.append(1)  # type: ignore[method-assign]
        for n in range(3, 30):
            screen.post_message(TrainerEvent(step(n)))
        await wait_for(pilot, lambda: loss.count("train") == 29, "the steps received")
        ticks = len(redraws)
        await wait_for(pilot, lambda: len(redraws) >= ticks + 2, "two of the dashboard's redraw ticks")
        assert plotted(loss) == 2 and not renders, "no chart work while another screen is shown"
        del loss._render_plot
        await app.switch_mode("training")
        await wait_for(pilot, lambda: plotted(loss) == 29, "the new points drawn on return")


@run_async
async def test_showing_the_dashboard_again_replots_nothing_unchanged(redraws: list[int]) -> None:
    app = make_app(mode="training")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        for event in (started(), step(1), step(2)):
            screen.post_message(TrainerEvent(event))
        charts = list(screen.query(LineChart))
        await wait_for(pilot, lambda: plotted(charts[0]) == 2, "the first points drawn")
        await charts_drawn(pilot)
        renders: list[str] = []
        for chart in charts:
            chart._render_plot = lambda name=chart.id: renders.append(name)  # type: ignore[method-assign]
        await app.switch_mode("corpus")
        await pilot.pause()
        await app.switch_mode("training")
        ticks = len(redraws)  # the redraw after the switch, then one of the timer's
        await wait_for(pilot, lambda: len(redraws) >= ticks + 2, "two redraws after the switch")
        assert renders == [], "a screen switch alone replots no chart"
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await wait_for(pilot, lambda: len(renders) >= 3, "the charts replotted in the new theme")


@run_async
async def test_the_numbers_line_grows_a_row_when_it_no_longer_fits() -> None:
    app = make_app(mode="training")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        numbers = screen.query_one("#numbers")
        screen.post_message(TrainerEvent(started()))
        screen.post_message(TrainerEvent(step(1)))
        await wait_for(pilot, lambda: "tokens/s" in text_of(screen, "#numbers"), "the first step")
        await pilot.pause()
        assert numbers.size.height == 1
        for n in range(2, 5):  # each step rewrites one row, no layout needed
            screen.post_message(TrainerEvent(step(n)))
        screen.post_message(TrainerEvent(Eval(4, 2.0, 7.4, 2.9, True, 1.0, scope="slice")))
        await wait_for(pilot, lambda: "val perplexity" in text_of(screen, "#numbers"), "the evaluation")
        await pilot.pause()
        assert len(text_of(screen, "#numbers")) > numbers.content_region.width
        assert numbers.size.height == 2, "a line longer than the screen wraps onto a second row"
