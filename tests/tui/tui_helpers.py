"""Helpers for the TUI tests: deterministic metrics, and waiting for workers and conditions."""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.app import App
from textual.pilot import Pilot


def run_async(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test with asyncio.run (no async plugin needed); fixtures still come by name."""

    @functools.wraps(test)
    def wrapper(*args: object, **kwargs: object) -> None:
        asyncio.run(test(*args, **kwargs))  # type: ignore[arg-type]

    return wrapper


def fix_metrics(runs_dir: Path) -> None:
    """Pin the numbers training leaves in run.json (time, and losses that move with any change to training)
    so screens showing them are deterministic."""
    for n, meta_path in enumerate(sorted(runs_dir.glob("*/run.json"))):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        pinned = {"train_seconds": 12.0, "val_ppl": 10 + n, "test_ppl": 11 + n, "bits_per_char": 3 + n / 10}
        meta.setdefault("metrics", {}).update(pinned)
        meta_path.write_text(json.dumps(meta), encoding="utf-8")


# How long a wait on a condition may take before the test fails. Generous: a test waits for what it needs,
# never for a time, so only a hang (or a machine many times slower than any seen) reaches it.
WAIT = 120.0


async def settle(pilot: Pilot, timeout: float = WAIT) -> None:
    """Wait until the app's own thread workers are done (DirectoryTree's loader never is, so skip it)."""
    app = pilot.app
    for field in app.screen.query("Input"):
        field.cursor_blink = False  # a blinking cursor makes a snapshot depend on the moment it is taken

    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause(0.02)
        busy = [w.name for w in app.workers if w.is_running and "loader" not in w.name]
        if not busy:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"the app's workers still run after {timeout:g} s: {busy}")
    await pilot.pause(0.05)
    # then let what the workers handed over (rows, column widths, layout) be processed and painted
    await pilot.wait_for_scheduled_animations()
    for _ in range(3):
        await pilot.pause(0.02)


async def wait_for(pilot: Pilot, condition: Callable[[], bool], what: str = "", timeout: float = WAIT
                   ) -> None:
    """Let the app run, in small steps, until ``condition()`` holds; fail naming ``what`` after ``timeout``
    (a generous bound: only a hang should reach it)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or condition}")
        await pilot.pause(0.05)


async def charts_drawn(pilot: Pilot) -> None:
    """Wait until the dashboard has handled every event posted to it and replotted each chart those changed
    (its redraw timer replots dirty charts), then until that is painted."""
    from lmtui.tui.widgets.charts import LineChart

    await pilot.pause()  # a pause first lets the screen handle every message already posted to it
    charts = list(pilot.app.screen.query(LineChart))
    await wait_for(pilot, lambda: not any(chart._dirty for chart in charts), "the charts replotted")
    await settle(pilot)


def fake_paused_at(state: Path) -> int | None:
    """The step at which fake_trainer.py (run with ``--state STATE``) says it paused; None while it runs."""
    try:
        mode, step = state.read_text(encoding="utf-8").split()
    except (OSError, ValueError):
        return None
    return int(step) if mode == "paused" else None


def screen_text(app: App) -> str:
    """Everything on screen as plain text (for asserting what a person would read)."""
    from textual.widgets import Static

    parts = []
    for widget in app.screen.query(Static):
        rendered = widget.render()
        parts.append(str(getattr(rendered, "plain", rendered)))
    return "\n".join(parts)



def fully_visible(app: App, widget) -> bool:  # noqa: ANN001
    """Whether all of ``widget`` is on screen: not scrolled out of its containers, not under the header or
    the footer, not past the terminal's edge."""
    from textual.errors import NoWidget
    from textual.widgets import Footer, Header

    screen = app.screen
    try:
        geometry = screen.find_widget(widget)
    except NoWidget:
        return False
    region = geometry.region
    if region.area == 0 or geometry.visible_region != region or not screen.region.contains_region(region):
        return False
    for bar in screen.query("Header, Footer"):
        if isinstance(bar, Header | Footer) and bar.display and bar.region.overlaps(region):
            return False
    return True
