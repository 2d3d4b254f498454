"""A newcomer's session (issue 20, the app): what a first-time user tripped over, each as a behaviour that a
change could undo. Every test waits on conditions, at the two sizes the app is designed for."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static
from tui_helpers import charts_drawn, fix_metrics, fully_visible, run_async, settle, wait_for

from lmtui.events import Eval, Finished, NgramCounts, Started
from lmtui.models import SMOOTHINGS
from lmtui.tui.app import make_app
from lmtui.tui.screens import corpus as corpus_screen
from lmtui.tui.screens.corpus import CorpusScreen
from lmtui.tui.screens.model import FIELDS, ModelScreen
from lmtui.tui.trainer_process import TrainerEvent
from lmtui.tui.widgets.swatches import SWATCH, colour_of, style_sample

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 36), id="120x36")]
README = Path(__file__).parents[2] / "README.md"


def lines(pilot: Pilot) -> list[str]:
    """The screen as drawn, one string a row."""
    return [strip.text for strip in pilot.app.screen._compositor.render_strips()]


def footer_keys_whole(pilot: Pilot) -> list[str]:
    """The footer's keys as shown; fails if one is cut at the edge or runs under the palette key."""
    app = pilot.app
    bar = app.screen.query_one("KeyBar")
    shown = [k for k in bar.query("FooterKey") if k.display and not k.has_class("-command-palette")]
    palette = [k for k in bar.query("FooterKey") if k.has_class("-command-palette")]
    edge = min([p.region.x for p in palette] + [app.size.width])
    for key in shown:
        assert key.region.width > 0 and key.region.right <= edge, (key.key, key.region, edge)
    last = lines(pilot)[-1]
    for key in shown:
        assert f"{key.key_display} {key.description}" in last, (key.description, last)
    return [k.description for k in shown]


# -- 1. an encoding belongs to its file ---------------------------------------------------------------------


@run_async
async def test_an_encoding_belongs_to_the_file_it_was_chosen_for(fake_corpora: Path, tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Un café au lait, déjà vu.\n".encode("latin-1") * 20)
    folder = tmp_path / "utf8-folder"
    folder.mkdir()
    for n in range(2):
        (folder / f"part{n}.txt").write_text(f"Part {n}: a café in Zürich.\n" * 10, encoding="utf-8")
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        screen = app.screen
        assert isinstance(screen, CorpusScreen)
        path, encoding = screen.query_one("#path", Input), screen.query_one("#encoding", Input)
        path.value = str(latin1)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.click("#latin1")
        await settle(pilot)
        assert screen.loaded is not None and screen.loaded.encoding == "latin-1"
        # the next path typed is a folder of UTF-8 files: read as UTF-8, not as Latin-1
        path.focus()
        path.value = str(folder)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.loaded is not None and screen.loaded.encoding is None and encoding.value == ""
        preview = str(screen.query_one("#preview").render())
        assert "café" in preview and "Zürich" in preview and "Ã" not in preview
        assert not screen.query_one("#encoding-row").display  # nothing to choose for a UTF-8 text
        # back to the Latin-1 file: its encoding comes back with it
        path.value = str(latin1)
        await pilot.press("enter")
        await settle(pilot)
        assert encoding.value == "latin-1"
        assert screen.loaded is not None and screen.loaded.encoding == "latin-1"
        assert "café" in str(screen.query_one("#preview").render())


@pytest.mark.parametrize("size", SIZES)
@run_async
async def test_the_encoding_controls_and_the_tree_all_show(
    fake_corpora: Path, tmp_path: Path, size: tuple[int, int]
) -> None:
    """A file that is not UTF-8 adds the encoding field and the Latin-1 button; at 80x24 the file tree below
    them kept no row."""
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Un café au lait.\n".encode("latin-1") * 20)
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        screen = app.screen
        screen.query_one("#path", Input).value = str(latin1)
        await pilot.press("enter")
        await settle(pilot)
        for selector in ("#path", "#encoding", "#latin1"):
            assert fully_visible(app, screen.query_one(selector)), selector
        tree = screen.query_one("#tree")
        assert tree.region.height >= 4, tree.region  # its borders and two rows at least


# -- 3. the title follows the cursor at once; Enter takes the cursor's text --------------------------------


@run_async
async def test_the_panel_names_the_cursors_text_at_once_and_enter_takes_it(
    fake_corpora: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow read (6 MB under load) must not leave the panel naming another text than the cursor's, and
    Enter meanwhile opens the model for the cursor's text once it is read, never for the one shown before."""
    gate = threading.Event()
    real_load = corpus_screen.load_corpus

    def slow_load(spec: str, encoding: str | None = None):  # noqa: ANN202
        if spec == "scripts":
            gate.wait(60)
        return real_load(spec, encoding)

    monkeypatch.setattr(corpus_screen, "load_corpus", slow_load)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        try:
            await slow_reads(pilot, gate)
        finally:
            gate.set()


async def slow_reads(pilot: Pilot, gate: threading.Event) -> None:
    """The steps of the test above (which opens the gate whatever happens)."""
    app = pilot.app
    # the first text ("scripts") is being read: the gate holds it
    await wait_for(pilot, lambda: isinstance(app.screen, CorpusScreen) and app.screen.spec == "scripts")
    screen = app.screen
    await pilot.press("down")  # paint colours
    await wait_for(pilot, lambda: screen.loaded is not None, "paint colours read")
    assert str(screen.query_one("#title").render()) == "Paint colours (test)"
    await pilot.press("up")  # back to the plays, still being read
    # at once: the title is the cursor's, and the preview says whose it is (no preview of paint colours)
    assert str(screen.query_one("#title").render()) == "Plays (test)"
    assert str(screen.query_one("#preview-box").border_title) == "Preview · reading Plays (test)…"
    assert str(screen.query_one("#preview").render()) == ""
    await pilot.press("enter")  # while it is read: the model screen follows once it is
    assert isinstance(app.screen, CorpusScreen)
    gate.set()
    await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen), "the model screen")
    await settle(pilot)
    assert app.screen.loaded.spec == "scripts"


