"""The key bar at the bottom, rebuilt only when the keys it shows change.

Textual's Footer recomposes all its keys whenever the bindings *might* have changed (every focus change,
every screen switch), restyling a dozen widgets each time; that was a large part of a screen switch's
latency (BENCHMARKS.md section 6). The keys a screen shows rarely change, so this one compares first.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class KeyBar(Footer):
    """A Footer that skips rebuilding when the shown keys (key, label, enabled) are what it shows already."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple | None = None

    def _keys(self) -> tuple:
        return tuple((key, b.action, b.description, enabled, tooltip)
                     for key, (_, b, enabled, tooltip) in self.screen.active_bindings.items() if b.show)

    def bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen and screen.app.app_focus:
            keys = self._keys()
            if keys == self._shown and self._bindings_ready:
                return
            self._shown = keys
        super().bindings_changed(screen)
