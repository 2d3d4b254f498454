"""Screen switches skip Textual's fixed costs (lmtui/tui/modes.py, BENCHMARKS.md section 6), and still show
what changed while a screen was hidden."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.app import App
from tui_helpers import run_async, settle, wait_for

from lmtui.tui.app import LmtuiApp, make_app
from lmtui.tui.screens.corpus import CorpusScreen
from lmtui.tui.screens.playground import PlaygroundScreen
from lmtui.tui.screens.runs import RunsScreen
from lmtui.tui.screens.training import TrainingScreen


@pytest.fixture
def holds(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The frame holds asked of Textual's ``delay_update`` (50 ms at a switch), in order."""
    timed: list[float] = []
    textual_hold = App.delay_update

    def recording(self: App, delay: float = 0.05) -> None:
        timed.append(delay)
        textual_hold(self, delay)

    monkeypatch.setattr(App, "delay_update", recording)
    return timed


@run_async
async def test_a_mode_shown_before_holds_frames_only_until_its_screen_has_resumed(
    fake_corpora: Path, holds: list[float]
) -> None:
    app = make_app()
    app.PREBUILT = ()  # Runs is built at its first show, as when a key comes before the idle moment
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("f5")  # the Runs screen is built now: Textual's 50 ms hold hides it half done
        await settle(pilot)
        assert holds == [0.05] and isinstance(app.screen, RunsScreen)
        app.switch_mode("corpus")  # built before: frames are held until it has taken the switch in …
        assert app._batch_count == 1
        await pilot.pause()
        assert app._batch_count == 0, "… and no longer"  # drawn again, without a timed hold
        assert holds == [0.05] and isinstance(app.screen, CorpusScreen)


