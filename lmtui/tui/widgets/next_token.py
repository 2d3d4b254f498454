"""The next-token panel: the ten most likely next tokens after the text typed so far, as bars."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from lmtui.sampling import Prediction

BLOCKS = " ▏▎▍▌▋▊▉█"


def bar(fraction: float, width: int) -> str:
    """A horizontal bar ``fraction`` of ``width`` cells long, in eighth-cell steps."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (BLOCKS[part] if part else "")


class NextTokenBars(Static):
    """Probability bars for the most likely next tokens (scaled to the most likely one)."""

    DEFAULT_CSS = "NextTokenBars { height: auto; }"

    def show(self, predictions: Sequence[Prediction], unknown: Sequence[str] = ()) -> None:
        table = Table.grid(padding=(0, 1))
        table.add_column(justify="right", no_wrap=True, max_width=14)
        table.add_column(no_wrap=True)
        table.add_column(justify="right", no_wrap=True)
        top = max((p.prob for p in predictions), default=1.0) or 1.0
        width = max(4, self.size.width - 24) if self.size.width else 16
        for p in predictions:
            table.add_row(Text(p.token, style="bold"), Text(bar(p.prob / top, width), style="green"),
                          f"{p.prob:6.1%}")
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:4])
            table.add_row("", Text(f"not in vocabulary, read as <unk>: {shown}", style="yellow"), "")
        self.update(table)
