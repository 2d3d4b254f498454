"""The training dashboard tells the truth: charts with sane axes from the first point, legends off the data,
a clean start for each run, one chart at a time in a short terminal, and words that match what happened."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from test_tui_screens import started, text_of
from tui_helpers import run_async, settle, wait_for

from lmtui.events import Eval, Finished, NgramCounts, Sample, Step
from lmtui.tui.app import make_app
from lmtui.tui.screens.training import TrainingScreen
from lmtui.tui.trainer_process import TrainerEvent
from lmtui.tui.widgets.charts import LineChart, StepFormatter, limits

FAKE_TRAINER = str(Path(__file__).with_name("fake_trainer.py"))


def step(n: int, eta: float | None = 5.0) -> Step:
    return Step(n, 3.0 - n / 100, 0.5, 0.004, 50_000, n * 0.1, eta, n / 100)


def test_one_value_gets_a_range_around_it() -> None:
    low, high = limits([7.51233], 0.05, 1e-3)
    assert low < 7.51233 < high and high - low > 0.3  # room for readable ticks, not 7.51233 on each
    low, high = limits([300.0], 0.0, 2.0)
    assert low <= 299 and high >= 301
    assert limits([1.0, 3.0], 0.0, 0.0) == (1.0, 3.0)


@pytest.mark.parametrize("columns", [30, 60, 110])
def test_step_ticks_are_whole_distinct_and_fit(columns: int) -> None:
    formatter = StepFormatter()
    formatter.columns = columns
    for low, high in ((299.0, 301.0), (1.0, 400.0), (0.0, 25_000.0), (24.0, 26.0)):
        ticks, labels = formatter.get_ticks_and_labels(low, high)
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
        assert len(set(labels)) == len(labels), labels
        assert sum(len(label) + 1 for label in labels) <= columns, (labels, columns)


@run_async
async def test_one_evaluation_is_drawn_as_a_point_with_sane_axes() -> None:
    app = make_app(mode="training")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        for event in (started(), step(1), Eval(300, 2.0, 7.51233, 2.9, True, 1.0, scope="slice")):
            screen.post_message(TrainerEvent(event))
        ppl = screen.query_one("#ppl-chart", LineChart)
        await wait_for(pilot, lambda: bool(ppl.points("slice")) and ppl._x_max > 300, "the point")
        assert ppl.points("slice") == [(300, 7.51233)]
        assert ppl._x_min < 300 < ppl._x_max and ppl._y_min < 7.51233 < ppl._y_max
        assert ppl._datasets, "the single point is plotted"
        legend = str(screen.query_one("#ppl-box").border_subtitle)
        assert "slice" in legend and "whole split" in legend  # what was measured is said
        assert "train" in str(screen.query_one("#loss-box").border_subtitle)  # legends in the border


@run_async
async def test_a_new_run_starts_from_clean_charts() -> None:
    app = make_app(mode="training")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        for event in (started(), step(556), Eval(556, 2.0, 7.4, 2.9, True, 1.0), Sample(556, "HAMLET:")):
            screen.post_message(TrainerEvent(event))
        box = screen.query_one("#sample-box")
        await wait_for(pilot, lambda: "556" in str(box.border_title), "the sample")
        await pilot.resize_terminal(100, 30)  # a resize re-titles the boxes, keeping the sample's step
        await wait_for(pilot, lambda: screen.size.width == 100, "the resize")
        await pilot.pause()
        assert "556" in str(box.border_title)
        await pilot.resize_terminal(120, 36)
        await screen.begin([sys.executable, FAKE_TRAINER, "--steps", "0"])
        for name in ("loss", "ppl", "grad"):
            chart = screen.query_one(f"#{name}-chart", LineChart)
            assert chart.count() == 0 and (chart._x_min, chart._x_max) == (0, 1), name
        assert str(screen.query_one("#sample-box").border_title) == "What it writes now"
        assert text_of(screen, "#numbers").strip() == ""
        await wait_for(pilot, lambda: screen.status == "finished", "the fake run")


@run_async
async def test_finished_runs_say_what_happened() -> None:
    app = make_app(mode="training")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        stopped = Finished("demo", 10, "stopped", None, None, None, None, 1.0, 1, 1, 1, eval_pending=True)
        for event in (started(), step(10, eta=9.0), stopped):
            screen.post_message(TrainerEvent(event))
        await wait_for(pilot, lambda: screen.status == "finished", "the stop")
        await pilot.pause()
        assert "ETA" not in text_of(screen, "#numbers")  # no "ETA 0:09" once it has ended
        message = text_of(screen, "#message")
        assert "stopped after 10 steps" in message and "full evaluation is pending" in message
        assert text_of(screen, "#status").strip() == "stopped"
        for action in ("stop", "toggle_pause"):
            assert not screen.check_action(action, ())

        for event in (started("ngram"), NgramCounts(3, [65, 900, 4_000], 0.12),
                      Finished("demo", 1, "done", 2.0, 7.39, 2.1, 8.17, 0.2, 1, 1, 1)):
            screen.post_message(TrainerEvent(event))
        await wait_for(pilot, lambda: "counted in" in text_of(screen, "#message"), "the n-gram's end")
        message = text_of(screen, "#message")
        assert "counted in" in message and "after 1 steps" not in message
        assert "4,000" in text_of(screen, "#ngram-counts")


@run_async
async def test_stopping_shows_how_long_it_has_waited() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await app.start_training([sys.executable, FAKE_TRAINER])
        screen = app.screen
        await wait_for(pilot, lambda: screen.last_step is not None, "first step")
        assert screen.check_action("stop", ()) and screen.check_action("toggle_pause", ())
        screen.trainer.stop = lambda: None  # a child slow to end: the wait must be visible
        await pilot.press("s")
        assert screen.status == "stopping"
        assert not screen.check_action("stop", ()) and "ETA" not in text_of(screen, "#numbers")
        # the wait is counted every second: "Stopping: saving and ending… 1 s"
        await wait_for(pilot, lambda: "Stopping:" in text_of(screen, "#message"), "the wait shown")
        assert " s" in text_of(screen, "#message")
        screen.trainer.kill()
        await wait_for(pilot, lambda: screen.status != "stopping", "the end")


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
@run_async
async def test_charts_keep_six_plot_rows_taking_turns_when_short(size: tuple[int, int]) -> None:
    app = make_app(mode="training")
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        for event in (started(), *(step(n) for n in range(1, 50))):
            screen.post_message(TrainerEvent(event))
        await wait_for(pilot, lambda: getattr(screen.last_step, "step", 0) == 49, "the steps")
        await settle(pilot)
        shown = [b.id for b in screen.query(".chart-box") if b.display]
        assert shown == (["loss-box"] if size == (80, 24) else ["loss-box", "ppl-box", "grad-box"])
        for box in shown:
            plot = screen.query_one(f"#{box}").query_one("#plot")
            assert plot.size.height >= 6, (box, plot.size)
        if size == (80, 24):
            assert "C: next" in str(screen.query_one("#loss-box").border_title)
            await pilot.press("c")
            await pilot.pause()
            assert [b.id for b in screen.query(".chart-box") if b.display] == ["ppl-box"]
        else:
            assert not screen.check_action("next_chart", ())


def test_unk_note_says_what_a_word_perplexity_hides() -> None:
    from lmtui.tui.data import unk_note

    assert unk_note("word", 0.054) == " (5.4% <unk>)"
    assert unk_note("char", 0.054) == "" and unk_note("word", 0.0) == ""


@run_async
async def test_a_word_runs_perplexity_says_its_unk_share_on_the_dashboard() -> None:
    from dataclasses import replace

    app = make_app(mode="training")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        word = replace(started(), level="word", val_unk_rate=0.054)
        done = Finished("demo", 10, "steps", 5.0, 148.4, 5.1, 164.0, 1.0, 1, 1, 1)
        for event in (word, step(10), Eval(10, 5.0, 148.4, 2.9, True, 1.0, scope="slice"), done):
            screen.post_message(TrainerEvent(event))
        await wait_for(pilot, lambda: screen.status == "finished", "the end")
        assert "148.40 (5.4% <unk>)" in text_of(screen, "#message")


@run_async
async def test_a_chart_plotted_at_one_size_is_re_ticked_at_the_next() -> None:
    """At 80x24 the charts take turns, so the perplexity chart is plotted while hidden; after the terminal
    grows and it shows, its steps are ticked for its new width (it had one label, "1000", until new data)."""
    app = make_app(mode="training")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        evals = [Eval(n, 2.0, 7.0 - n / 1000, 2.9, True, 1.0, scope="slice") for n in range(200, 1900, 200)]
        events = [started(), *(step(n) for n in range(100, 1900, 100)), *evals]
        for event in events:
            screen.post_message(TrainerEvent(event))
        ppl = screen.query_one("#ppl-chart", LineChart)
        await wait_for(pilot, lambda: ppl.count("slice") == 9, "the evaluations")
        await wait_for(pilot, lambda: not ppl._dirty, "the chart replotted while hidden")
        await pilot.resize_terminal(120, 36)
        await wait_for(pilot, lambda: ppl.size.width > 40, "the wide layout")
        await wait_for(pilot, lambda: ppl._steps.columns == ppl.size.width - ppl.margin_left,
                       "ticks spaced for the chart's new width")
        ticks, _ = ppl._steps.get_ticks_and_labels(ppl._x_min, ppl._x_max)
        assert len(ticks) >= 3, ticks
