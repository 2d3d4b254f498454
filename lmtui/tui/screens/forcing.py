"""The playground's "teacher forcing" view (F9): the loss on the true text k tokens after a true prefix, with
the tokens in between true (teacher forcing, as in training) or the model's own (free running, as when it
writes). A child process (``lmtui forcing … --json``) does the work, as for the other lab views."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from lmtui.errors import LmtuiError
from lmtui.lab.forcing import SHOWN_K
from lmtui.tui.lab_child import run_json
from lmtui.tui.screens.lab import LAB_CSS
from lmtui.tui.widgets.footer import KeyBar

ABOUT = ("Teacher forcing: each token predicted from the true text before it (how a model trains and how "
         "eval scores it). Free running: from the model's own tokens after the prefix (how it writes). At "
         "k = 1 both read only the true prefix; further on, its own tokens drift from the true text. Lower "
         "is better.")


def forcing_renderable(data: dict[str, Any]) -> Group:
    """The child's JSON as a table of k against the two losses, and the means."""
    unit = "characters" if data.get("level") == "char" else "words"
    table = Table(title=f"the true token k {unit} after {data['prefixes']} true prefixes of "
                        f"{data['prefix_tokens']} {unit} (validation split)", title_justify="left")
    for name in ("k", "teacher-forced", "free-running", "gap"):
        table.add_column(name, justify="right")

    def nats(x: float | None) -> str:
        return "∞" if x is None else f"{x:.3f}"

    teacher, free = data["teacher_forced"], data["free_running"]
    for k in sorted({k for k in SHOWN_K if k <= len(teacher)} | {len(teacher)}):
        tf, fr = teacher[k - 1], free[k - 1]
        table.add_row(str(k), nats(tf), nats(fr), "" if tf is None or fr is None else f"{fr - tf:+.3f}")
    means = Text(f"mean, nats/token: teacher-forced {nats(data['teacher_forced_mean'])}, free-running "
                 f"{nats(data['free_running_mean'])} (own draws at temperature {data['temperature']:g})")
    return Group(table, means, Text(""), Text(ABOUT, style="dim"))


class ForcingScreen(ModalScreen[None]):
    """Teacher-forced against free-running loss for one run, from its validation text."""

    DEFAULT_CSS = LAB_CSS.format(name="ForcingScreen")
    BINDINGS = [Binding("escape,f9", "close", "Close", tooltip="Back to the playground")]

    def __init__(self, run: str) -> None:
        super().__init__()
        self.run = run
        self.data: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Teacher forcing against free running: {self.run}"), classes="lab-head")
            with VerticalScroll():
                yield Static("working… (a child process continues 100 validation prefixes)", id="forcing")
            yield Static("Esc or F9 closes.", classes="lab-foot")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(Vertical).border_title = "Teacher forcing"
        self.load()

    @work(exclusive=True, group="forcing")
    async def load(self) -> None:
        try:
            self.data = await run_json(["forcing", self.run, "--json"])
        except LmtuiError as exc:
            self.query_one("#forcing", Static).update(Text(f"✗ {exc}", style="bold red"))
            return
        self.query_one("#forcing", Static).update(forcing_renderable(self.data))

    def action_close(self) -> None:
        self.dismiss(None)