@run_async
async def test_enter_goes_on_with_the_text_under_the_cursor(fake_corpora: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("down")
        await wait_for(pilot, lambda: screen.loaded is not None and screen.loaded.spec == "paint-colours")
        assert str(screen.query_one("#preview-box").border_title) == "Preview · Paint colours (test)"
        screen.choose("scripts")  # as if the panel still showed another text than the cursor's
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen), "the model screen")
        await settle(pilot)
        assert app.screen.loaded.spec == "paint-colours"


# -- 4. layouts: every label whole, at 80x24 and 120x36 -----------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@run_async
async def test_corpus_screen_shows_its_preview_and_a_whole_hint(
    fake_corpora: Path, size: tuple[int, int]
) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        shown = lines(pilot)
        box = app.screen.query_one("#preview-box")
        assert box.region.height - 2 >= 8, box.region  # "read … the first lines": eight of them at least
        preview_rows = [row for row in shown[box.region.y + 1 : box.region.bottom - 1] if row.strip("│ ")]
        assert len(preview_rows) >= 8
        assert any("Enter or Ctrl+N" in row and "Next: choose a model ▸" in row for row in shown)
        for option in ("Plays (test)", "Paint colours (test)", "Your own text…", "a .txt file or a folder"):
            assert any(option in row for row in shown), option
        footer_keys_whole(pilot)


