"""TUI responsiveness in a real terminal (issue 5.6): key press -> first visible change, read from tmux.

The app runs in a tmux pane (120x40) exactly as `lmtui` does; a small launcher starts a training child
first (`lmtui train scripts`, the default char LSTM, 60 s budget) and then shows the corpus screen. Each
measurement sends ↓ or ↑ to the corpus list with `tmux send-keys` and polls `tmux capture-pane -e` (with
colours, so the moved highlight counts) until the pane differs from before the key. One capture takes a
few milliseconds, which this figure includes: it is what a person watching the terminal would see.
Screen switches are timed the same way: F5, F3, F2, F3 (runs, dashboard, new run, dashboard), until the
header names the new screen (Textual draws a screen in one frame, so that is when the screen is there).

    python bench/tui_tmux.py [--presses 40] [--no-train] [--json out.json]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

from common import median, parser, write_json

LAUNCH = """
import sys
from lmtui.tui.app import make_app, stop_child

TRAIN = {train!r}
try:
    app = make_app(tune_gc=True)  # as `lmtui` runs it
except TypeError:  # an lmtui from before tune_gc (comparing versions)
    app = make_app()


async def begin() -> None:
    if TRAIN:
        await app.start_training([sys.executable, "-m", "lmtui", "train", "scripts", "--events", "jsonl",
                                  "--max-seconds", "60", "--name", "tui-latency"])
    await app.switch_mode("corpus")


app.call_later(begin)
try:
    app.run()
finally:
    stop_child(app.trainer)
"""


SWITCHES = [("F5", "lmtui — Runs"), ("F3", "lmtui — Training"), ("F2", "lmtui — 1 · Choose a text"),
            ("F3", "lmtui — Training")]
# --every-screen: the playground (F4, no run opened) and Compare (F6) too
EVERY_SCREEN = [("F5", "lmtui — Runs"), ("F3", "lmtui — Training"), ("F4", "lmtui — Playground"),
                ("F6", "lmtui — Compare models"), ("F2", "lmtui — 1 · Choose a text"),
                ("F3", "lmtui — Training")]


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def measure(presses: int, train: bool) -> dict:
    session = f"lmtui-latency-{os.getpid()}"
    home = tempfile.mkdtemp(prefix="lmtui-tui-tmux-")
    script = os.path.join(home, "launch.py")
    with open(script, "w", encoding="utf-8") as fh:
        fh.write(LAUNCH.format(train=train))
    path = f"PYTHONPATH={os.environ['PYTHONPATH']} " if os.environ.get("PYTHONPATH") else ""  # another lmtui
    cmd = f"LMTUI_HOME={home} {path}{sys.executable} {script}"
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", cmd)
    try:
        deadline = time.monotonic() + 60
        while "Choose a text" not in tmux("capture-pane", "-p", "-t", session):
            if time.monotonic() > deadline:
                raise SystemExit("the app did not show the corpus screen within 60 s")
            time.sleep(0.2)
        time.sleep(8 if train else 2)  # the child imports torch and starts training; the first corpus loads
        latencies = []
        for i in range(presses):
            before = tmux("capture-pane", "-p", "-e", "-t", session)
            t0 = time.perf_counter()
            tmux("send-keys", "-t", session, "Down" if i % 2 == 0 else "Up")
            while tmux("capture-pane", "-p", "-e", "-t", session) == before:
                if time.perf_counter() - t0 > 5:
                    break
            latencies.append(time.perf_counter() - t0)
            time.sleep(0.3)  # let the stats and preview settle before the next key
        switches = []
        for i in range(presses):
            key, title = SWITCHES[i % len(SWITCHES)]
            t0 = time.perf_counter()
            tmux("send-keys", "-t", session, key)
            while title not in tmux("capture-pane", "-p", "-t", session).split("\n", 1)[0]:
                if time.perf_counter() - t0 > 5:
                    break
            switches.append(time.perf_counter() - t0)
            time.sleep(0.3)
        # was the training child still at work when the last key was pressed?
        training = subprocess.run(["pgrep", "-f", "lmtui train scripts"], capture_output=True).returncode == 0
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        time.sleep(1)
        shutil.rmtree(home, ignore_errors=True)
    to: dict[str, list[float]] = {}
    for i, latency in enumerate(switches):
        to.setdefault(SWITCHES[i % len(SWITCHES)][1].split("— ")[1], []).append(latency)
    by_key = {screen: summary(times) for screen, times in to.items()}
    slowest = sorted(range(len(switches)), key=lambda i: switches[i], reverse=True)[:4]
    slow = [{"press": i, "to": SWITCHES[i % len(SWITCHES)][1].split("— ")[1], "ms": switches[i] * 1000}
            for i in slowest]  # press 0 shows Runs for the first time, press 1 the dashboard since start-up
    return {**summary(latencies), "switch": summary(switches), "switch_to": by_key, "slowest_switches": slow,
            "training": training, "load_average": os.getloadavg()}


def summary(latencies: list[float]) -> dict:
    lat = sorted(latencies)
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
    ms = {"median_ms": median(lat) * 1000, "p95_ms": p95 * 1000, "max_ms": lat[-1] * 1000}
    return {"presses": len(lat), **ms}


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--presses", type=int, default=40)
    p.add_argument("--no-train", action="store_true", help="the same key presses with nothing training")
    p.add_argument("--every-screen", action="store_true",
                   help="switch among all six screens (F5 F3 F4 F6 F2 F3), not only runs/dashboard/new run")
    args = p.parse_args()
    if args.every_screen:
        SWITCHES[:] = EVERY_SCREEN
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is not installed (apt-get install tmux)")
    r = measure(args.presses, not args.no_train)
    print(
        f"key -> first visible change in tmux{'' if args.no_train else ' while training'}: "
        f"median {r['median_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, max {r['max_ms']:.1f} ms "
        f"over {r['presses']} presses (training child alive at the end: {r['training']})"
    )
    x = r["switch"]
    print(
        f"screen switch -> new screen drawn in tmux: median {x['median_ms']:.1f} ms, "
        f"p95 {x['p95_ms']:.1f} ms, max {x['max_ms']:.1f} ms over {x['presses']} presses; load average "
        + ", ".join(f"{v:.1f}" for v in r["load_average"])
    )
    for screen, x in r["switch_to"].items():
        print(f"  to {screen}: median {x['median_ms']:.1f} ms, max {x['max_ms']:.1f} ms")
    print("  slowest: " + ", ".join(f"press {s['press']} to {s['to']} {s['ms']:.0f} ms"
                                    for s in r["slowest_switches"]))
    write_json(args.json, "tui_tmux", r)


if __name__ == "__main__":
    main()
