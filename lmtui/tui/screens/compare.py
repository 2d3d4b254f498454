"""The Compare screen: the lecture's perplexity table, trained here by ``lmtui compare … --events jsonl``.

Every model trains in a child process with the same split, vocabulary and budget (seconds inside training
steps); rows appear as they finish, with what each budget bought (steps, tokens) and the test text's
figures. The validation curves (in bits per character, so char and word runs share the chart; n-grams as
flat lines) are overlaid against seconds of training steps, each named in the legend, and the verdict says
plainly who wins at this budget and why. The progress bar moves by work done (each model's share of the
budget, an n-gram's small). Esc tells the child to stop (a line on its stdin): the model in training saves
itself as "stopped", the finished ones stay; all are one group in the Runs table. The table is written as
Markdown, CSV and JSON under the lmtui folder's ``compare/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, Input, Label, ProgressBar, Select, Static
from textual_hires_canvas import Canvas, TextAlign

from lmtui.lab.compare import DEFAULT_MODELS, row_cells
from lmtui.tui.data import display_path
from lmtui.tui.lab_child import lab_argv
from lmtui.tui.modes import ModeScreen
from lmtui.tui.widgets.charts import LineChart
from lmtui.tui.widgets.footer import KeyBar
from lmtui.visible import visible_line, visible_markup

COLUMNS = ("model", "params", "bytes", "steps", "tokens", "train s", "test ppl", "bits/char", "excl. <unk>",
           "<unk>")
STYLES = ("grey50", "grey62", "grey74", "white", "bright_white", "bright_yellow", "bright_red",
          "bright_green", "bright_cyan", "bright_magenta")
HINT = "Ctrl+R: every model, one split, the same seconds of training steps · Esc stops"
SHORT_HINT = "Ctrl+R: one split, equal seconds of training steps · Ctrl+T: chart · Esc stops"
CHART_TITLE = "Validation curves (n-grams: flat at their test score)"
X_LABEL = "seconds of training steps"
Y_LABEL = "bits/char"
STOP_WAIT = 8.0  # seconds a child told to stop (the app closing) may take to save before it is killed


class CompareChart(LineChart):
    """A LineChart whose x-axis label is drawn on the bottom margin's second row (the first holds the
    ticks), so both axes are named without giving up a row of the plot."""

    def _render_x_label(self) -> None:
        plot = self.query_one("#plot", Canvas)
        self.query_one("#margin-bottom", Canvas).write_text(
            plot.size.width // 2 + self.margin_left,
            1,
            f"[{self.get_component_rich_style('plot--label')}]{self._x_label}",
            TextAlign.CENTER,
        )


class CompareScreen(ModeScreen):
    """Choose a text, the models and a budget; Ctrl+R runs the comparison in a child process."""

    SUB_TITLE = "Compare models"
    DEFAULT_CSS = """
    CompareScreen #compare-form { height: 3; padding: 0 1; }
    CompareScreen #compare-form Label { padding: 1 0 0 1; }
    CompareScreen #c-corpus { width: 1fr; min-width: 14; max-width: 30; }
    CompareScreen #c-models { width: 2fr; }
    CompareScreen #compare-form Input { padding: 0 1; }
    CompareScreen #c-seconds { width: 11; }
    CompareScreen #c-level { width: 12; }
    CompareScreen #compare-status { height: auto; padding: 0 1; }
    CompareScreen #compare-progress { padding: 0 1; height: 1; }
    CompareScreen #compare-main { height: 1fr; }
    CompareScreen #compare-table { height: 1fr; }
    CompareScreen #compare-chart-box { height: 1fr; min-height: 9; }
    CompareScreen #compare-chart { height: 1fr; }
    CompareScreen #compare-legend { height: auto; }
    CompareScreen #verdict { height: auto; padding: 0 1; }
    CompareScreen.-short #compare-chart-box { display: none; }
    CompareScreen.-short.-chart #compare-chart-box { display: block; }
    CompareScreen.-short.-chart #compare-table { display: none; }
    """
    # a short terminal (80x24) shows the table or the chart, Ctrl+T switching; a tall one both
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    BINDINGS = [
        Binding("ctrl+r", "run", "Compare", tooltip="Train the chosen models and fill the table"),
        Binding("escape", "stop", "Stop", tooltip="Stop the comparison (models already trained stay)"),
        Binding("ctrl+t", "toggle_chart", "Chart/table", tooltip="Show the curves or the table (a short "
                "terminal shows one at a time)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.process: asyncio.subprocess.Process | None = None
        self.rows: list[dict[str, Any]] = []
        self.group = ""  # the comparison's group of runs (cmp3), once the child has said it
        self.stopping = False  # Esc was pressed: the child's end is a stop, not a failure
        self.done = 0.0  # the progress bar's value: work done, never moving back
        self.flat: dict[str, float] = {}  # n-grams' test bits/char: flat lines across the neural curves

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="compare-form"):
            yield Label("text")
            yield Input("scripts", id="c-corpus", tooltip="A bundled corpus or the path of your own text")
            yield Label("models")
            yield Input(",".join(DEFAULT_MODELS), id="c-models",
                        tooltip="1gram..6gram, window, rnn, lstm, gru")
            yield Label("max s")
            yield Input("30", type="number", id="c-seconds",
                        tooltip="Seconds inside training steps per neural model, the same for each "
                        "(start-up and evaluations excluded)")
            yield Select([("char", "char"), ("word", "word")], value="char", allow_blank=False, id="c-level")
        yield Static(HINT, id="compare-status")
        yield ProgressBar(total=1.0, show_eta=False, id="compare-progress")
        with Vertical(id="compare-main"):
            table: DataTable[Any] = DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
            table.add_columns(*COLUMNS)  # here, not in on_mount: a screen built ahead may mount out of turn
            yield table
            with Vertical(id="compare-chart-box", classes="panel") as box:
                box.border_title = CHART_TITLE
                chart = CompareChart(X_LABEL, id="compare-chart")
                chart.set_ylabel(Y_LABEL)
                yield chart
                yield Static("", id="compare-legend")
        yield Static("", id="verdict")
        yield KeyBar()

    def on_resize(self) -> None:
        if not self.running and not self.rows:
            self._status(self._hint())

    def _hint(self) -> str:
        return SHORT_HINT if self.has_class("-short") else HINT

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Ctrl+T switches between the table and the chart only where they take turns."""
        return self.has_class("-short") if action == "toggle_chart" else True

    def action_toggle_chart(self) -> None:
        self.toggle_class("-chart")

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
        return ["compare", corpus, "--models", models, "--max-seconds", seconds, "--level", level,
                "--out", str(out), "--events", "jsonl", "--control", "stdin"]

    def action_run(self) -> None:
        if self.running:
            self.notify("A comparison is running: Esc stops it.", severity="warning")
            return
        args = self.argv()
        if args is None:
            return
        self.rows, self.group, self.stopping, self.done, self.flat = [], "", False, 0.0, {}
        self.query_one(DataTable).clear()
        chart = self.query_one("#compare-chart", LineChart)
        chart._series.clear()
        chart.reset()
        chart.redraw(force=True)
        self.query_one("#compare-legend", Static).update("")
        self.query_one("#verdict", Static).update("")
        self.query_one(ProgressBar).update(progress=0)
        self._status("starting…")
        self.query_one(DataTable).focus()  # its rows, as they come, and Ctrl+T to the chart
        self.compare(args)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    @work(exclusive=True, group="compare")
    async def compare(self, args: list[str]) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *lab_argv(*args), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
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
        if code != 0 and not self.stopping:
            lines = [line for line in err.splitlines() if line.strip()]
            problem = lines[-1].removeprefix("Error: ") if lines else f"stopped (exit status {code})"
            self._status(f"✗ {problem}", "bold red")

    def handle(self, event: dict[str, Any]) -> None:
        """One JSON line from the child: its group, a model starts, progress, a finished row, the result."""
        kind = event.get("event")
        if kind == "group":
            self.group = str(event.get("group", ""))
        elif kind == "model":
            self._status(f"{self.group}: training {event['label']} ({event['index'] + 1}/{event['count']})…")
        elif kind == "row":
            self._add_row(event["row"])
        elif kind == "done":
            self._done(event)
        if isinstance(event.get("overall"), int | float):
            self._progress(float(event["overall"]))

    def _progress(self, overall: float) -> None:
        self.done = max(self.done, min(overall, 1.0))
        self.query_one(ProgressBar).update(progress=self.done)

    def _done(self, event: dict[str, Any]) -> None:
        result = event["result"]
        self.query_one("#verdict", Static).update(Text(visible_line(result.get("verdict", "")), style="bold"))
        written = event.get("written") or []
        where = f" · table in {display_path(Path(written[0]).parent)}" if written else ""
        if result.get("stopped"):
            stopped = result["stopped"]
            self._status(f"stopped at {stopped}: its runs are group {self.group} in Runs (F5){where}")
            return
        self._progress(1.0)
        self._status(f"done · runs: group {self.group} in Runs (F5){where}")

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
        elif row.get("test_bits_per_char") is not None:  # n-grams: counted in one pass, a flat line
            self.flat[name] = row["test_bits_per_char"]
        self._flat_lines(chart)
        chart.redraw()
        self.query_one("#compare-legend", Static).update(chart.legend())

    def _flat_lines(self, chart: LineChart) -> None:
        """The n-grams' lines run across the neural curves drawn so far (the budget, before there are any)."""
        ends = [x for name in chart._series if name not in self.flat for x, _ in chart.points(name)]
        if ends:
            end = max(ends)
        else:
            try:
                end = float(self.query_one("#c-seconds", Input).value or 1)
            except ValueError:
                end = 1.0
        for name, bpc in self.flat.items():
            series = chart._series[name]
            series.xs.clear()
            series.ys.clear()
            chart.add(name, 0, bpc)
            chart.add(name, end, bpc)

    def _status(self, text: str, style: str = "") -> None:
        self.query_one("#compare-status", Static).update(Text(visible_line(text), style=style))

    def _tell_stop(self) -> None:
        """Ask the child to stop: a line on its stdin (every platform); SIGTERM where that pipe is gone."""
        assert self.process is not None
        pipe = self.process.stdin
        if pipe is not None and not pipe.is_closing():
            try:
                pipe.write(b"stop\n")
                return
            except (OSError, RuntimeError):
                pass
        if os.name == "posix":
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGTERM)

    async def action_stop(self) -> None:
        if self.running and not self.stopping:
            self.stopping = True
            self._tell_stop()
            self._status("stopping: the model in training saves itself; the finished ones stay…")

    async def on_unmount(self) -> None:
        """The app is closing: the child is told to stop (it saves the model in training), then waited for
        a little, and killed only if it does not end."""
        if not self.running:
            return
        assert self.process is not None
        self.stopping = True
        self._tell_stop()
        try:
            await asyncio.wait_for(self.process.wait(), STOP_WAIT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
