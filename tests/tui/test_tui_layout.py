"""Every screen at the two sizes the app is designed for (80x24, the smallest; 120x36, a common window):
what must be on screen without scrolling, and every focusable control reachable with Tab and scrolled into
view when it gets focus."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button, Input
from tui_helpers import fully_visible, run_async, settle, wait_for

from lmtui.tui.app import make_app
from lmtui.tui.screens.model import ModelScreen

SMALL, COMMON = (80, 24), (120, 36)


def choose(screen: ModelScreen, radio_set: str, name: str) -> None:
    next(b for b in screen.query_one(f"#{radio_set}").query("RadioButton") if b.name == name).value = True


async def open_model_screen(pilot) -> ModelScreen:  # noqa: ANN001
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ModelScreen)
    return screen


@pytest.mark.parametrize("family", ["lstm", "ngram"])
@pytest.mark.parametrize("level", ["char", "word"])
@run_async
async def test_model_form_shows_size_error_and_train_without_scrolling(fake_corpora: Path, family: str,
                                                                      level: str) -> None:
    app = make_app()
    async with app.run_test(size=COMMON) as pilot:
        screen = await open_model_screen(pilot)
        choose(screen, "family", family)
        choose(screen, "level", level)
        await settle(pilot)
        field = screen.query_one("#f-order" if family == "ngram" else "#f-dropout", Input)
        field.value = "9"
        await settle(pilot)
        assert screen.error
        for selector in ("#size", "#error", "#train"):
            assert fully_visible(app, screen.query_one(selector)), selector
        assert str(screen.query_one("#size").render()).rstrip().endswith(("first", "seconds)"))
        # the whole form fits: every field of this family is on screen as well
        for row in screen.query("#model-fields .field, #train-fields .field"):
            if row.display:
                assert fully_visible(app, row), row.id


@run_async
async def test_model_form_at_80x24_values_readable_and_train_visible(fake_corpora: Path) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_model_screen(pilot)
        assert fully_visible(app, screen.query_one("#train", Button))
        for field in screen.query("#model-fields Input, #train-fields Input"):
            if field.parent.display and field.value:
                assert field.content_region.width >= len(field.value) + 1, field.id


@run_async
async def test_k1_field_is_checked_against_sequence_length(fake_corpora: Path) -> None:
    app = make_app()
    async with app.run_test(size=COMMON) as pilot:
        screen = await open_model_screen(pilot)
        screen.query_one("#f-k1", Input).value = "64"  # more than the sequence length (32)
        await pilot.pause()
        assert screen.error and screen.error.startswith("tokens between updates (k1) must be between 1 and")
        assert screen.query_one("#f-k1", Input).has_class("-invalid")
        screen.query_one("#f-k1", Input).value = "8"
        await pilot.pause()
        assert screen.error is None
        _, train = screen.check()
        assert train.k1 == 8 and train.seq_len == 32


@run_async
async def test_a_problem_in_the_advanced_section_opens_it(fake_corpora: Path) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_model_screen(pilot)
        assert screen.query_one("#advanced").collapsed
        screen.query_one("#f-batch_size", Input).value = "0"
        await pilot.pause()
        assert screen.error == "batch size must be between 1 and 65536"
        assert not screen.query_one("#advanced").collapsed


@run_async
async def test_readme_step_2_keys_choose_quick_and_enter_keeps_lstm(fake_corpora: Path) -> None:
    """README step 2 done literally: the lists' keyboard cursor starts on the chosen item."""
    app = make_app()
    async with app.run_test(size=COMMON) as pilot:
        screen = await open_model_screen(pilot)
        assert app.focused is screen.query_one("#family")
        await pilot.press("enter")  # Enter on the family list keeps LSTM
        assert screen.family == "lstm"
        await pilot.press("tab", "tab")  # Tokens, then Preset
        assert app.focused is screen.query_one("#preset")
        await pilot.press("up", "enter")
        await settle(pilot)
        assert screen.preset == "quick"
        assert screen.query_one("#f-max_seconds", Input).value == "15"


