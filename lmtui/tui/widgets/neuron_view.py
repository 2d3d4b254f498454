"""A text coloured by one hidden unit's activation (blue below 0, red above): the neuron view.

An LSTM's gates (in [0, 1]) are coloured from blue (closed, 0) through white (half) to red (open, 1), and
its cell state c, which has no bound, by its share of the unit's largest |c| in the text."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from lmtui.visible import visible_line

VISIBLE = {"\n": "⏎\n", "\t": "⇥"}  # other control characters: escaped (lmtui.visible)


def unit_colour(value: float) -> str:
    """Background colour of an activation in [-1, 1]: white at 0, red towards +1, blue towards -1."""
    v = max(-1.0, min(1.0, value))
    fade = round(255 * (1 - abs(v)))
    return f"rgb(255,{fade},{fade})" if v >= 0 else f"rgb({fade},{fade},255)"


def coloured_text(text: str, activations: list[float]) -> Text:
    """Each character on the colour of its activation (hidden states of rnn/lstm/gru lie in [-1, 1])."""
    out = Text()
    for ch, value in zip(text, activations, strict=False):
        out.append(VISIBLE.get(ch) or visible_line(ch), style=f"black on {unit_colour(value)}")
    return out


class NeuronData:
    """The child's JSON, and which unit is shown."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.text: str = data["text"]
        self.units: int = int(data["units"])
        self.activations: list[list[float]] = data["activations"]
        self.ranking: dict[str, list[dict[str, Any]]] = data.get("ranking", {})
        self.confounded: list[dict[str, Any]] = data.get("confounded", [])  # features that go together
        self.state: str = data.get("state", "h")  # h, or an LSTM's c or one of its gates (lab.neurons)
        self.state_name: str = data.get("state_name", "")
        self.states: list[str] = data.get("states", ["h"])
        bounds = data.get("range", [-1.0, 1.0])
        self.range: tuple[float, float] | None = None if bounds is None else (bounds[0], bounds[1])
        self.unit = 0
        self.feature_index = -1  # which ranked feature "find" showed last

    def step(self, delta: int) -> None:
        self.unit = (self.unit + delta) % self.units

    def find_next(self) -> str | None:
        """Jump to the best unit of the next feature in the ranking; return that feature's name."""
        names = list(self.ranking)
        if not names:
            return None
        self.feature_index = (self.feature_index + 1) % len(names)
        name = names[self.feature_index]
        self.unit = int(self.ranking[name][0]["unit"])
        return name

    def caption(self) -> str:
        names = [name for name, ms in self.ranking.items() for m in ms[:1] if int(m["unit"]) == self.unit]
        tracks = [f"{name} (r = {self.ranking[name][0]['r']:+.2f})" for name in names]
        what = f" · follows {', '.join(tracks)}" if tracks else ""
        mixed = [f"{' and '.join(c['features'])} go together here (r = {c['r']:+.2f})"
                 for c in self.confounded if set(c["features"]) & set(names)]
        state = f" · {self.state_name.split(' (')[0]}" if self.state != "h" else ""
        return f"unit {self.unit} of {self.units}{state}{what}" + "".join(f" · ⚠ {m}" for m in mixed)

    def scaled(self) -> list[float]:
        """The shown unit's values on the colour scale's [-1, 1]: gates' [0, 1] stretched to it, c divided
        by its largest |c| in this text, h and the candidate as they are (tanh)."""
        values = self.activations[self.unit]
        if self.range is None:
            top = max((abs(v) for v in values), default=0.0) or 1.0
            return [v / top for v in values]
        low, high = self.range
        if (low, high) == (-1.0, 1.0):
            return list(values)
        return [2 * (v - low) / (high - low) - 1 for v in values]

    def render(self) -> Text:
        return coloured_text(self.text, self.scaled())
