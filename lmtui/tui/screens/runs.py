"""Trained runs as a table: open one in the playground, resume its training, or delete it."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from lmtui.errors import LmtuiError
from lmtui.tui.data import duration, human_bytes
from lmtui.tui.screens.confirm import ConfirmScreen
from lmtui.tui.trainer_process import resume_argv

COLUMNS = ("name", "corpus", "model", "level", "status", "parameters", "size", "val ppl", "test ppl",
           "bits/char", "time")
EMPTY = "No runs yet. Press F2 to choose a text and train your first model."


def _num(value: Any, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, int | float) else "–"


class RunsScreen(Screen[None]):
    """The runs folder as a table, re-read each time the screen is shown."""

    CSS_PATH = "runs.tcss"
    SUB_TITLE = "Runs"
    BINDINGS = [
        Binding("o", "open", "Playground", tooltip="Sample from the highlighted run (also Enter)"),
        Binding("r", "resume", "Resume", tooltip="Continue training the highlighted run"),
        Binding("d", "delete", "Delete", tooltip="Delete the highlighted run and its files"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="runs-dir", classes="hint")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail")
        yield Footer()

    def on_screen_resume(self) -> None:
        self.refresh_runs()

    @work(thread=True, exclusive=True, group="list")
    def refresh_runs(self) -> None:
        import os

        from lmtui.runs import list_runs, runs_dir

        rows = [r.summary() for r in list_runs()]
        folder = str(runs_dir())
        if os.environ.get("LMTUI_HOME"):  # say where it comes from (and keep screenshots stable)
            folder = "$LMTUI_HOME/runs"
        self.app.call_from_thread(self._fill, folder, rows)

    def _fill(self, folder: str, rows: list[dict[str, Any]]) -> None:
        table = self.query_one(DataTable)
        current = self.selected()
        self.rows = {r["name"]: r for r in rows}
        cells = [_cells(r) for r in rows]
        # Columns sized here, from what they will hold: DataTable's own auto-sizing of rows re-added after
        # clear() sometimes kept the header widths, cutting names short.
        table.clear(columns=True)
        for i, label in enumerate(COLUMNS):
            table.add_column(label, width=max([len(label), *(len(c[i]) for c in cells)]))
        for r, row in zip(rows, cells, strict=True):
            table.add_row(*row, key=r["name"])
        if current in self.rows:
            table.move_cursor(row=table.get_row_index(current))
        self.query_one("#runs-dir", Static).update(Text(f"runs folder: {folder}"))
        self.query_one("#detail", Static).update(
            EMPTY if not rows else "Enter or O: sample from it · R: resume training · D: delete")
        table.focus()

    def selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= table.row_count:
            return None
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key
        return key.value

    @on(DataTable.RowSelected)
    async def action_open(self) -> None:
        name = self.selected()
        if name:
            await self.app.open_playground(name)  # type: ignore[attr-defined]

    async def action_resume(self) -> None:
        name = self.selected()
        if not name:
            return
        if self.rows[name]["model"] == "ngram":
            self.notify("n-gram models train in one pass: there is nothing to resume.", severity="warning")
            return
        await self.app.start_training(resume_argv(name), resume=name)  # type: ignore[attr-defined]

    def action_delete(self) -> None:
        name = self.selected()
        if not name:
            return
        trainer = getattr(self.app, "trainer", None)
        if trainer and trainer.running and trainer.run_name == name:
            self.notify("This run is training now: stop it first (F3, then S).", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(name)

        self.app.push_screen(ConfirmScreen(f"Delete run {name!r} and all its files (checkpoints, samples)?"),
                             answered)

    def _delete(self, name: str) -> None:
        from lmtui.runs import delete_run

        try:
            delete_run(name)
        except LmtuiError as exc:
            self.notify(str(exc), title="Could not delete", severity="error")
            return
        self.notify(f"Deleted {name}.")
        self.refresh_runs()


def _cells(r: dict[str, Any]) -> list[str]:
    """One row of the table, as text."""
    size = human_bytes(r["size_bytes"]) if r["size_bytes"] else "–"
    seconds = duration(r["train_seconds"]) if r["train_seconds"] is not None else "–"
    scores = [_val_ppl(r), _num(r["test_ppl"], ".2f"), _num(r["bits_per_char"], ".3f")]
    params = _num(r["parameters"], ",")
    return [r["name"], r["corpus"], r["model"], r["level"], r["status"] or "", params, size, *scores, seconds]


def _val_ppl(r: dict[str, Any]) -> str:
    """Validation perplexity, with what it hides: ∞ for probability-0 tokens, the <unk> share of word runs."""
    if r.get("val_ppl_infinite"):
        return "∞ (unsmoothed)"
    unk = r.get("val_unk_rate") or 0.0
    ppl = _num(r["val_ppl"], ".2f")
    return f"{ppl} ({unk:.1%} <unk>)" if r["level"] == "word" and unk >= 0.0005 else ppl