@pytest.mark.parametrize("size", SIZES)
@run_async
async def test_model_screen_is_laid_out_for_its_size_from_the_first_frame(
    fake_corpora: Path, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Textual sets size classes at the first Resize, after a first layout: the model form was drawn wide,
    with cut labels, at 80 columns until then."""
    classes_at_mount: list[set[str]] = []
    mount = ModelScreen.on_mount

    def recording(self: ModelScreen) -> None:
        classes_at_mount.append(set(self.classes))
        mount(self)

    monkeypatch.setattr(ModelScreen, "on_mount", recording)
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(classes_at_mount), "the model screen")
        assert classes_at_mount[0] >= {"-narrow" if size[0] < 110 else "-wide"}
        await settle(pilot)
        shown = "\n".join(lines(pilot))
        screen = app.screen
        for f in FIELDS:
            if f.group != "advanced" and screen.query_one(f"#row-{f.name}").display:
                assert re.search(rf"(^|[│ ]){re.escape(f.label)} ", shown, re.M), f.label
        footer_keys_whole(pilot)


@pytest.mark.parametrize("size", SIZES)
@run_async
async def test_runs_table_keeps_names_and_perplexities_whole(
    trained_runs: Path, size: tuple[int, int]
) -> None:
    fix_metrics(trained_runs)
    app = make_app(mode="runs")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 2, "the runs")
        await settle(pilot)
        labels = [str(c.label) for c in table.columns.values()]
        assert {"name", "val ppl", "test ppl"} <= set(labels)
        assert sum(c.get_render_width(table) for c in table.columns.values()) <= table.region.width
        shown = "\n".join(lines(pilot))
        for name in ("lstm-run", "ngram-run"):
            assert re.search(rf"\b{name}\b", shown), name
        for label in labels:
            assert label in shown, label
        footer_keys_whole(pilot)


@pytest.mark.parametrize("last_step", [1041, 1580, 300])
@run_async
async def test_step_labels_are_whole_at_80x24(last_step: int) -> None:
    """The loss chart's step axis at 80x24: "1000", two columns from the chart's end, was drawn "100"."""
    from test_tui_screens import started

    from lmtui.events import Step
    from lmtui.tui.widgets.charts import LineChart

    app = make_app(mode="training")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.post_message(TrainerEvent(started()))
        for n in range(1, last_step + 1, 7):
            screen.post_message(TrainerEvent(Step(n, 3.0 - n / 1000, 0.5, 0.004, 5e4, n / 10, 9.0, n / 2000)))
        screen.post_message(TrainerEvent(Step(last_step, 2.0, 0.5, 0.004, 5e4, 9.0, 1.0, 0.5)))
        await charts_drawn(pilot)
        chart = screen.query_one("#loss-chart", LineChart)
        region = chart.content_region
        rows = [row[region.x : region.right] for row in lines(pilot)[region.y : region.bottom]]
        bottom = max(i for i, row in enumerate(rows) if "┳" in row)  # the axis, ticked below
        axis = rows[bottom + 1]  # the step labels under it
        formatter = chart._steps
        x_max = chart._x_max  # textual-plot's: the axis's end
        ticks = formatter.get_ticks(0, x_max)
        assert axis.split() == formatter.get_labels_for_ticks(ticks), axis


def columns_fit(table: DataTable) -> bool:
    return sum(c.get_render_width(table) for c in table.columns.values()) <= table.region.width


@run_async
async def test_runs_table_refits_when_the_terminal_narrows(trained_runs: Path) -> None:
    fix_metrics(trained_runs)
    app = make_app(mode="runs")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 2, "the runs")
        wide = {str(c.label) for c in table.columns.values()}
        await pilot.resize_terminal(60, 24)
        await wait_for(pilot, lambda: columns_fit(table), "the columns chosen for 60 columns")
        narrow = {str(c.label) for c in table.columns.values()}
        assert {"name", "val ppl", "test ppl"} <= narrow < wide


def test_runs_columns_drop_the_lesser_ones_first() -> None:
    from lmtui.tui.screens.runs import COLUMNS, fitting

    widths = dict.fromkeys(COLUMNS, 8) | {"name": 24, "val ppl": 19, "status": 18, "model": 12}
    shown = fitting(widths, 76)  # 80 columns: a word run's "141.08 (4.6% <unk>)" and "done, eval pending"
    assert shown[:1] == ["name"] and {"val ppl", "test ppl"} <= set(shown)
    assert sum(widths[c] + 2 for c in shown) <= 76


# -- 5. footers, F1 and the palette -------------------------------------------------------------------------


async def feed_lstm(pilot: Pilot) -> None:
    from test_tui_snapshots import training_events

    for event in training_events():
        pilot.app.screen.post_message(TrainerEvent(event))
    await charts_drawn(pilot)


async def feed_ngram(pilot: Pilot) -> None:
    for event in (
        Started(
            "colours-ngram-char",
            "paint-colours",
            "ngram",
            "char",
            124,
            48_000,
            576_000,
            690_000,
            38_000,
            None,
            None,
        ),
        NgramCounts(4, [124, 2_900, 21_000, 62_000], 0.41),
        Eval(1, 1.9, 6.69, 2.74, True, 0.5),
    ):
        pilot.app.screen.post_message(TrainerEvent(event))
    await charts_drawn(pilot)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("mode", ["corpus", "training", "playground", "runs", "compare"])
@run_async
async def test_no_footer_key_is_cut(
    mode: str, size: tuple[int, int], trained_runs: Path, fake_corpora: Path
) -> None:
    """At 120 columns the dashboard's footer ended in ``f5 Run▏`` and the playground's in ``f4 Pla▏``."""
    app = make_app(mode=mode) if mode != "playground" else make_app(run="lstm-run")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        if mode == "training":  # a model training (a stand-in child): Pause/resume and Stop are shown too
            from test_tui_screens import fake_argv

            await app.start_training(fake_argv())
            await wait_for(pilot, lambda: app.screen.last_step is not None, "a step")
            await settle(pilot)
        if mode == "playground":
            await wait_for(pilot, lambda: app.screen.model is not None, "the model")
            await settle(pilot)
        shown = footer_keys_whole(pilot)
        assert "Quit" in shown and "Keys" in shown  # how to leave, and where every key is listed
        if mode == "training":
            assert {"Pause/resume", "Stop"} <= set(shown)
            app.trainer.stop()
            await wait_for(pilot, lambda: not app.trainer.running, "the stand-in's end")


@run_async
async def test_f1_lists_the_screens_own_keys_first(trained_runs: Path) -> None:
    app = make_app(mode="runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count == 2, "the runs")
        await pilot.press("f1")
        await settle(pilot)
        panel = [row.split("▏")[-1].strip() for row in lines(pilot)]
        assert panel[0] == "This screen"
        for key in ("o Playground", "r Resume", "e Evaluate", "d Delete"):
            assert key in panel[:8], (key, panel)
        generic = next(i for i, row in enumerate(panel) if "Cursor up" in row or "Page" in row)
        anywhere = panel.index("Anywhere")
        assert 0 < anywhere < generic  # Textual's generic keys last
        table = app.screen.query_one(DataTable)  # the panel takes a third of the width: the table refits
        await wait_for(pilot, lambda: columns_fit(table), "the runs table refitted beside the panel")
        assert {"name", "val ppl", "test ppl"} <= {str(c.label) for c in table.columns.values()}
        await pilot.press("f1")
        await settle(pilot)
        assert not app.screen.query("KeysPanel")
        keys = [c for c in app.get_system_commands(app.screen) if c.title == "Keys"]  # the palette's way
        assert len(keys) == 1
        keys[0].callback()
        await settle(pilot)
        assert app.screen.query("KeysPanel") and not app.screen.query("HelpPanel")


@pytest.mark.parametrize("kind", ["ngram", "lstm"])
@run_async
async def test_the_palette_and_the_footer_offer_only_what_applies(kind: str) -> None:
    app = make_app(mode="training")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await (feed_ngram if kind == "ngram" else feed_lstm)(pilot)
        screen = app.screen
        offered = {c.title for c in app.get_system_commands(screen)}
        assert "Pause/resume" not in offered and "Stop" not in offered  # nothing trains
        assert "Playground" in offered and "Go to: Runs" in offered
        if kind == "lstm":
            assert "Gradient reach" in offered and "Gradient reach" in footer_keys_whole(pilot)
            return
        assert "Gradient reach" not in offered  # an n-gram model has no gradients
        assert "Gradient reach" not in footer_keys_whole(pilot)
        await pilot.press("v")  # and the key does nothing
        assert not screen.query_one("#reach-chart").display


# -- 6. words that match ------------------------------------------------------------------------------------


@run_async
async def test_a_stopped_run_says_stopped_and_how_long_the_save_took() -> None:
    app = make_app(mode="training")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        screen = app.screen
        from test_tui_screens import started

        screen.post_message(TrainerEvent(started()))
        await wait_for(pilot, lambda: screen.started is not None, "started")
        screen.stopping_since = time.monotonic()  # as S sets it
        screen.post_message(
            TrainerEvent(
                Finished("demo", 348, "stopped", 1.9, 6.7, None, None, 35.0, 1, 1, 1, eval_pending=True)
            )
        )
        await wait_for(pilot, lambda: screen.status == "finished", "the stop")
        message = str(screen.query_one("#message", Static).render())
        assert message.startswith("■ demo stopped after 348 steps")
        assert re.search(r"checkpoint saved in \d+\.\d s", message)
        assert "✓" not in message and "finished" not in message


class FakeExplain:
    """``lmtui explain --json`` for a char model: long enough to scroll."""

    def __init__(self, level: str) -> None:
        tokens = [{"token": c, "context": list("abc"), "prob": 0.5, "bits": 1.0} for c in "to be or not" * 8]
        self.data = {"model": "lstm", "level": level, "tokens": tokens, "log2_prob": -96.0, "perplexity": 2.0}

    async def __call__(self, argv: list[str]) -> dict:
        return self.data


@pytest.mark.parametrize("level", ["char", "word"])
@run_async
async def test_f7_is_titled_by_the_models_tokens_and_end_shows_the_chain_rule(
    level: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textual.app import App
    from textual.containers import Vertical

    from lmtui.tui.screens import lab
    from lmtui.tui.screens.lab import ExplainScreen

    monkeypatch.setattr(lab, "run_json", FakeExplain(level))

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(ExplainScreen("demo", "to be or not", "word"))

    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.data is not None, "the explanation")
        await settle(pilot)
        title = "Why this character?" if level == "char" else "Why this word?"
        assert str(screen.query_one(Vertical).border_title) == title
        assert not any("chain rule:" in row for row in lines(pilot))
        screen.set_focus(None)  # End works whatever has the focus (nothing, say, while it was loading)
        await pilot.press("end")
        await settle(pilot)
        assert any("chain rule:" in row for row in lines(pilot))
        await pilot.press("home")
        await settle(pilot)
        assert not any("chain rule:" in row for row in lines(pilot))


def test_readme_options_table_names_every_smoothing() -> None:
    readme = README.read_text(encoding="utf-8").splitlines()
    row = next(line for line in readme if line.startswith("| n-gram |"))
    named = re.search(r"--smoothing ([^`]+)`", row)
    assert named is not None and set(named[1].split("\\|")) == set(SMOOTHINGS)


# -- 7. swatches only on Name R G B lines -------------------------------------------------------------------


RUN_ON = "Fal Purbon 137 236 141 136 217 152"  # a model's line that ran on in numbers (issue 20)


@pytest.mark.parametrize(
    "line",
    [
        RUN_ON,
        f"{RUN_ON} 55 22183",
        f"{RUN_ON} 5 22",
        "12 13 14",
        "4 12 13 14",
        "Red 256 0 0",
        "Teal 0 128",
        "Blue 0 0 255 x",
    ],
)
def test_no_swatch_where_a_line_is_not_name_r_g_b(line: str) -> None:
    assert colour_of(line) is None
    assert not style_sample(line).plain.startswith(SWATCH)


@pytest.mark.parametrize(
    ("line", "rgb"),
    [
        ("Absolute Zero 0 72 186", (0, 72, 186)),
        ("Dead 99 153 222 173", (153, 222, 173)),
        ("№5 248 214 139", (248, 214, 139)),
        ("1975 Earth Red 123 70 59", (123, 70, 59)),
    ],
)
def test_a_swatch_on_every_name_r_g_b_line(line: str, rgb: tuple[int, int, int]) -> None:
    assert colour_of(line) == rgb
    assert style_sample(line).plain == SWATCH + line


def test_every_line_of_the_paint_colours_corpus_gets_its_swatch() -> None:
    from lmtui.corpus import corpora_dir

    text = (corpora_dir() / "paint-colours.txt").read_text(encoding="utf-8")
    assert all(colour_of(line) is not None for line in text.splitlines() if line.strip())
