"""The text a model writes, streamed in piece by piece and styled as it grows."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static

from lmtui.tui.widgets.swatches import style_sample


class SampleView(VerticalScroll):
    """A scrolling view of prime + sample; ``append`` adds pieces while generation runs."""

    DEFAULT_CSS = """
    SampleView { height: 1fr; }
    SampleView > Static { width: 1fr; }
    """

    def __init__(self, placeholder: str = "", *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.placeholder = placeholder
        self.prime = ""
        self.text = ""

    def compose(self):  # type: ignore[override]
        yield Static(self.placeholder, classes="placeholder")

    def set_text(self, text: str, prime: str = "") -> None:
        self.prime, self.text = prime, text
        self._render_text()

    def append(self, piece: str) -> None:
        self.text += piece
        self._render_text()

    def clear(self, placeholder: str | None = None) -> None:
        self.prime = self.text = ""
        static = self.query_one(Static)
        static.update(self.placeholder if placeholder is None else placeholder)
        static.add_class("placeholder")

    def _render_text(self) -> None:
        static = self.query_one(Static)
        static.remove_class("placeholder")
        static.update(style_sample(self.text, self.prime))
        self.scroll_end(animate=False, immediate=False)
