"""Mode switches without Textual's fixed costs (BENCHMARKS.md section 6).

Textual's ``App.switch_mode`` (8.x) holds every frame for 50 ms (``delay_update``) so that a screen still
being built is not drawn half done; a new screen makes it re-read every stylesheet and restyle every screen
of the app at its first show and again at its second (it marks a screen styled only once mounted), 20-40 ms
each here; and each show restyles every widget of the screen shown, because changes to the App's own
classes (``-dark-mode``, ``:blur`` …) restyle only the screen shown at the time.

lmtui's mode screens bring no CSS of their own (the App reads every sheet at start) and, once built, are
ready to draw. So a switch to a mode shown before holds frames only until its screen has taken the switch
in; once the stylesheet has been read with the theme's variables (for the very first screen), mode screens
are born, or mount, marked as styled (a theme change still restyles a hidden screen at its next show); and a
``ModeScreen`` shown again is restyled only if the App's classes changed while it was hidden (a widget's own
class changes restyle it at once, shown or not).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from textual import events
from textual.app import App
from textual.css.query import NoMatches
from textual.geometry import Size
from textual.screen import Screen
from textual.widget import AwaitMount

FALLBACK = 0.25  # seconds: frames are held no longer than this even if the screen never takes the switch in

# Every private part of Textual 8.2 this module steps around (tests/tui/test_modes_guard.py finds each name
# used here in these lists). A Textual without any of them gets its own behaviour back (slower switches,
# nothing broken): each hook below checks HOOKS, and those that touch an App's or a Screen's private fields
# check the instance too (``hooked``, ``screen_hooked``). ``delay_update`` is public but undocumented
# (docs/textual-delay-update.md: the upstream suggestion that would make this module unnecessary).
APP_METHODS = ("_begin_batch", "_end_batch", "_get_screen", "_load_screen_css", "delay_update")
APP_FIELDS = ("_batch_count", "_css_update_count", "_exit", "_modes", "_screen_stacks")  # App.__init__'s
SCREEN_METHODS = ("_on_screen_resume", "_on_screen_suspend", "_screen_resized")
SCREEN_FIELDS = ("_css_update_count", "_size")  # Screen.__init__'s and Widget.__init__'s


def textual_hooks() -> bool:
    """Whether this Textual has the methods (and the ScreenResume field) the hooks rely on."""
    return (
        all(hasattr(App, name) for name in APP_METHODS)
        and all(hasattr(Screen, name) for name in SCREEN_METHODS)
        and hasattr(events.ScreenResume, "refresh_styles")
    )


HOOKS = textual_hooks()


def hooked(app: object) -> bool:
    """HOOKS, and ``app`` is a QuickModes that found Textual's private fields on itself."""
    return HOOKS and getattr(app, "_hooks", False)


def screen_hooked(screen: object) -> bool:
    return all(hasattr(screen, name) for name in SCREEN_FIELDS)


def mode_screen(screen_class: type[Screen]) -> Callable[[], Screen]:
    """What Textual calls to build a mode's screen on its first show: the screen, marked as styled once
    the stylesheet has been read with the theme's variables (before that, Textual's re-read is needed)."""

    def build() -> Screen:
        screen = screen_class()
        app = screen.app  # the running app (Textual calls this inside it)
        if hooked(app) and getattr(app, "_css_refreshed", False) and screen_hooked(screen):
            screen._css_update_count = app._css_update_count  # Textual's own mark (private)
        return screen

    return build


def app_look(app: App[object]) -> tuple[frozenset[str], frozenset[str]]:
    """What of the App itself styles its screens: its classes and pseudo-classes."""
    return app.classes, app.pseudo_classes


