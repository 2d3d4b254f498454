"""The next-token panel: the most likely next tokens after the text typed so far, as bars.

The bars show what sampling would draw each token with (after temperature, top-k and top-p), so moving the
temperature visibly sharpens or flattens them; tokens the settings cut show as "cut".
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from lmtui.sampling import Prediction
from lmtui.tokens import UNK
from lmtui.visible import visible_line

BLOCKS = " ▏▎▍▌▋▊▉█"
RARE = "(rare word)"  # how <unk> reads: the words too rare to get their own token
TOKEN_WIDTH = 12


def bar(fraction: float, width: int) -> str:
    """A horizontal bar ``fraction`` of ``width`` cells long, in eighth-cell steps."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (BLOCKS[part] if part else "")


def token_name(token: str) -> str:
    """How a token reads in the panel: a control character (a char model's form feed, ESC) escaped."""
    return RARE if token == UNK else visible_line(token)


def unknown_note(unknown: Sequence[str], shown: int = 8) -> Text:
    """Words of the prime the model has no token for, named in full."""
    names = ", ".join(repr(u) for u in unknown[:shown])
    more = f" and {len(unknown) - shown} more" if len(unknown) > shown else ""
    return Text(f"Not in the model's vocabulary, read as {RARE}: {names}{more}", style="yellow")


class NextTokenBars(Static):
    """Probability bars for the most likely next tokens, scaled to the largest one."""

    DEFAULT_CSS = "NextTokenBars { height: auto; }"

    def show(self, predictions: Sequence[Prediction], unknown: Sequence[str] = (), label: str = "") -> None:
        token_width = min(TOKEN_WIDTH, max((len(token_name(p.token)) for p in predictions), default=1))
        width = max(4, (self.size.width or 40) - token_width - 9)  # the rest of the row: " bar  12.3%"
        top = max((p.prob for p in predictions), default=1.0) or 1.0
        table = Table.grid(padding=(0, 1))
        table.add_column(justify="right", no_wrap=True, width=token_width, overflow="ellipsis")
        table.add_column(no_wrap=True, width=width)
        table.add_column(justify="right", no_wrap=True, width=6)
        for p in predictions:
            name = token_name(p.token)
            share = f"{p.prob:.1%}" if p.prob > 0 else "cut"
            table.add_row(Text(name, style="italic" if name == RARE else "bold"),
                          Text(bar(p.prob / top, width), style="green"),
                          Text(share, style="" if p.prob else "dim"))
        parts: list[Text | Table] = []
        if label:
            parts.append(Text(label, style="dim"))
        parts.append(table)
        if unknown:
            parts.append(unknown_note(unknown))
        self.update(Group(*parts))
