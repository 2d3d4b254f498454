"""The next-token panel: the most likely next tokens after the text typed so far, as bars.

The bars show what sampling would draw each token with (after temperature, top-k and top-p), so moving the
temperature visibly sharpens or flattens them; tokens the settings cut show as "cut". Beside them, each
token's log-probability (what the softmax divides by the temperature) and its probability at temperature 1,
so the path logits -> probabilities -> temperature can be followed number by number.
"""

from __future__ import annotations

import math
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


def log_text(z: float | None) -> str:
    """A log-probability in at most five characters ("-1.84", "-12.3", "-∞")."""
    if z is None:
        return ""
    if not math.isfinite(z):
        return "-∞"
    return f"{z:.2f}" if abs(z) < 10 else f"{z:.1f}" if abs(z) < 100 else f"{z:.0f}"


def share_text(p: float) -> str:
    return f"{p:.1%}" if p > 0 else "cut"


class NextTokenBars(Static):
    """For the most likely next tokens: the log-probability (the softmax's input), the probability sampling
    draws with after the temperature (a bar, scaled to the largest, and a share) and, when the temperature is
    not 1, the model's own probability at 1: logits -> softmax -> temperature, side by side. Where the panel
    is narrow the column at 1 goes first (it is e^log p), then the bars."""

    DEFAULT_CSS = "NextTokenBars { height: auto; }"

    def show(self, predictions: Sequence[Prediction], unknown: Sequence[str] = (), label: str = "",
             temperature: float | None = None) -> None:
        room = self.size.width or 40
        token_width = min(TOKEN_WIDTH, max((len(token_name(p.token)) for p in predictions), default=1))
        logs = any(p.log_prob is not None for p in predictions)
        if logs:  # long words are cut rather than leave no room for the bars
            token_width = min(token_width, max(4, room - 17))
        at_one = temperature is not None and temperature != 1 and logs
        fixed = token_width + 7 + (6 if logs else 0) + (7 if at_one else 0)  # columns and their gaps
        if at_one and room - fixed - 1 < 2:  # no room for bars beside both shares: e^log p is at 1 anyway
            at_one, fixed = False, fixed - 7
        width = room - fixed - 1
        table = Table.grid(padding=(0, 1))
        table.add_column(justify="right", no_wrap=True, width=token_width, overflow="ellipsis")
        if logs:
            table.add_column(justify="right", no_wrap=True, width=5)
        if width >= 2:
            table.add_column(no_wrap=True, width=width)
        table.add_column(justify="right", no_wrap=True, width=6)
        if at_one:
            table.add_column(justify="right", no_wrap=True, width=6)
        if logs:  # a header names the columns: the softmax's input, the draw's shares at T (and at 1)
            here = "greedy" if temperature == 0 else f"T {temperature:g}" if temperature is not None else "p"
            head = [Text(""), Text("log p", style="dim")] + ([Text("")] if width >= 2 else [])
            head.append(Text(here, style="dim"))
            if at_one:
                head.append(Text("T 1", style="dim"))
            table.add_row(*head)
        top = max((p.prob for p in predictions), default=1.0) or 1.0
        for p in predictions:
            name = token_name(p.token)
            row: list[Text] = [Text(name, style="italic" if name == RARE else "bold")]
            if logs:
                row.append(Text(log_text(p.log_prob), style="cyan"))
            if width >= 2:
                row.append(Text(bar(p.prob / top, width), style="green"))
            row.append(Text(share_text(p.prob), style="" if p.prob else "dim"))
            if at_one:
                row.append(Text(share_text(p.model_prob or 0.0), style="dim"))
            table.add_row(*row)
        parts: list[Text | Table] = []
        if label:
            parts.append(Text(label, style="dim"))
        parts.append(table)
        if logs and temperature:
            rest = "" if at_one or temperature == 1 else "; at T 1: e^log p"
            parts.append(Text("p = softmax(log p / T)" + rest, style="dim"))
        if unknown:
            parts.append(unknown_note(unknown))
        self.update(Group(*parts))
