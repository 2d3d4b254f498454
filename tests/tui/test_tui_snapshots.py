"""Snapshots of every screen at the smallest supported terminal (80x24) and a common one (120x36), with
fixed content (fake corpora, runs with fixed metrics, synthetic training events, a seeded sample).
Update them with ``pytest tests/tui --snapshot-update``."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static
from tui_helpers import charts_drawn, fix_metrics, settle, wait_for

from lmtui.events import Eval, Finished, NgramCounts, Sample, Started, Step
from lmtui.tui.app import make_app
from lmtui.tui.trainer_process import TrainerEvent

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 36), id="120x36")]


@pytest.mark.parametrize("size", SIZES)
def test_corpus_screen(snap_compare, fake_corpora: Path, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_model_screen(snap_compare, fake_corpora: Path, size: tuple[int, int]) -> None:
    async def open_form(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=open_form)


def training_events() -> list:
    events: list = [Started("scripts-lstm-char", "scripts", "lstm", "char", 80, 95_824, 383_296, 4_131_973,
                            229_554, None, 60.0)]
    for step in range(1, 301):
        loss = 1.6 + 2.8 / (1 + step / 25)
        events.append(Step(step, loss, 0.2 + 0.6 / (1 + abs(step - 40) / 10), 0.004, 61_000.0, step * 0.1,
                           60 - step * 0.1, step * 0.1 / 60))
        if step % 25 == 0:
            events.append(Eval(step, loss + 0.05, 2.718281828 ** (loss + 0.05), (loss + 0.05) * 1.44, True,
                               step * 0.1, scope="slice"))
    events.append(Sample(300, "HAMLET:\nWhat is the matter of the world,\nAnd then the king is the dead.\n\n"
                              "OPHELIA:\nI will not speak to thee."))
    return events


@pytest.mark.parametrize("size", SIZES)
def test_training_dashboard(snap_compare, size: tuple[int, int]) -> None:
    async def feed(pilot: Pilot) -> None:
        for event in training_events():
            pilot.app.screen.post_message(TrainerEvent(event))
        await charts_drawn(pilot)

    assert snap_compare(make_app(mode="training"), terminal_size=size, run_before=feed)


@pytest.mark.parametrize("size", SIZES)
def test_ngram_dashboard(snap_compare, size: tuple[int, int]) -> None:
    async def feed(pilot: Pilot) -> None:
        for event in (Started("colours-ngram-char", "paint-colours", "ngram", "char", 124, 48_000, 576_000,
                              690_000, 38_000, None, None),
                      NgramCounts(4, [124, 2_900, 21_000, 62_000], 0.41),
                      Eval(1, 1.9, 6.69, 2.74, True, 0.5)):
            pilot.app.screen.post_message(TrainerEvent(event))
        await charts_drawn(pilot)

    assert snap_compare(make_app(mode="training"), terminal_size=size, run_before=feed)


@pytest.mark.parametrize("size", SIZES)
def test_playground(snap_compare, trained_runs: Path, size: tuple[int, int]) -> None:
    fix_metrics(trained_runs)

    async def generate(pilot: Pilot) -> None:
        screen = pilot.app.screen
        for field in screen.query(Input):
            field.cursor_blink = False  # a blinking cursor makes a snapshot depend on the moment it is taken
        await wait_for(pilot, lambda: screen.model is not None, "model")
        screen.query_one("#prime", Input).value = "The old "
        screen.query_one("#seed", Input).value = "7"
        # short enough to fit the sample box at 80x24: a box that scrolls catches its scroll mid-way
        screen.query_one("#length", Input).value = "60"
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: screen.record is not None, "sample")
        await wait_for(pilot, lambda: screen.predicted_for == screen.prime, "next tokens")
        await settle(pilot)

    assert snap_compare(make_app(run="ngram-run"), terminal_size=size, run_before=generate)


@pytest.mark.parametrize("size", SIZES)
def test_runs_screen(snap_compare, trained_runs: Path, monkeypatch, size: tuple[int, int]) -> None:
    fix_metrics(trained_runs)
    # the screen shows the real runs folder; the test's is a new temporary one each time
    monkeypatch.setattr("lmtui.tui.screens.runs.display_path", lambda path: "~/.local/share/lmtui/runs")

    async def table_filled(pilot: Pilot) -> None:
        await settle(pilot)
        table = pilot.app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 2, "the runs table's rows")
        pin_runs_folder(pilot)
        await pilot.pause()

    assert snap_compare(make_app(mode="runs"), terminal_size=size, run_before=table_filled)


@pytest.mark.parametrize("size", SIZES)
def test_model_screen_with_a_problem(snap_compare, fake_corpora: Path, size: tuple[int, int]) -> None:
    async def bad_dropout(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        pilot.app.screen.query_one("#f-dropout", Input).value = "1.5"
        pilot.app.screen.query_one("#advanced").collapsed = False
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=bad_dropout)


@pytest.mark.parametrize("size", SIZES)
def test_dashboard_after_one_evaluation(snap_compare, size: tuple[int, int]) -> None:
    """One evaluation: a point with sane axes, not a garbled axis; the run stopped with its full evaluation
    pending, which the dashboard says."""
    async def feed(pilot: Pilot) -> None:
        events = training_events()
        first_eval = next(i for i, e in enumerate(events) if isinstance(e, Eval))
        for event in [*events[:first_eval + 1],
                      Finished("scripts-lstm-char", 25, "stopped", None, None, None, None, 2.5, 1, 1, 1,
                               eval_pending=True)]:
            pilot.app.screen.post_message(TrainerEvent(event))
        await charts_drawn(pilot)
        pilot.app.screen.action_next_chart()  # below 30 rows: the perplexity chart, as C shows it
        await charts_drawn(pilot)

    assert snap_compare(make_app(mode="training"), terminal_size=size, run_before=feed)


def pin_runs_folder(pilot: Pilot) -> None:
    """The runs screen shows the real runs folder, a temporary one in tests: pin it for the snapshot."""
    pilot.app.screen.query_one("#runs-dir", Static).update("runs folder: /home/reader/lmtui/runs")


@pytest.mark.parametrize("size", SIZES)
def test_empty_runs_screen(snap_compare, lmtui_home: Path, size: tuple[int, int]) -> None:
    async def empty(pilot: Pilot) -> None:
        await settle(pilot)
        pin_runs_folder(pilot)
        await pilot.pause()

    assert snap_compare(make_app(mode="runs"), terminal_size=size, run_before=empty)


def test_too_small_terminal(snap_compare, fake_corpora: Path) -> None:
    assert snap_compare(make_app(), terminal_size=(70, 20), run_before=settle)
