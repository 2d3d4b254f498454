"""TUI responsiveness (issue 5.6): key press -> screen change while a run trains, with Textual's Pilot.

The real app (``make_app()``) runs headless at 120x40; a training child (``lmtui train scripts``, the default
char LSTM, streaming JSONL events to the dashboard) starts first. Two kinds of key press are timed:

* in-screen keys: ↓/↑ in the corpus list (the highlight moves, the corpus's stats and preview follow); one
  latency = from ``pilot.press`` until the highlight has moved and the pending messages, the repaint
  included, are processed (``pilot.pause()``);
* screen switches: F5 runs, F3 dashboard, F2 new run, F3 …; until the new mode's screen is active and
  processed likewise;
* the floor: a key that changes nothing (``x`` in the corpus list), timed the same way. It is what Pilot's
  own waiting costs (each press waits for the app to be idle for a 20 ms slice, twice): no key can be
  faster than this in this measure, so it is reported beside the others.

Reports median and 95th percentile of each, and the UI process's CPU time per press (``time.process_time``,
its threads included): wall times swing with whatever else runs on the machine, CPU time much less.

    python bench/tui.py [--presses 60] [--json out.json]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time

from common import median, parser, write_json


async def measure(presses: int, train_seconds: float, train: bool = True) -> dict:
    from lmtui.tui.app import make_app

    try:
        app = make_app(tune_gc=True)  # as `lmtui` runs it
    except TypeError:  # an lmtui from before tune_gc (comparing versions)
        app = make_app()
    latencies: list[float] = []
    cpu: dict[str, list[float]] = {"in_screen": [], "switch": [], "floor": []}
    async with app.run_test(size=(120, 40)) as pilot:
        argv = [
            sys.executable,
            "-m",
            "lmtui",
            "train",
            "scripts",
            "--events",
            "jsonl",
            "--max-seconds",
            str(train_seconds),
            "--name",
            f"tui-bench-{os.getpid()}",
        ]
        if train:
            await app.start_training(argv)
        await pilot.pause(3.0)  # the child is importing torch and reading the corpus; let it train
        await pilot.press("f2")
        await pilot.pause(1.0)
        corpora = app.screen.query_one("#corpora")
        in_screen: list[float] = []
        for i in range(presses):
            before = corpora.highlighted
            t0, c0 = time.perf_counter(), time.process_time()
            await pilot.press("down" if i % 2 == 0 else "up")
            while corpora.highlighted == before and time.perf_counter() - t0 < 5:
                await asyncio.sleep(0.0005)
            await pilot.pause()
            in_screen.append(time.perf_counter() - t0)
            cpu["in_screen"].append(time.process_time() - c0)
            await asyncio.sleep(0.05)
        floor: list[float] = []
        for _ in range(presses):
            t0, c0 = time.perf_counter(), time.process_time()
            await pilot.press("x")  # nothing is bound to it and the list does not search
            await pilot.pause()
            floor.append(time.perf_counter() - t0)
            cpu["floor"].append(time.process_time() - c0)
            await asyncio.sleep(0.05)
        cycle = ["f5", "f3", "f2", "f3"]
        for i in range(presses):
            key = cycle[i % len(cycle)]
            before = app.screen
            t0, c0 = time.perf_counter(), time.process_time()
            await pilot.press(key)
            while app.screen is before and time.perf_counter() - t0 < 5:
                await asyncio.sleep(0.0005)
            await pilot.pause()
            latencies.append(time.perf_counter() - t0)
            cpu["switch"].append(time.process_time() - c0)
            await asyncio.sleep(0.05)
        training = bool(app.trainer and app.trainer.running)
        if app.trainer and app.trainer.running:
            app.trainer.stop()
            await pilot.pause(1.0)
    return {"in_screen": summary(in_screen), "switch": summary(latencies), "floor": summary(floor),
            "cpu": {kind: summary(times) for kind, times in cpu.items()},
            "still_training_at_end": training, "load_average": os.getloadavg()}


def summary(latencies: list[float]) -> dict:
    lat = sorted(latencies)
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
    ms = {"median_ms": median(lat) * 1000, "p95_ms": p95 * 1000, "max_ms": lat[-1] * 1000}
    return {"presses": len(lat), **ms}


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--presses", type=int, default=60)
    p.add_argument("--no-train", action="store_true", help="the same key presses with nothing training")
    args = p.parse_args()
    os.environ.setdefault("LMTUI_HOME", tempfile.mkdtemp(prefix="lmtui-tui-bench-"))
    r = asyncio.run(measure(args.presses, 60.0, not args.no_train))
    for kind, label in (("in_screen", "in-screen key (corpus list)"), ("switch", "screen switch"),
                        ("floor", "a key that changes nothing (the floor)")):
        x = r[kind]
        c = r["cpu"][kind]
        print(
            f"{label}{'' if args.no_train else ' while training'}: median {x['median_ms']:.1f} ms, "
            f"p95 {x['p95_ms']:.1f} ms, max {x['max_ms']:.1f} ms over {x['presses']} presses; "
            f"UI CPU per press median {c['median_ms']:.1f} ms, p95 {c['p95_ms']:.1f} ms"
        )
    print(f"training still running at the end: {r['still_training_at_end']}")
    print("load average at the end: " + ", ".join(f"{x:.1f}" for x in r["load_average"]))
    write_json(args.json, "tui", r)


if __name__ == "__main__":
    main()