@run_async
async def test_smoothing_list_opens_on_the_chosen_value(fake_corpora: Path) -> None:
    from textual.widgets import Select

    app = make_app()
    async with app.run_test(size=COMMON) as pilot:
        screen = await open_model_screen(pilot)
        choose(screen, "family", "ngram")
        await settle(pilot)
        smoothing = screen.query_one("#f-smoothing", Select)
        smoothing.value = "backoff"
        smoothing.focus()
        await pilot.press("enter", "enter")  # open the list, Enter at once: the choice stays
        await settle(pilot)
        assert smoothing.value == "backoff"
        choose(screen, "family", "lstm")
        await settle(pilot)
        screen.query_one("#family").focus()
        await pilot.press("home", "enter")  # Home goes to the first family
        await settle(pilot)
        assert screen.family == "ngram"
        screen.query_one("#family").focus()
        await pilot.press("end", "enter")
        await settle(pilot)
        assert screen.family == "gru"


# -- every focusable control, every screen, at 80x24 --------------------------------------------------------


async def tab_through(pilot, where: str) -> list[str]:  # noqa: ANN001
    """Press Tab until focus comes back round; each focused widget must be fully on screen."""
    app = pilot.app
    seen: list[str] = []
    first = app.focused
    for _ in range(60):
        await pilot.press("tab")
        await pilot.pause()
        await pilot.pause()
        widget = app.focused
        if widget is None:
            break
        assert fully_visible(app, widget), f"{where}: {widget!r} is focused but not fully on screen"
        seen.append(widget.id or type(widget).__name__)
        if widget is first:
            break
    return seen


@run_async
async def test_tab_reaches_every_control_in_view_on_the_model_screen(fake_corpora: Path) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_model_screen(pilot)
        screen.query_one("#advanced").collapsed = False
        await settle(pilot)
        seen = await tab_through(pilot, "model")
        for f in ("f-embed", "f-k1", "f-name", "f-batch_size", "f-seed", "train"):
            assert f in seen
        for family, level in (("ngram", "word"), ("window", "word")):
            choose(screen, "family", family)
            choose(screen, "level", level)
            await settle(pilot)
            seen = await tab_through(pilot, f"model ({family}, {level})")
            assert "f-max_vocab" in seen


@run_async
async def test_tab_reaches_every_control_in_view_on_the_corpus_screen(fake_corpora: Path) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await tab_through(pilot, "corpus")
        await pilot.press("ctrl+o")
        await settle(pilot)
        await tab_through(pilot, "corpus, own text")


@run_async
async def test_tab_reaches_every_control_in_view_on_the_playground(trained_runs: Path) -> None:
    app = make_app(run="lstm-run")
    async with app.run_test(size=SMALL) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.model is not None, "model")
        await settle(pilot)
        seen = await tab_through(pilot, "playground")
        assert {"prime", "seed", "length"} <= set(seen)


@run_async
async def test_tab_reaches_every_control_in_view_on_runs_and_training(trained_runs: Path) -> None:
    app = make_app(mode="runs")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await tab_through(pilot, "runs")
        await pilot.press("f3")
        await settle(pilot)
        await tab_through(pilot, "training")


# -- too small, F2 ------------------------------------------------------------------------------------------


@run_async
async def test_below_80x24_the_app_says_how_large_the_terminal_must_be(fake_corpora: Path) -> None:
    from lmtui.tui.screens.corpus import CorpusScreen
    from lmtui.tui.screens.too_small import TooSmallScreen

    app = make_app()
    async with app.run_test(size=(70, 20)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TooSmallScreen)
        text = str(app.screen.query_one("#too-small").render())
        assert "70×20" in text and "80×24" in text
        await pilot.press("f5")  # no screen switch under the message
        assert isinstance(app.screen, TooSmallScreen)
        await pilot.resize_terminal(100, 30)
        await settle(pilot)
        assert isinstance(app.screen, CorpusScreen)
        await pilot.resize_terminal(80, 23)
        await settle(pilot)
        assert isinstance(app.screen, TooSmallScreen)


@run_async
async def test_f2_opens_step_1_even_when_step_2_was_left_open(fake_corpora: Path) -> None:
    from lmtui.tui.screens.corpus import CorpusScreen

    app = make_app()
    async with app.run_test(size=COMMON) as pilot:
        await open_model_screen(pilot)
        await pilot.press("f5")
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, CorpusScreen)


# -- runs table ---------------------------------------------------------------------------------------------


async def runs_table(pilot):  # noqa: ANN001
    from textual.widgets import DataTable

    await settle(pilot)
    table = pilot.app.screen.query_one(DataTable)
    await wait_for(pilot, lambda: table.row_count == 2, "the runs table's rows")
    return table


