"""What keeps screen switches quick (BENCHMARKS.md section 6): each is a behaviour a refactor could undo."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from textual.widgets import DataTable
from tui_helpers import run_async, settle

from lmtui.tui import app as app_module
from lmtui.tui.app import LmtuiApp, make_app
from lmtui.tui.widgets.footer import KeyBar


@run_async
async def test_key_bar_rebuilds_only_when_its_keys_change(fake_corpora: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        bar = app.screen.query_one(KeyBar)
        keys = list(bar.query("FooterKey"))
        assert "Your own text" in {key.description for key in keys}
        bar.call_later(bar.bindings_changed, app.screen)  # nothing changed: the same key widgets stay
        await settle(pilot)
        await pilot.press("ctrl+o")  # focus moves to the path field: the same keys shown
        await settle(pilot)
        assert list(bar.query("FooterKey")) == keys
        bar._shown = ()  # as if it showed other keys: the next change rebuilds it
        bar.call_later(bar.bindings_changed, app.screen)  # as the signal calls it, in the bar's own context
        await settle(pilot)
        rebuilt = list(bar.query("FooterKey"))
        assert rebuilt and not set(rebuilt) & set(keys)
        assert "Your own text" in {key.description for key in rebuilt}


def test_every_screen_stylesheet_is_read_at_start() -> None:
    """A screen with its own CSS_PATH makes Textual re-parse all CSS and restyle on its first show."""
    folder = Path(app_module.__file__).parent
    sheets = {str(Path(p)) for p in LmtuiApp.CSS_PATH}
    for tcss in (folder / "screens").glob("*.tcss"):
        assert f"screens/{tcss.name}" in sheets, tcss.name
    for screen in LmtuiApp.MODE_SCREENS.values():
        assert screen.CSS_PATH is None, screen.__name__


@run_async
async def test_runs_table_is_not_rebuilt_when_nothing_changed(trained_runs: Path) -> None:
    app = make_app(mode="runs")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        screen = app.screen
        fills = []
        original = screen._fill

        def counting_fill(*args: object) -> None:
            fills.append(1)
            original(*args)

        screen._fill = counting_fill  # type: ignore[method-assign]
        await pilot.press("f2")
        await pilot.press("f5")
        await settle(pilot)
        assert fills == [] and screen.query_one(DataTable).row_count == 2
        (trained_runs / "ngram-run").rename(trained_runs / "renamed-run")  # a change on disk: rebuilt
        await pilot.press("f2")
        await pilot.press("f5")
        await settle(pilot)
        assert fills == [1]


def test_the_real_app_keeps_the_collector_out_of_the_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """`lmtui` freezes what start-up built and collects young objects less often; tests' apps do not."""
    calls: list[str] = []
    monkeypatch.setattr(gc, "collect", lambda *a: calls.append("collect") or 0)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "set_threshold", lambda *a: calls.append(f"threshold {a[0]}"))
    made = []

    def fake_run(self: LmtuiApp) -> None:
        made.append(self)

    monkeypatch.setattr(LmtuiApp, "run", fake_run)
    app_module.run_app()
    assert made and made[0].tune_gc and not make_app().tune_gc
    made[0]._settle_memory(collect=True)
    assert calls == ["collect", "threshold 10000", "freeze"]
