"""The app shows strings from files, bundles and models escaped (issue 18, item 10): a run whose corpus name
and vocabulary hold ESC, BEL, C1 and bidi codes, and rich markup, on every screen that shows them.

What is checked is what the terminal would get: the screen as Textual renders it for the driver (as
``App.export_screenshot`` does), never a raw control character in its text, and the escaped form on show.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.markup import escape
from test_escape_injection import EVIL, SHOWN, make_evil_run, safe, write_evil_text
from textual.app import App
from textual.widgets import DataTable, Input
from tui_helpers import run_async, settle, wait_for

from lmtui.events import Failed, Note, Sample, Started
from lmtui.tui.app import make_app
from lmtui.tui.screens.corpus import CorpusScreen
from lmtui.tui.screens.lab import ExplainScreen
from lmtui.tui.screens.playground import PlaygroundScreen
from lmtui.tui.screens.runs import RunsScreen
from lmtui.tui.trainer_process import TrainerEvent

SIZE = (220, 40)  # wide enough for every column of the runs table, the corpus name whole


def whole(renderable: object) -> str:
    """All of a widget's content as text, at a width that fits it."""
    console = Console(width=250, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def rendered(app: App) -> str:
    """The text of the screen as it goes to the terminal (toasts and modal screens included)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text(styles=False)


@run_async
async def test_runs_playground_and_explain_show_the_run_escaped(
    tmp_path: Path, english_text: str, train_cfg: Any
) -> None:
    make_evil_run(write_evil_text(tmp_path / "evil.txt", english_text), train_cfg())
    app = make_app(mode="runs")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_for(pilot, lambda: "evil" in screen.rows, "the run listed")
        await settle(pilot)
        assert SHOWN in safe(rendered(app))  # the corpus cell: escaped, its markup not read as markup
        assert screen.query_one(DataTable).get_row("evil")[1] == escape(SHOWN)  # DataTable reads markup

        await app.open_playground("evil")
        play = app.screen
        assert isinstance(play, PlaygroundScreen)
        await wait_for(pilot, lambda: play.model is not None, "the model loaded")
        await wait_for(pilot, lambda: play.predicted_for is not None, "the next-token panel")
        play.query_one("#seed", Input).value = "1"
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: play.record is not None, "a sample")
        await settle(pilot)
        screen_text = safe(rendered(app))
        assert f"trained on {SHOWN}" in screen_text  # the run line
        assert "\\x1b" in screen_text  # in the sample and as a next token (ESC follows "the " in its text)
        assert "\x1b" in play.record.text  # what is saved and copied stays the sample itself

        await pilot.press("f7")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ExplainScreen) and app.screen.data is not None,
            "the explanation",
        )
        await settle(pilot)
        safe(rendered(app))
        assert "\\x1b" in safe(whole(app.screen.query_one("#explain").content))  # the tokens, scrolled or not

        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is play, "back in the playground")
        app.notify(f"could not read {EVIL}", title=f"{EVIL} failed", severity="error")
        await wait_for(pilot, lambda: "could not read" in rendered(app), "the notification")
        safe(rendered(app))
        toast = str(app.screen.query("Toast").last().render())  # title, then message (wrapped on screen)
        assert f"{SHOWN} failed" in toast and f"could not read {SHOWN}" in toast


@run_async
async def test_the_dashboard_shows_a_run_and_its_errors_escaped() -> None:
    app = make_app(mode="training")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        events = [
            Started("demo", EVIL, "lstm", "char", 65, 30_000, 120_000, 90_000, 5_000, None, 30.0),
            Sample(10, f"HAMLET:\n{EVIL}\n"),
            Note(f"read {EVIL}"),
            Failed(f"cannot read {EVIL}"),
        ]
        for event in events:
            screen.post_message(TrainerEvent(event))
        await wait_for(pilot, lambda: screen.status == "failed", "the failure shown")
        await settle(pilot)
        out = safe(rendered(app))
        assert f"on {SHOWN}" in out and f"✗ Training failed: cannot read {SHOWN}" in out
        assert f"HAMLET:\n{SHOWN}" in str(screen.query_one("#sample Static").render())


@run_async
async def test_a_text_of_your_own_and_its_file_name_show_escaped(
    tmp_path: Path, english_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preview, the title and the file tree (Tree reads a str label as markup: "[red]" styled a name)."""
    name = "\x1b]0;pwned\x07[red]x\x9b\u202e"  # what a file name can hold of EVIL (no "/")
    path = write_evil_text(tmp_path / f"{name}.txt", english_text)
    monkeypatch.chdir(tmp_path)  # the tree lists the working folder
    app = make_app(mode="corpus")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, CorpusScreen)
        screen.query_one("#path", Input).value = str(path)
        screen.action_own_text()  # shows the tree and reads the path typed
        await wait_for(pilot, lambda: screen.loaded is not None, "the text read")
        shown_name = "\\x1b]0;pwned\\x07[red]x"  # the tree is narrow: the rest may be cut
        await wait_for(pilot, lambda: rendered(app).count(shown_name) >= 2, "the title and the tree")
        await settle(pilot)
        assert SHOWN in safe(rendered(app))  # the preview; and the path field draws ␛, not ESC
        assert "␛]0;pwned␇[red]x��.txt" in rendered(app)


@run_async
async def test_notices_read_no_markup_but_textuals_quit_hint_keeps_its_own() -> None:
    app = make_app(mode="training")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.notify("run [red]x[/] and [/] failed")  # a name's markup: shown as it is ("[/]" no MarkupError)
        await wait_for(pilot, lambda: "run [red]x[/] and [/] failed" in rendered(app), "the notice")
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: "to quit the app" in rendered(app), "Textual's hint")
        assert "Press ctrl+q to quit the app" in rendered(app)
