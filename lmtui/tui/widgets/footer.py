"""The key bar at the bottom: rebuilt only when the keys it shows change, and never cut at the edge.

Textual's Footer recomposes all its keys whenever the bindings *might* have changed (every focus change,
every screen switch), restyling a dozen widgets each time; that was a large part of a screen switch's
latency (BENCHMARKS.md section 6). The keys a screen shows rarely change, so this one compares first.

Textual's Footer also lets keys run past the right edge, under the palette key (``f5 Run▏`` while
training at 120 columns). This one hides what does not fit, lesser keys first: the F-key of the screen you
are on, then the other screens' F-keys (F1 lists them all), then it draws the keys closer together, and last
the screen's own keys from the end of its list.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

NAVIGATION = ("switch_mode", "new_run")  # the app's F-keys to other screens, dropped first
MODE_ACTIONS = {"corpus": "new_run"}  # a mode whose F-key is not switch_mode('mode')
KEPT = ("quit", "toggle_keys")  # shown whatever the width: how to leave, and where every key is listed


class KeyBar(Footer):
    """A Footer that skips rebuilding when the shown keys (key, label, enabled) are what it shows already,
    and hides the keys that would not fit its width."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple | None = None

    def _keys(self) -> tuple:
        return tuple(
            (key, b.action, b.description, enabled, tooltip)
            for key, (_, b, enabled, tooltip) in self.screen.active_bindings.items()
            if b.show
        )

    def bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen and screen.app.app_focus:
            keys = self._keys()
            if keys == self._shown and self._bindings_ready:
                return
            self._shown = keys
        super().bindings_changed(screen)

    async def recompose(self) -> None:
        await super().recompose()
        self.fit()

    def on_resize(self) -> None:
        self.fit()

    def fit(self) -> None:
        """Show the keys that fit the bar's width whole, dropping the lesser ones first."""
        width = self.size.width or self.app.size.width
        keys = [k for k in self.query("FooterKey") if not k.has_class("-command-palette")]
        palette = [k for k in self.query("FooterKey") if k.has_class("-command-palette")]
        nav = self._navigation(keys)
        own = [k for k in reversed(keys) if k not in nav and getattr(k, "action", "") not in KEPT]
        plans = [(compact, nav[:n]) for compact in (False, True) for n in range(len(nav) + 1)]
        plans += [(True, nav + own[:n]) for n in range(1, len(own) + 1)]
        for compact, dropped in plans:
            shown = [k for k in keys if k not in dropped]
            room = width - sum(key_width(k, compact, palette=True) for k in palette)
            if sum(key_width(k, compact) for k in shown) <= room:
                break
        self.compact = compact
        for key in keys:
            key.display = key in shown

    def _navigation(self, keys: list[Widget]) -> list[Widget]:
        """The app's F-keys to screens: the one of the screen shown first, then from the last to the first."""
        nav = [k for k in keys if str(getattr(k, "action", "")).startswith(NAVIGATION)]
        mode = getattr(self.app, "current_mode", "")
        here = MODE_ACTIONS.get(mode, f"switch_mode('{mode}')")
        return sorted(reversed(nav), key=lambda k: getattr(k, "action", "") != here)


def key_width(key: Widget, compact: bool, palette: bool = False) -> int:
    """The cells a footer key takes: ` key desc ` (` key` and ` desc` with one cell between keys, compact);
    the palette key also has its left border and right padding."""
    text = cell_len(str(getattr(key, "key_display", ""))) + cell_len(str(getattr(key, "description", "")))
    if palette:
        return text + (2 if compact else 4) + 1
    return text + (2 if compact else 3)
