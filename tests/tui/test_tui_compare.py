"""The Compare screen (legend, axis labels, progress by work done, a clean stop, a readable budget field)
and a comparison's runs as one group on the Runs screen. Budgets are steps: the screen's child gets them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.widgets import DataTable, Input, ProgressBar
from tui_helpers import run_async, settle, wait_for

from lmtui import runs
from lmtui.cli import main
from lmtui.tui.app import make_app
from lmtui.tui.screens.compare import X_LABEL, Y_LABEL, CompareScreen
from lmtui.tui.screens.confirm import ConfirmScreen
from lmtui.tui.screens.runs import RunsScreen
from lmtui.tui.widgets.charts import LineChart

SIZE = (120, 36)


def lmtui(*args: object) -> None:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output


def screen_text(app) -> str:  # noqa: ANN001
    """What the terminal shows, as plain lines."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def axes_labelled(shown: str) -> bool:
    """Both axis labels drawn on the chart: each alone on its line inside the chart's box."""
    lines = [line.strip(" │") for line in shown.splitlines()]
    return X_LABEL in lines and Y_LABEL in lines


def with_steps(screen: CompareScreen, steps: int) -> None:
    """The screen's child trains each neural model ``steps`` steps (its seconds budget set out of reach)."""
    screen.query_one("#c-seconds", Input).value = "100000"
    argv = screen.argv
    screen.argv = lambda: [*(argv() or []), "--steps", str(steps)]  # type: ignore[method-assign]


@run_async
async def test_compare_screen_names_its_curves_and_axes_and_moves_by_work(english_file: Path) -> None:
    app = make_app(mode="compare")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        screen.query_one("#c-corpus", Input).value = str(english_file)
        screen.query_one("#c-models", Input).value = "1gram,3gram,rnn"
        with_steps(screen, 3)
        seen: list[tuple[str, float]] = []  # (event, the bar after it)
        handle = screen.handle
        screen.handle = lambda e: (handle(e), seen.append((e["event"], screen.done)))  # type: ignore[method-assign]
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "done" in str(screen.query_one("#compare-status").content), "the end")
        table = screen.query_one(DataTable)
        assert [table.get_row_at(i)[0] for i in range(3)] == ["1gram", "3gram", "rnn"]
        assert table.get_row_at(2)[3] == "3"  # the steps column
        chart = screen.query_one("#compare-chart", LineChart)
        assert chart.count("rnn") >= 1 and chart.count("1gram") == 2
        await settle(pilot)
        shown = screen_text(app)
        legend = str(screen.query_one("#compare-legend").content)
        assert all(f"━ {name}" in legend for name in ("1gram", "3gram", "rnn"))  # each curve named
        assert axes_labelled(shown)
        bar = [done for _, done in seen]
        assert bar == sorted(bar) and bar[-1] == 1.0  # the bar only moves forward, to the end
        rows = [done for event, done in seen if event == "row"]
        assert 0 < rows[0] < rows[1] < 0.2 < rows[2]  # an n-gram's share is small: it only counts
        stepping = [done for event, done in seen if event == "progress" and rows[1] < done < rows[2]]
        assert stepping  # within the rnn's share, its steps move the bar
        assert screen.query_one(ProgressBar).progress == 1.0
        assert runs.load_run("cmp1-english-rnn").meta["group"] == "cmp1"


