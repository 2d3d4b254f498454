"""How samples look: paint-colour lines get a swatch of their colour, script speaker lines stand out.

Pure rich (no Textual import) so the SVG card in ``lmtui.sharing`` draws samples exactly as the app does.
"""

from __future__ import annotations

import re

from rich.style import Style
from rich.text import Text

from lmtui.visible import visible_text

# "Absolute Zero 0 72 186": a name, then the colour as decimal R G B (the paint-colours corpus). A name may
# end in one number of its own ("Dead 99 153 222 173", "French 75 249 243 213": 12 of the corpus's 31,918
# lines), never in two: a model's run-on line of numbers ("Fal Purbon 137 236 141 136 217 152") is no colour.
COLOUR_LINE = re.compile(r"^(?P<name>.*?\S)\s+(?P<r>\d{1,3})\s+(?P<g>\d{1,3})\s+(?P<b>\d{1,3})\s*$")
NAME_ENDS_IN_TWO_NUMBERS = re.compile(r"(?:^|\s)\d+\s+\d+$")
HAS_A_WORD = re.compile(r"[^\d\s]")  # a name is not numbers alone
# "HAMLET:", "FIRST CITIZEN:": a speaker line of the scripts corpus.
SPEAKER_LINE = re.compile(r"^[A-Z][A-Z0-9 .,'&-]*[A-Z.]:\s*$")
SWATCH = "██ "
PRIME_STYLE = Style(underline=True)
SPEAKER_STYLE = Style(bold=True, color="bright_cyan")


def colour_of(line: str) -> tuple[int, int, int] | None:
    """The colour a ``Name R G B`` line names: a line that ends in exactly three numbers 0-255 after a name
    that is not numbers itself (and ends in one number at most); None for any other line."""
    m = COLOUR_LINE.match(line)
    if not m or not HAS_A_WORD.search(m["name"]) or NAME_ENDS_IN_TWO_NUMBERS.search(m["name"]):
        return None
    rgb = int(m["r"]), int(m["g"]), int(m["b"])
    return rgb if all(c <= 255 for c in rgb) else None


def style_line(line: str) -> Text:
    """One line of a sample, with its swatch or speaker style."""
    rgb = colour_of(line)
    if rgb is not None:
        text = Text()
        text.append(SWATCH, style=Style(color=f"rgb({rgb[0]},{rgb[1]},{rgb[2]})"))
        text.append(line)
        return text
    if SPEAKER_LINE.match(line):
        return Text(line, style=SPEAKER_STYLE)
    return Text(line)


def style_sample(text: str, prime: str = "") -> Text:
    """A whole sample (prime + continuation) styled line by line; the prime is underlined. A model writes what
    its corpus held: control characters are shown escaped (lmtui.visible), newlines and tabs kept."""
    text, prime = visible_text(text), visible_text(prime)
    out = Text()
    start = 0
    lines = (prime + text).split("\n")
    for i, line in enumerate(lines):
        styled = style_line(line)
        offset = len(styled) - len(line)  # a swatch shifts the line's characters right
        lo, hi = max(0, -start), min(len(line), len(prime) - start)
        if hi > lo:
            styled.stylize(PRIME_STYLE, lo + offset, hi + offset)
        out.append_text(styled)
        if i < len(lines) - 1:
            out.append("\n")
        start += len(line) + 1
    return out
