"""A screen's size classes (``-narrow``, ``-short`` …) from its first frame.

Textual sets a screen's breakpoint classes on its first Resize, which comes after the screen has been laid
out and drawn once: the model screen drew its wide two-column form at 80 columns, with cut labels
(``embeddin``, ``hidde``), until then — about 3 s while the app was busy at start-up.
"""

from __future__ import annotations

from textual.screen import Screen


def breakpoint_class(size: int, breakpoints: list[tuple[int, str]]) -> str | None:
    """The class of the largest breakpoint ``size`` reaches (Textual's rule)."""
    for least, name in sorted(breakpoints, reverse=True):
        if size >= least:
            return name
    return None


def set_breakpoints(screen: Screen) -> None:
    """Give ``screen`` the classes its breakpoints choose for the app's present size (call it in compose,
    before the first layout); Textual's own Resize handler keeps them right afterwards."""
    app = screen.app
    width, height = app.size
    for breakpoints, size in (
        (screen.HORIZONTAL_BREAKPOINTS or app.HORIZONTAL_BREAKPOINTS or [], width),
        (screen.VERTICAL_BREAKPOINTS or app.VERTICAL_BREAKPOINTS or [], height),
    ):
        chosen = breakpoint_class(size, breakpoints)
        for _, name in breakpoints:
            screen.set_class(name == chosen, name)
