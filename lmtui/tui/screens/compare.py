"""The Compare screen: the lecture's perplexity table, trained here by ``lmtui compare … --events jsonl``.

Every model trains in a child process with the same split, vocabulary and time budget; rows appear as they
finish, the training curves (in bits per character, so char and word runs share the chart; n-grams as flat
lines) are overlaid, and the verdict says plainly when n-grams win at this budget. The table is written as
Markdown, CSV and JSON under the lmtui folder's ``compare/``.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, Input, Label, ProgressBar, Select, Static

from lmtui.tui.lab_child import lab_argv
from lmtui.tui.modes import ModeScreen
from lmtui.tui.widgets.charts import LineChart
from lmtui.tui.widgets.footer import KeyBar
from lmtui.visible import visible_line, visible_markup

DEFAULT_MODELS = "1gram,2gram,3gram,4gram,5gram,window,rnn,lstm,gru"
COLUMNS = ("model", "parameters", "size", "train s", "val ppl", "test ppl", "bits/char", "ppl excl. OOV",
           "<unk>")
STYLES = ("grey50", "grey62", "grey74", "white", "bright_white", "bright_yellow", "bright_red",
          "bright_green", "bright_cyan", "bright_magenta")
HINT = "Ctrl+R trains every model with the same split, vocabulary and budget (Esc stops)."


def row_cells(r: dict[str, Any]) -> list[str]:
    def f(x: Any, fmt: str) -> str:
        return "∞" if x is None else format(x, fmt)

    return [r["label"], f"{r['parameters']:,}", f"{r['size_bytes']:,}", f"{r['train_seconds']:.2f}",
            f(r["val_ppl"], ".2f"), f(r["test_ppl"], ".2f"), f(r["bits_per_char"], ".3f"),
            "–" if r["ppl_excl_oov"] is None else f"{r['ppl_excl_oov']:.2f}", f"{r['unk_rate']:.1%}"]


CHART_TITLE = "Validation curves (bits/char on a validation slice; n-grams flat at their full score)"


class CompareScreen(ModeScreen):
    """Choose a text, the models and a budget; Ctrl+R runs the comparison in a child process."""

    SUB_TITLE = "Compare models"
    DEFAULT_CSS = """
    CompareScreen #compare-form { height: 3; padding: 0 1; }
    CompareScreen #compare-form Label { padding: 1 0 0 1; }
    CompareScreen #c-corpus { width: 18; }
    CompareScreen #c-models { width: 1fr; }
    CompareScreen #c-seconds { width: 8; }
    CompareScreen #c-level { width: 12; }
    CompareScreen #compare-status { height: auto; padding: 0 1; }
    CompareScreen #compare-progress { padding: 0 1; height: 1; }
    CompareScreen #compare-main { height: 1fr; }
    CompareScreen #compare-table { height: 1fr; }
    CompareScreen #compare-chart { height: 1fr; min-height: 8; }
    CompareScreen #verdict { height: auto; padding: 0 1; }
    """
    BINDINGS = [
        Binding("ctrl+r", "run", "Compare", tooltip="Train the chosen models and fill the table"),
        Binding("escape", "stop", "Stop", tooltip="Stop the comparison (models already trained stay)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.process: asyncio.subprocess.Process | None = None
        self.rows: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="compare-form"):
            yield Label("text")
            yield Input("scripts", id="c-corpus", tooltip="A bundled corpus or the path of your own text")
            yield Label("models")
            yield Input(DEFAULT_MODELS, id="c-models", tooltip="1gram..6gram, window, rnn, lstm, gru")
            yield Label("seconds")
            yield Input("30", type="number", id="c-seconds",
                        tooltip="Training seconds per neural model (evaluations excluded)")
            yield Select([("char", "char"), ("word", "word")], value="char", allow_blank=False, id="c-level")
        yield Static(HINT, id="compare-status")
        yield ProgressBar(total=1.0, show_eta=False, id="compare-progress")
        with Vertical(id="compare-main"):
            table = DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
            table.add_columns(*COLUMNS)  # here, not in on_mount: a screen built ahead may mount out of turn
            yield table
            chart = LineChart("seconds", id="compare-chart")
            chart.border_title = CHART_TITLE
            yield chart
        yield Static("", id="verdict")
        yield KeyBar()

    # -- running ----------------------------------------------------------------------------------------

    def argv(self) -> list[str] | None:
        corpus = self.query_one("#c-corpus", Input).value.strip()
        models = self.query_one("#c-models", Input).value.strip()
        seconds = self.query_one("#c-seconds", Input).value.strip()
        level = str(self.query_one("#c-level", Select).value)
        if not corpus or not models or not seconds:
            self._status("Give a text, the models and a budget in seconds.", "bold red")
            return None
        from lmtui.runs import runs_dir

        stem = f"{os.path.basename(corpus) or 'text'}-{time.strftime('%Y%m%d-%H%M%S')}"
        out = runs_dir().parent / "compare" / stem
        return ["compare", corpus, "--models", models, "--seconds", seconds, "--level", level,
                "--out", str(out), "--events", "jsonl"]

    def action_run(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.notify("A comparison is running: Esc stops it.", severity="warning")
            return
        args = self.argv()
        if args is None:
            return
        self.rows = []
        self.query_one(DataTable).clear()
        chart = self.query_one("#compare-chart", LineChart)
        chart._series.clear()
        chart.reset()
        chart.redraw(force=True)
        self.query_one("#verdict", Static).update("")
        self.query_one(ProgressBar).update(progress=0)
        self._status("starting…")
        self.compare(args)

    @work(exclusive=True, group="compare")
    async def compare(self, args: list[str]) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *lab_argv(*args), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        async for raw in self.process.stdout:
            try:
                event = json.loads(raw.decode("utf-8"))
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict):
                self.handle(event)
        err = (await self.process.stderr.read()).decode("utf-8", "replace")
        code = await self.process.wait()
        if code != 0:
            lines = [line for line in err.splitlines() if line.strip()]
            problem = lines[-1].removeprefix("Error: ") if lines else f"stopped (exit status {code})"
            self._status(f"✗ {problem}", "bold red")

    def handle(self, event: dict[str, Any]) -> None:
        """One JSON line from the child: a model starts, progress, a finished row, or the result."""
        kind = event.get("event")
        if kind == "model":
            self._model = (int(event["index"]), int(event["count"]))
            self._status(f"training {event['label']} ({event['index'] + 1}/{event['count']})…")
        elif kind == "progress":
            index, count = getattr(self, "_model", (0, 1))
            self.query_one(ProgressBar).update(progress=(index + min(float(event["progress"]), 1.0)) / count)
        elif kind == "row":
            self._add_row(event["row"])
        elif kind == "done":
            result = event["result"]
            self.query_one(ProgressBar).update(progress=1.0)
            verdict = visible_line(result.get("verdict", ""))
            self.query_one("#verdict", Static).update(Text(verdict, style="bold"))
            written = event.get("written") or []
            self._status(f"done · table written to {os.path.dirname(written[0])}" if written else "done")

    def _add_row(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.query_one(DataTable).add_row(*map(visible_markup, row_cells(row)))  # a str cell is markup
        chart = self.query_one("#compare-chart", LineChart)
        name = row["label"]
        chart.add_series(name, STYLES[(len(self.rows) - 1) % len(STYLES)])
        curve = row.get("val_curve") or row.get("curve") or []  # a run too short to evaluate: its training
        if curve:
            for t, bpc in curve[:: max(1, len(curve) // 200)]:
                chart.add(name, t, bpc)
        elif row.get("bits_per_char") is not None:  # n-grams: counted in one pass, a flat line
            budget = float(self.query_one("#c-seconds", Input).value or 1)
            chart.add(name, 0, row["bits_per_char"])
            chart.add(name, budget, row["bits_per_char"])
        chart.redraw()

    def _status(self, text: str, style: str = "") -> None:
        self.query_one("#compare-status", Static).update(Text(visible_line(text), style=style))

    async def action_stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            self._status("stopped; the models trained so far are in Runs (F5)")

    async def on_unmount(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
