"""From Ctrl+T to the first training step in the app (issue 17), with and without a child started ahead.

The real app (``make_app``) runs in this process under Textual's Pilot (headless: the child's start is what
is measured, not the drawing). Each trial opens a fresh app, moves to a corpus (``--corpus``: Shakespeare's
plays, a bundled corpus whose suggested level is char), goes on to the model screen, chooses the *quick*
preset (Tab Tab ↑ Enter, as in the README) of the default char LSTM and, in the ``warm`` mode, waits until the
child started ahead says it is ready (``warm_trainers=True``, as ``lmtui`` runs). Once the app's own workers
are done (the vocabulary count the preset started), it presses Ctrl+T and times, on the app's side, the
arrival of the child's ``started`` and first ``step`` events; the training child is then killed and the app
closed. ``cold`` starts the child at Ctrl+T (the app without children started ahead; in this version the
same ``lmtui trainer`` entry, given its job at once).

Modes alternate trial by trial (cold, warm, cold, …) so that a change in the machine's load hits both alike.
``--modes cold`` with ``PYTHONPATH`` naming another checkout measures that version (one that predates the
option runs as cold only).

    python bench/app_first_step.py [--repeat 5] [--modes cold,warm] [--corpus scripts] [--json out.json]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from typing import Any

from common import median, parser, write_json

# common puts this checkout first on the path: an lmtui named by PYTHONPATH (comparing versions) goes first
sys.path[:0] = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


async def _until(pilot: Any, condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await pilot.pause(0.01)


def idle(app: Any) -> bool:
    """None of the app's thread workers runs (the directory tree's loader never ends: not counted)."""
    busy = [w for w in app.workers if w.is_running and "loader" not in w.name and w.group != "warm-trainer"]
    return not busy


async def trial(warm: bool, corpus: str) -> dict[str, Any]:
    from lmtui.events import Started, Step
    from lmtui.tui.app import make_app
    from lmtui.tui.screens.model import ModelScreen
    from lmtui.tui.screens.training import TrainingScreen

    seen: dict[str, float] = {}
    handle = TrainingScreen.on_trainer_event

    def timed(screen: Any, message: Any) -> None:
        for kind in (Started, Step):
            if isinstance(message.event, kind):
                seen.setdefault(kind.__name__, time.perf_counter())
        handle(screen, message)

    TrainingScreen.on_trainer_event = timed  # type: ignore[method-assign]
    try:
        app = make_app(**({"warm_trainers": True} if warm else {}))
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: idle(app), 60, "the corpus screen")
            chooser = app.screen
            for _ in range(10):
                if chooser.spec == corpus:
                    break
                await pilot.press("down")
                await _until(pilot, lambda: idle(app), 60, "the corpus")
            assert chooser.spec == corpus, f"no bundled corpus {corpus!r} in the list"
            title = str(chooser.query_one("#title").render())
            await pilot.press("enter")
            await _until(pilot, lambda: isinstance(app.screen, ModelScreen), 60, "the model screen")
            model = app.screen
            assert (model.family, model.level) == ("lstm", "char"), (model.family, model.level)
            await pilot.press("tab", "tab", "up", "enter")
            await _until(pilot, lambda: model.preset == "quick", 10, "the quick preset")
            ready = None
            if warm:
                await _until(pilot, lambda: app.warm_trainer is not None, 60, "a child started ahead")
                t = time.perf_counter()
                assert await app.warm_trainer.ready(), "the child started ahead did not get ready"
                ready = time.perf_counter() - t  # what was left of its warm-up when the form was filled
            await _until(pilot, lambda: idle(app), 60, "the model screen's workers")
            await pilot.pause(0.2)
            t0 = time.perf_counter()
            await pilot.press("ctrl+t")
            await _until(pilot, lambda: "Step" in seen or isinstance(app.screen, TrainingScreen)
                         and app.screen.status == "failed", 120, "the first step")
            assert isinstance(app.screen, TrainingScreen) and app.screen.status != "failed", app.screen.status
            used_warm = bool(getattr(app.trainer, "warm", False))
            app.trainer.kill()
            await _until(pilot, lambda: not app.trainer.running, 30, "the child's end")
        return {"mode": "warm" if warm else "cold", "corpus": title, "used_warm_child": used_warm,
                "started_s": seen["Started"] - t0, "first_step_s": seen["Step"] - t0, "ready_wait_s": ready}
    finally:
        TrainingScreen.on_trainer_event = handle  # type: ignore[method-assign]


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--repeat", type=int, default=3, help="trials per mode")
    p.add_argument("--modes", default="cold,warm", help="comma-separated: cold, warm")
    p.add_argument("--corpus", default="scripts", help="a bundled corpus whose suggested level is char")
    args = p.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    home = tempfile.mkdtemp(prefix="lmtui-bench-first-step-")
    os.environ["LMTUI_HOME"] = home  # the runs these trials start go here, not to the user's folder
    trials: list[dict[str, Any]] = []
    for n in range(1 if args.quick else args.repeat):
        for mode in modes:
            result = asyncio.run(trial(mode == "warm", args.corpus))
            trials.append(result)
            print(f"  {n + 1}/{args.repeat} {mode:4}: started {result['started_s']:.2f} s, "
                  f"first step {result['first_step_s']:.2f} s"
                  + (" (the child started ahead)" if result["used_warm_child"] else ""), flush=True)
    print(f"\nCtrl+T to the first step of the quick char LSTM on {trials[0]['corpus']}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end\n")
    print(f"{'mode':6} {'trials':>6} {'started (median)':>17} {'first step (median)':>20} {'min':>6} "
          f"{'max':>6}")
    summary = {}
    for mode in modes:
        rows = [t for t in trials if t["mode"] == mode]
        steps = [t["first_step_s"] for t in rows]
        summary[mode] = {"first_step_median_s": median(steps), "first_step_min_s": min(steps),
                         "first_step_max_s": max(steps),
                         "started_median_s": median([t["started_s"] for t in rows])}
        print(f"{mode:6} {len(rows):>6} {summary[mode]['started_median_s']:>15.2f} s "
              f"{summary[mode]['first_step_median_s']:>18.2f} s {min(steps):>5.2f}s {max(steps):>5.2f}s")
    write_json(args.json, "app_first_step", {"summary": summary, "trials": trials})


if __name__ == "__main__":
    main()