class ModeScreen(Screen[None]):
    """A screen of a mode's stack: shown again, restyled only if the App's classes changed meanwhile.

    Its ``on_mount`` runs only once its children are mounted: a screen built ahead (``prebuild_mode``) while
    the app is ending gets Textual's Mount without them (a closing screen mounts nothing), and its on_mount's
    queries would fail (NoMatches) and end the app with a traceback."""

    _hidden_look: tuple[frozenset[str], frozenset[str]] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        mount = cls.__dict__.get("on_mount")
        if mount is None:
            return

        @functools.wraps(mount)
        def on_mount(self: ModeScreen, *args: Any) -> Any:
            if not self.children:  # every mode screen composes something: none means the app is ending
                return None
            try:
                return mount(self, *args)
            except NoMatches:
                # a screen built ahead, not shown, whose children the ending app removed before its Mount
                # ran (a fully composed screen always has them): nothing to set up any more
                if self.is_current:
                    raise
                return None

        cls.on_mount = on_mount  # type: ignore[attr-defined]  # the subclass's on_mount, wrapped

    def _on_mount(self, event: events.Mount) -> None:
        """Styled as it mounted, by a stylesheet that has the theme's variables (the very first screen mounts
        after Textual's re-read for it): no re-read is due at its next show."""
        app = self.app
        if hooked(app) and getattr(app, "_css_refreshed", False) and screen_hooked(self):
            self._css_update_count = app._css_update_count

    def _screen_resized(self, size: Size) -> None:
        """Textual lays a screen out again at every switch to it, and renders it while the switch holds
        frames (a render thrown away: each switch drew the screen twice). Laid out at this size already, it
        needs no layout; widgets changed meanwhile are laid out with the next frame, and a resize while
        hidden still gets one (Textual's resume handler checks the size too)."""
        if hooked(self.app) and getattr(self, "_size", None) == size and self.is_attached:
            return
        super()._screen_resized(size)

    def _on_screen_suspend(self) -> None:  # Textual's own handler runs after this one
        self._hidden_look = app_look(self.app)

    def _on_screen_resume(self, event: events.ScreenResume) -> None:  # before Textual's, which restyles
        if hooked(self.app) and event.refresh_styles and self._hidden_look == app_look(self.app):
            event.refresh_styles = False
        self._hidden_look = None


class QuickModes(App[None]):
    """An App whose switches to a mode shown before draw as soon as its screen has resumed."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._built_modes: set[str] = set()
        self._quick_switch = False  # switch_mode is switching to a built mode: delay_update holds differently
        self._held = False
        self._css_refreshed = False  # the stylesheet has been read with the theme's variables
        self._hooks = all(hasattr(self, name) for name in APP_FIELDS)  # see ``hooked``

    def refresh_css(self, animate: bool = True) -> None:
        super().refresh_css(animate)
        self._css_refreshed = True

    def delay_update(self, delay: float = 0.05) -> None:
        if not (hooked(self) and self._quick_switch):
            super().delay_update(delay)
            return
        self._begin_batch()  # released by the new screen once it has processed its ScreenResume
        self._held = True

    def prebuild_mode(self, mode: str) -> bool:
        """Build a hidden mode's screen now (compose and mount it, off screen), so that its first show costs
        a layout and a frame instead of the whole screen's construction as well. Called in idle moments."""
        if not hooked(self) or self._exit or not self.is_running:  # shutting down: the stacks are closing
            return False
        if mode == self.current_mode or mode in self._screen_stacks or mode not in self._modes:
            return False
        builder = self._modes[mode]
        screen, mounted = self._get_screen(builder() if callable(builder) else builder)
        self._screen_stacks[mode] = [screen]
        self._load_screen_css(screen)

        async def built() -> None:  # until then a switch to it keeps Textual's hold (a screen half built)
            await mounted
            self._built_modes.add(mode)

        self.call_next(built)
        return True

    def switch_mode(self, mode: str) -> AwaitMount:
        self._built_modes.add(self.current_mode)  # the first mode is built without a switch
        self._quick_switch = mode in self._built_modes
        try:
            done = super().switch_mode(mode)
        finally:
            self._quick_switch = False
        self._built_modes.add(mode)
        if self._held:
            self._held = False
            self._release_after_resume(self.screen)
        return done

    def _release_after_resume(self, screen: Screen) -> None:
        """End the hold after ``screen``'s queued ScreenResume (its restyle and full refresh), at the latest
        after FALLBACK seconds (a screen busy elsewhere)."""
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self._end_batch()
            if not getattr(self, "_batch_count", 0):
                self.screen.refresh()

        self.set_timer(FALLBACK, release, name="switch fallback")
        if not screen.call_later(release):
            release()