@pytest.mark.parametrize("size", [SMALL, COMMON])
@run_async
async def test_runs_table_keeps_perplexities_and_fits_the_width(trained_runs: Path, size: tuple[int, int]
                                                               ) -> None:
    app = make_app(mode="runs")
    async with app.run_test(size=size) as pilot:
        table = await runs_table(pilot)
        labels = [str(c.label) for c in table.columns.values()]
        assert {"name", "status", "val ppl", "test ppl"} <= set(labels)
        if size == COMMON:
            assert "time" in labels and "parameters" in labels
        total = sum(c.get_render_width(table) for c in table.columns.values())
        assert total <= table.scrollable_content_region.width, (labels, total)


@run_async
async def test_empty_runs_table_says_how_to_make_one(lmtui_home: Path) -> None:
    app = make_app(mode="runs")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        empty = app.screen.query_one("#empty")
        assert empty.display and "F2" in str(empty.render())
        assert not app.screen.query_one("#runs").display


def test_runs_status_is_what_is_true_now() -> None:
    from types import SimpleNamespace

    from lmtui.tui.screens.runs import status

    row = {"name": "a", "status": "training"}
    assert status(row, SimpleNamespace(running=True, run_name="a", paused=True)) == "paused"
    assert status(row, SimpleNamespace(running=True, run_name="a", paused=False)) == "training"
    assert status({"name": "a", "status": "stopped", "eval_pending": True}, None) == "stopped, eval pending"


@run_async
async def test_e_evaluates_the_highlighted_run_in_a_child(trained_runs: Path, monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    import asyncio

    # the child starts only once the test has seen what the screen says meanwhile (an n-gram child can end
    # before a key press is done being handled, taking the "Evaluating" line with it)
    gate, real_exec = asyncio.Event(), asyncio.create_subprocess_exec

    async def gated_exec(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        await gate.wait()
        return await real_exec(*args, **kwargs)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", gated_exec)
    app = make_app(mode="runs")
    notes: list[tuple[str, str]] = []  # as raised: a toast leaves app._notifications when it times out
    real_notify = app.notify

    def notify(message, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        notes.append((str(message), str(kwargs.get("title", ""))))
        return real_notify(message, *args, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    async with app.run_test(size=COMMON) as pilot:
        await runs_table(pilot)
        await pilot.press("down")  # the n-gram run: no torch in the child, quick
        screen = app.screen
        assert screen.selected() == "ngram-run"
        await pilot.press("e")
        assert "Evaluating ngram-run" in str(screen.query_one("#detail").render())
        gate.set()
        await wait_for(pilot, lambda: screen.evaluating is None, "evaluation")
        assert any("perplexity" in message and "ngram-run" in title for message, title in notes), notes


@run_async
async def test_empty_optional_fields_are_not_marked_bad(fake_corpora: Path) -> None:
    app = make_app()
    async with app.run_test(size=COMMON) as pilot:
        screen = await open_model_screen(pilot)
        for _ in range(14):  # through every field, leaving each as it is
            await pilot.press("tab")
        await pilot.pause()
        assert screen.error is None
        assert not [i.id for i in screen.query("Input") if i.has_class("-invalid")]


@run_async
async def test_runs_screen_names_the_real_runs_folder(lmtui_home: Path) -> None:
    app = make_app(mode="runs")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert str(lmtui_home / "runs") in str(app.screen.query_one("#runs-dir").render())


@run_async
async def test_wide_runs_table_shows_an_ngram_runs_unseen_share(trained_runs: Path) -> None:
    """Sparsity in the Runs table: the share of validation n-grams never seen in training (issue 11.3)."""
    from lmtui.runs import load_run

    unseen = load_run("ngram-run").metrics["sparsity_by_order"][-1]["unseen"]
    app = make_app(mode="runs")
    async with app.run_test(size=(200, 40)) as pilot:
        table = await runs_table(pilot)
        labels = [str(c.label) for c in table.columns.values()]
        assert "unseen" in labels
        column = labels.index("unseen")
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        cells = {str(row[0]): str(row[column]) for row in rows}
        assert cells["ngram-run"] == f"{unseen:.1%}" and cells["lstm-run"] == "–"
