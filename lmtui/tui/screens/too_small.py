"""Shown over any screen while the terminal is smaller than the app's smallest layout (80x24)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Static

MIN_WIDTH, MIN_HEIGHT = 80, 24


def too_small(width: int, height: int) -> bool:
    return width < MIN_WIDTH or height < MIN_HEIGHT


class TooSmallScreen(ModalScreen[None]):
    """Says how large the terminal must be instead of a broken screen; gone once it is."""

    DEFAULT_CSS = """
    TooSmallScreen { align: center middle; background: $background; }
    TooSmallScreen > Static { width: auto; max-width: 100%; height: auto; padding: 0 1; text-align: center; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="too-small")

    def on_mount(self) -> None:
        self.show(*self.app.size)

    def on_resize(self) -> None:
        self.show(*self.app.size)

    def show(self, width: int, height: int) -> None:
        self.query_one(Static).update(Text.assemble(
            ("The terminal is too small for lmtui.\n", "bold"),
            f"It is {width}×{height}; lmtui needs at least {MIN_WIDTH}×{MIN_HEIGHT} (columns × rows).\n",
            "Enlarge the window or make the font smaller. Ctrl+Q quits."))
