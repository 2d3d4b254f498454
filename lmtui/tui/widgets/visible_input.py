"""An input field that never draws a control character: a path picked in the file tree, or pasted text, can
hold ESC (a file named to retitle the terminal), and Input draws its value as it is."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Input

from lmtui.visible import visible_cells


class VisibleInput(Input):
    """Draws each control or format character of its value as one visible character (``␛`` for ESC, see
    ``lmtui.visible.visible_cells``); the value itself, and the cursor's offsets in it, stay as they are
    (Input's own drawing, through rich's Text, even drops BEL and CR, shifting the cursor after them)."""

    @property
    def _value(self) -> Text:  # Input's own: the value as drawn (Textual 8), one character a cell
        if self.password:
            return super()._value
        text = Text(visible_cells(self.value), no_wrap=True, overflow="ignore", end="")
        return self.highlighter(text) if self.highlighter is not None else text
