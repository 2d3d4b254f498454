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


async def settle(pilot: Pilot, timeout: float = 10.0) -> None:
    """Wait until the app's own thread workers are done (DirectoryTree's loader never is, so skip it)."""
    app = pilot.app
    for field in app.screen.query("Input"):
        field.cursor_blink = False  # a blinking cursor makes a snapshot depend on the moment it is taken
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.02)
        busy = [w for w in app.workers if w.is_running and "loader" not in w.name]
        if not busy:
            break
    await pilot.pause(0.05)
    # then let what the workers handed over (rows, column widths, layout) be processed and painted
    await pilot.wait_for_scheduled_animations()
    for _ in range(3):
        await pilot.pause(0.02)


async def wait_for(pilot: Pilot, condition: Callable[[], bool], timeout: float = 30.0, what: str = ""
                   ) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.05)


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