@run_async
async def test_a_new_mode_screen_does_not_make_textual_reread_every_stylesheet(
    fake_corpora: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rereads: list[str] = []
    refresh_css = LmtuiApp.refresh_css

    def counting(self: App, animate: bool = True) -> None:
        rereads.append(type(self.screen).__name__)
        refresh_css(self, animate)

    monkeypatch.setattr(LmtuiApp, "refresh_css", counting)
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert rereads, "Textual reads the sheets with the theme's variables for the first screen"
        rereads.clear()
        for key in ("f5", "f3", "f6", "f2", "f5", "f3", "f6", "f2"):  # first and second shows
            await pilot.press(key)
            await settle(pilot)
        assert rereads == []
        assert app.screen.query_one("#corpora").styles.height.value > 0  # styled all the same
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await settle(pilot)
        await pilot.press("f5")  # hidden during the theme change: restyled as it shows
        await settle(pilot)
        assert rereads[-1] == "RunsScreen"


@run_async
async def test_a_screen_shown_again_is_restyled_only_if_the_app_changed_meanwhile(fake_corpora: Path) -> None:
    app = make_app(mode="training")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        dashboard = app.screen
        restyles = []
        restyle = dashboard.update_node_styles
        dashboard.update_node_styles = lambda animate=True: restyles.append(1) or restyle(animate)  # type: ignore[method-assign]
        for _ in range(2):
            await app.switch_mode("corpus")
            await settle(pilot)
            await app.switch_mode("training")
            await settle(pilot)
        assert restyles == [], "nothing changed: no restyle of its 60 widgets"
        await app.switch_mode("corpus")
        await settle(pilot)
        app.add_class("-probe")  # restyles only the screen shown
        await settle(pilot)
        await app.switch_mode("training")
        await settle(pilot)
        assert restyles == [1] and app.screen is dashboard


def screenshot(app: App) -> str:
    return re.sub(r"terminal-\d+", "terminal", app.export_screenshot())


@run_async
async def test_screens_look_the_same_when_shown_again(fake_corpora: Path) -> None:
    """Without Textual's re-reads and restyles, a screen shown again (the first one, one built later) is
    drawn as it was."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        first = screenshot(app)
        await pilot.press("f5")
        await settle(pilot)
        runs = screenshot(app)
        for _ in range(2):
            await pilot.press("f2")
            await settle(pilot)
            assert screenshot(app) == first
            await pilot.press("f5")
            await settle(pilot)
            assert screenshot(app) == runs


@run_async
async def test_a_switch_renders_nothing_it_throws_away(fake_corpora: Path) -> None:
    """Textual laid a screen out and rendered it while the switch held frames, then rendered it again."""
    app = make_app(mode="training")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        dashboard = app.screen
        await app.switch_mode("corpus")
        await settle(pilot)
        renders: list[bool] = []
        render = dashboard._compositor_refresh
        dashboard._compositor_refresh = lambda: renders.append(app._batch_count > 0) or render()  # type: ignore[method-assign]
        await app.switch_mode("training")
        await settle(pilot)
        assert renders and not any(renders), "rendered while frames were held"


@run_async
async def test_without_textuals_private_hooks_switches_are_textuals_own(
    fake_corpora: Path, monkeypatch: pytest.MonkeyPatch, holds: list[float]
) -> None:
    """A Textual release without the private parts modes.py steps around gets its own switches back."""
    from lmtui.tui import modes

    monkeypatch.setattr(modes, "HOOKS", False)
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        first = screenshot(app)
        for key in ("f5", "f2", "f5", "f2"):
            await pilot.press(key)
            await settle(pilot)
        assert holds == [0.05] * 4, "Textual's 50 ms hold at every switch"
        assert isinstance(app.screen, CorpusScreen) and screenshot(app) == first


def prebuilt(app: LmtuiApp) -> bool:
    return all(mode in app._built_modes for mode in app.PREBUILT)


@run_async
async def test_screens_are_built_ahead_of_their_first_show_and_look_as_if_built_then(
    fake_corpora: Path, holds: list[float]
) -> None:
    """After start-up the other modes' screens are built in idle moments: a first show then needs no hold
    (nothing is half built) and draws what a screen built at that show would."""
    shown = {}
    for ahead in (False, True):
        app = make_app()
        if not ahead:
            app.PREBUILT = ()
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot)
            if ahead:
                await wait_for(pilot, lambda app=app: prebuilt(app), "the screens built ahead")
                assert set(app.PREBUILT) <= set(app._screen_stacks)
                holds.clear()
            for key in ("f5", "f6", "f3"):  # Runs, Compare, the dashboard: first shows
                await pilot.press(key)
                await settle(pilot)
                shown[ahead, key] = screenshot(app)
            if ahead:
                assert holds == [], "no hold: the screens were built already"
    for key in ("f5", "f6", "f3"):
        assert shown[True, key] == shown[False, key], key


@run_async
async def test_no_screen_is_built_once_the_app_is_ending(fake_corpora: Path) -> None:
    app = make_app()
    app.PREBUILT = ()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.exit()
        assert not app.prebuild_mode("runs")
        assert "runs" not in app._screen_stacks


@run_async
async def test_a_screen_shown_again_mounts_nothing(
    fake_corpora: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every mode, shown again, is drawn from the widgets it has: Textual's own Footer rebuilt its ten keys at
    each show of Compare (a third of its switch), where the other screens' KeyBar compares first."""
    mounted: list[str] = []
    register = App._register

    def counting(self: App, parent, *widgets, **kwargs):  # type: ignore[no-untyped-def]
        mounted.extend(f"{type(parent).__name__} > {type(w).__name__}" for w in widgets)
        return register(self, parent, *widgets, **kwargs)

    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        modes = ("runs", "training", "playground", "compare", "corpus")
        for mode in modes:  # first shows
            await app.switch_mode(mode)
            await settle(pilot)
        monkeypatch.setattr(App, "_register", counting)
        for mode in modes * 2:
            await app.switch_mode(mode)
            await settle(pilot)
        assert mounted == []


@pytest.mark.parametrize("screen_class", [PlaygroundScreen, TrainingScreen, CorpusScreen])
def test_a_mode_screen_mounted_without_its_children_does_nothing_on_mount(screen_class) -> None:
    """A screen built ahead while the app ends gets its Mount with no children (a closing screen mounts
    nothing): its on_mount must not query them (it failed with NoMatches under load)."""
    screen = screen_class()
    assert not screen.children
    assert screen.on_mount() is None  # without the guard: NoMatches from its first query_one


def test_every_mode_screens_on_mount_waits_for_its_children() -> None:
    from lmtui.tui.modes import ModeScreen
    from lmtui.tui.screens.model import ModelScreen

    assert "on_mount" in ModelScreen.__dict__
    screens = [c for c in ModeScreen.__subclasses__() if "on_mount" in c.__dict__]
    assert len(screens) >= 4
    for screen_class in screens:
        assert hasattr(screen_class.on_mount, "__wrapped__"), screen_class  # the guard of ModeScreen