@run_async
async def test_esc_stops_the_comparison_cleanly(english_file: Path) -> None:
    app = make_app(mode="compare")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.query_one("#c-corpus", Input).value = str(english_file)
        screen.query_one("#c-models", Input).value = "1gram,rnn,2gram"
        with_steps(screen, 100_000)  # only the stop can end it in time for the test

        def rnn_stepping() -> bool:
            if not runs.exists("cmp1-english-rnn"):
                return False
            return any(e.get("event") == "step" for e in runs.load_run("cmp1-english-rnn").history())

        await pilot.press("ctrl+r")
        await wait_for(pilot, rnn_stepping, "the rnn's first steps")
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.process is not None and screen.process.returncode is not None,
                       "the child's end")
        await wait_for(pilot, lambda: "stopped at rnn" in str(screen.query_one("#compare-status").content),
                       "the stopped status")
        status = screen.query_one("#compare-status").content
        assert "✗" not in str(status) and "red" not in str(getattr(status, "style", ""))
        assert screen.process.returncode == 0
        run = runs.load_run("cmp1-english-rnn")
        assert run.status == "stopped" and run.meta["group"] == "cmp1"  # not "interrupted"
        assert screen.query_one(DataTable).row_count == 1 and not runs.exists("cmp1-english-2gram")
        assert screen.done < 1.0
        assert "stopped while training rnn" in str(screen.query_one("#verdict").content)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
@run_async
async def test_a_typed_budget_stays_readable(size: tuple[int, int]) -> None:
    app = make_app(mode="compare")
    async with app.run_test(size=size) as pilot:
        field = app.screen.query_one("#c-seconds", Input)
        field.value = ""
        field.focus()
        await pilot.press(*"1200.5")
        await settle(pilot)
        assert field.value == "1200.5"
        assert field.content_region.width > len("1200.5")  # every character and the cursor
        assert "1200.5" in screen_text(app)


@run_async
async def test_a_comparison_is_one_row_of_the_runs_table(english_file: Path) -> None:
    lmtui("train", english_file, "--model", "ngram", "--order", "2", "--name", "mine")
    lmtui("compare", english_file, "--models", "1gram,2gram")
    app = make_app(mode="runs")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        table = screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 2, "the runs table")
        assert table.get_row_at(1)[0] == "▸ cmp1 · 2 runs"  # closed: one row for the comparison
        table.move_cursor(row=1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: table.row_count == 4, "the comparison's runs")
        assert [table.get_row_at(i)[0] for i in range(1, 4)] == [
            "▾ cmp1 · 2 runs", "  cmp1-english-1gram", "  cmp1-english-2gram"]
        table.move_cursor(row=1)
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: table.row_count == 1, "the comparison deleted")
        assert [r.name for r in runs.list_runs()] == ["mine"]  # its runs all went, nothing else


def fake_row(label: str, bpc: float, curve: list[list[float]]) -> dict:
    return {"label": label, "run": f"cmp1-x-{label}", "parameters": 10, "size_bytes": 40,
            "steps": None if label.endswith("gram") else 5, "tokens": 640, "train_seconds": 1.0,
            "test_ppl": 2**bpc, "test_bits_per_char": bpc, "test_ppl_excl_oov": 2**bpc, "test_unk_rate": 0.0,
            "curve": [], "val_curve": curve}


@run_async
async def test_a_short_terminal_shows_the_table_or_the_chart() -> None:
    app = make_app(mode="compare")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await settle(pilot)
        assert "Ctrl+T: chart" in str(screen.query_one("#compare-status").content)
        screen.handle({"event": "group", "group": "cmp1", "runs": []})
        screen.handle({"event": "row", "row": fake_row("3gram", 2.0, []), "overall": 0.1})
        lstm = fake_row("lstm", 1.8, [[1.0, 3.0], [4.0, 1.8]])
        screen.handle({"event": "row", "row": lstm, "overall": 0.9})
        screen.handle({"event": "progress", "label": "lstm", "progress": 0.5, "overall": 0.5})
        assert screen.query_one(ProgressBar).progress == 0.9  # never back
        chart = screen.query_one("#compare-chart", LineChart)
        assert chart.points("3gram") == [(0, 2.0), (4.0, 2.0)]  # the n-gram's line spans the neural curves
        await settle(pilot)
        table, box = screen.query_one(DataTable), screen.query_one("#compare-chart-box")
        assert table.row_count == 2 and table.region.height > 2 and not box.display
        await pilot.press("ctrl+t")
        await settle(pilot)
        shown = screen_text(app)
        assert box.display and not table.display
        assert axes_labelled(shown) and "━ 3gram  ━ lstm" in shown
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert table.display and table.region.height > 2 and not box.display
