"""The playground's lab views, as modal screens over it: "why this word?" and "what a neuron tracks".

Each asks a child process (``lmtui explain … --json``, ``lmtui neurons … --json``) so torch work stays out of
the UI; the screen shows "working…" until the answer comes. The key that opened a view (or Esc) closes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from lmtui.errors import LmtuiError
from lmtui.tui.lab_child import run_json
from lmtui.tui.widgets.explain_table import explain_renderable
from lmtui.tui.widgets.footer import KeyBar
from lmtui.tui.widgets.neuron_view import NeuronData
from lmtui.visible import visible_line

LAB_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 96%; height: 92%; padding: 0 1; border: thick $accent 70%; background: $surface;
}}
{name} .lab-head {{ height: auto; padding: 0 0 1 0; }}
{name} VerticalScroll {{ height: 1fr; }}
{name} .lab-foot {{ height: auto; color: $text-muted; }}
"""


class ExplainScreen(ModalScreen[None]):
    """Per token of the text: the context used, the counts and backoff (n-grams), P and surprise."""

    DEFAULT_CSS = LAB_CSS.format(name="ExplainScreen")
    BINDINGS = [
        Binding("escape,f7", "close", "Close", tooltip="Back to the playground"),
        # the table can be long: End goes to its last line, the chain rule (whatever has the focus)
        Binding("end", "scroll('end')", "Chain rule", tooltip="Scroll to the end: the chain-rule line"),
        Binding("home", "scroll('home')", "Top", show=False, tooltip="Scroll to the first token"),
    ]

    def __init__(self, run: str, text: str, level: str = "word") -> None:
        super().__init__()
        self.run, self.text, self.level = run, text, level
        self.data: dict[str, Any] | None = None

    @property
    def title_text(self) -> str:
        """The view's title: "Why this character?" for a char-level model, "Why this word?" otherwise."""
        return f"Why this {'character' if self.level == 'char' else 'word'}?"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(visible_line(f"Why each token? {self.run} reads: {self.text[:80]!r}")),
                         classes="lab-head")
            with VerticalScroll():
                yield Static("working… (a child process scores the text)", id="explain")
            yield Static("End: the chain-rule line · Esc or F7 closes.", classes="lab-foot")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(Vertical).border_title = self.title_text
        self.load()

    def action_scroll(self, where: str) -> None:
        view = self.query_one(VerticalScroll)
        if where == "end":
            view.scroll_end(animate=False)
        else:
            view.scroll_home(animate=False)

    @work(exclusive=True, group="explain")
    async def load(self) -> None:
        try:
            self.data = await run_json(["explain", self.run, self.text, "--json"])
        except LmtuiError as exc:
            self.query_one("#explain", Static).update(Text(visible_line(f"✗ {exc}"), style="bold red"))
            return
        self.level = self.data.get("level") or self.level  # the model's own word for its tokens
        self.query_one(Vertical).border_title = self.title_text
        self.query_one("#explain", Static).update(explain_renderable(self.data))

    def action_close(self) -> None:
        self.dismiss(None)


class NeuronScreen(ModalScreen[None]):
    """The text coloured by one hidden unit; [ ] step through units, F finds units that follow a feature."""

    DEFAULT_CSS = LAB_CSS.format(name="NeuronScreen")
    BINDINGS = [
        Binding("escape,f8", "close", "Close", tooltip="Back to the playground"),
        Binding("right_square_bracket", "unit(1)", "Next unit", key_display="]"),
        Binding("left_square_bracket", "unit(-1)", "Previous unit", key_display="["),
        Binding("f", "find", "Find", tooltip="Jump to the unit that best follows the next feature"),
        Binding("s", "next_state", "State", tooltip="An LSTM: show h, the cell state c or a gate"),
        Binding("ctrl+o", "card", "SVG card", tooltip="Export this colouring as an SVG card"),
    ]

    def __init__(self, run: str, text: str, samples: Path | None = None) -> None:
        super().__init__()
        self.run, self.text, self.samples = run, text, samples
        self.neurons: NeuronData | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("working… (a child process reads the text)", id="neuron-head", classes="lab-head")
            with VerticalScroll():
                yield Static("", id="neuron-text")
            yield Static(Text("[ ] step through units · F: find a unit that follows a feature · S: h, the "
                              "cell state or a gate (LSTM) · Ctrl+O: SVG card · Esc closes. Red: activation "
                              "above 0 (a gate open), blue: below (a gate closed)."),
                         classes="lab-foot")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(Vertical).border_title = "What a neuron tracks"
        self.load()

    @work(exclusive=True, group="neurons")
    async def load(self, state: str = "h") -> None:
        unit = self.neurons.unit if self.neurons is not None else 0
        try:
            data = await run_json(["neurons", self.run, self.text, "--json", "--state", state])
        except LmtuiError as exc:
            self.query_one("#neuron-head", Static).update(Text(visible_line(f"✗ {exc}"), style="bold red"))
            return
        self.neurons = NeuronData(data)
        self.neurons.unit = unit % self.neurons.units  # another state of the same unit
        self._show()

    def _show(self, found: str | None = None) -> None:
        n = self.neurons
        if n is None:
            return
        head = n.caption() if found is None else f"best unit for {found}: {n.caption()}"
        self.query_one("#neuron-head", Static).update(Text(visible_line(head)))
        self.query_one("#neuron-text", Static).update(n.render())

    def action_unit(self, delta: int) -> None:
        if self.neurons is not None:
            self.neurons.step(delta)
            self._show()

    def action_next_state(self) -> None:
        n = self.neurons
        if n is None:
            return
        if len(n.states) < 2:
            self.notify("Only an LSTM has a cell state and gates to show; this run shows h.")
            return
        following = n.states[(n.states.index(n.state) + 1) % len(n.states)]
        self.query_one("#neuron-head", Static).update(Text(f"working… (reading the {following} state)"))
        self.load(following)

    def action_find(self) -> None:
        if self.neurons is None:
            return
        found = self.neurons.find_next()
        if found is None:
            self.notify("None of the features changes along this text.", severity="warning")
            return
        self._show(found)

    def action_card(self) -> None:
        from lmtui import sharing

        n = self.neurons
        if n is None or self.samples is None:
            return
        try:
            path = sharing.save_neuron_card(
                self.samples, self.run, n.text, n.activations[n.unit], n.caption()
            )
        except OSError as exc:
            self.notify(f"could not write the card: {exc.strerror or exc}", severity="error")
            return
        self.notify(f"Saved {path}", title="SVG card")

    def action_close(self) -> None:
        self.dismiss(None)
