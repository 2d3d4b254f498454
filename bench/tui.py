"""TUI responsiveness in-process (issue 8): from a key reaching the app to the frame showing its effect.

The real app (``make_app(tune_gc=True)``, as ``lmtui`` runs it) runs in this process with Textual's own
Linux driver on a pseudo-terminal (120x40) whose other end this script types into and reads (and throws
away), while a training child (``lmtui train scripts``, the default char LSTM, 150 s) streams events to it.
Only this script hooks the driver (a subclass, passed as ``driver_class``): nothing in lmtui is changed.

One latency runs from the moment the driver's input thread hands the parsed key to the app
(``process_message``) to the moment the driver is given the first frame (``write``, on the app's thread)
rendered from a state that shows the key's effect, which is checked in the app at that write:

* in-screen key: ↓/↑ in the corpus list, until a frame shows the highlight moved *and* the newly
  highlighted text's title, stats and preview (``first`` is the highlight alone);
* screen switch: F5, F3, F2, F3 (runs, dashboard, new run, dashboard), until a frame that draws the new
  screen whole (every row);
* the floor: ``x`` in the corpus list (bound to nothing, so it draws no frame), until the app has finished
  with it (the key has bubbled from the list up to the app, which found no binding). It is what every key
  pays before its effect begins: the wait in the app's queue behind trainer events and repaints.

Nothing here waits for quiet: the measure's own cost is two clock reads per key and a check per frame.
Textual renders the terminal output only with a real driver (a headless app skips it), so this also counts
the cost of turning the frame into escape codes, which Pilot's measures did not.

For each key it keeps the UI process's CPU time (all threads) and what happened between the key and its
frame: garbage-collector pauses, frames written, trainer events received; the slowest keys are printed
with them, which is how the tail outliers are found. ``--profile FILE`` runs the switches under cProfile.

    python bench/tui.py [--presses 40] [--no-train] [--json out.json] [--profile switches.prof]
"""

from __future__ import annotations

import fcntl
import gc
import os
import struct
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from common import median, parser, write_json

# common puts this checkout first on the path: an lmtui named by PYTHONPATH (comparing versions) goes first
sys.path[:0] = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]

KEYS = {"down": b"\x1b[B", "up": b"\x1b[A", "x": b"x", "f2": b"\x1bOQ", "f3": b"\x1bOR", "f4": b"\x1bOS",
        "f5": b"\x1b[15~", "f6": b"\x1b[17~"}
SWITCHES = [("f5", "RunsScreen"), ("f3", "TrainingScreen"), ("f2", "CorpusScreen"), ("f3", "TrainingScreen")]
# --every-screen: the playground (F4, no run opened) and Compare (F6) too
EVERY_SCREEN = [("f5", "RunsScreen"), ("f3", "TrainingScreen"), ("f4", "PlaygroundScreen"),
                ("f6", "CompareScreen"), ("f2", "CorpusScreen"), ("f3", "TrainingScreen")]
SIZE = (120, 40)
TRAIN_SECONDS = 150  # long enough to be still training at the last key (stopped then)
FRAME_BYTES = 64  # smaller writes are terminal modes and sync markers, not frames


@dataclass
class Probe:
    """One key on its way: its endpoints are checked in the app, at each frame the driver is given."""

    kind: str
    key: str
    target: str  # the screen, or the corpus, it should lead to
    first: Callable[[Any, str], bool] | None  # (app, frame): the frame shows the start of its effect
    done: Callable[[Any, str], bool] | None  # ... all of it (None: no frame expected)
    t0: float | None = None
    c0: float | None = None
    t_first: float | None = None
    t_done: float | None = None
    c_done: float | None = None
    frames: int = 0
    done_bytes: int = 0  # the size of the frame that showed it
    finished: threading.Event = field(default_factory=threading.Event)


class Recorder:
    """What the hooks saw: the probe in flight, garbage-collector pauses, trainer events, frames."""

    def __init__(self) -> None:
        self.probe: Probe | None = None
        self.app: Any = None
        self.gc: list[tuple[float, float, int]] = []  # (start, end, generation)
        self.events: list[float] = []  # trainer events, when the app read them from the child
        self.frames: list[tuple[float, int]] = []  # (time, bytes)
        self._gc_start = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self.gc.append((self._gc_start, time.perf_counter(), info["generation"]))

    def key(self, name: str) -> None:  # the driver's input thread
        probe = self.probe
        if probe is not None and probe.t0 is None and name == probe.key:
            probe.c0, probe.t0 = time.process_time(), time.perf_counter()

    def frame(self, data: str) -> None:  # the app's thread, as the driver is given a frame
        now, size = time.perf_counter(), len(data)
        self.frames.append((now, size))
        probe = self.probe
        if probe is None or probe.t0 is None or probe.first is None or probe.finished.is_set():
            return
        probe.frames += 1
        if probe.t_first is None and probe.first(self.app, data):
            probe.t_first = now
        if probe.t_first is not None and probe.done(self.app, data):  # type: ignore[misc]
            probe.t_done, probe.c_done, probe.done_bytes = now, time.process_time(), size
            probe.finished.set()

    def handled(self, name: str) -> None:  # the app's thread: a key bound to nothing came back to the app
        probe = self.probe
        if probe is not None and probe.first is None and probe.t0 is not None and name == probe.key:
            probe.t_done = probe.t_first = time.perf_counter()
            probe.c_done = time.process_time()
            probe.finished.set()


def timed_driver(recorder: Recorder) -> type:
    """Textual's Linux driver, telling ``recorder`` when a key reaches the app and a frame leaves it."""
    from textual import events
    from textual.drivers.linux_driver import LinuxDriver

    class TimedDriver(LinuxDriver):
        def process_message(self, message: Any) -> None:
            if isinstance(message, events.Key):
                recorder.key(message.key)
            super().process_message(message)

        def write(self, data: str) -> None:
            super().write(data)
            if len(data) >= FRAME_BYTES:
                recorder.frame(data)

    return TimedDriver


def hook_app(app: Any, recorder: Recorder) -> None:
    """Note when a key has been through the app (for the floor) and when trainer events arrive."""
    from textual import events

    dispatch = app._dispatch_message

    async def timed_dispatch(message: Any) -> None:
        await dispatch(message)
        if isinstance(message, events.Key) and message.is_forwarded:  # back at the app after bubbling up
            recorder.handled(message.key)

    app._dispatch_message = timed_dispatch


def open_terminal() -> tuple[int, int]:
    """A pseudo-terminal of SIZE on this process's stdin/stdout/stderr; returns (master, saved stdout)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    saved = os.dup(1)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(slave)

    def drain() -> None:  # what a terminal would show; nobody looks
        try:
            while os.read(master, 1 << 16):
                pass
        except OSError:
            pass

    threading.Thread(target=drain, daemon=True, name="bench-drain").start()
    return master, saved


def corpus_state(screen: Any, index: int) -> tuple[Callable[[Any, str], bool], Callable[[Any, str], bool]]:
    options = screen.query_one("#corpora")
    target = options.get_option_at_index(index).id

    def first(app: Any, frame: str) -> bool:
        return app.screen is screen and options.highlighted == index

    def done(app: Any, frame: str) -> bool:
        loaded = getattr(screen, "loaded", None)
        return first(app, frame) and loaded is not None and getattr(loaded, "spec", None) == target

    return first, done


def screen_name(app: Any) -> str | None:
    """The class name of the screen shown (None before the first one)."""
    from textual.app import ScreenStackError

    try:
        return type(app.screen).__name__
    except ScreenStackError:
        return None


def on_screen(name: str) -> Callable[[Any, str], bool]:
    """The frame is the named screen, drawn whole: it moves the cursor to the start of every row (a frame of
    a few changed widgets does not, so a glimpse of the new screen over the old one does not count)."""
    rows = [f"\x1b[{row};1H" for row in range(1, SIZE[1] + 1)]
    return lambda app, frame: screen_name(app) == name and all(row in frame for row in rows)


class Typist:
    """Types the keys from its own thread, one at a time, and keeps each probe."""

    def __init__(self, app: Any, recorder: Recorder, master: int, args: Any) -> None:
        self.app, self.recorder, self.master, self.args = app, recorder, master, args
        self.probes: dict[str, list[Probe]] = {"in_screen": [], "switch": [], "floor": []}
        self.error: str | None = None
        self.training = False

    def press(self, probe: Probe) -> Probe:
        self.recorder.probe = probe
        os.write(self.master, KEYS[probe.key])
        if not probe.finished.wait(5.0):
            probe.t_done = None
        self.recorder.probe = None
        time.sleep(0.3)  # as bench/tui_tmux.py: let the screen settle before the next key
        return probe

    def call(self, fn: Callable[[], Any]) -> Any:
        return self.app.call_from_thread(fn)

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # reported after the app is gone
            import traceback

            self.error = traceback.format_exc() or str(exc)
        finally:
            if self.app.trainer is not None and self.app.trainer.running:
                self.call(self.app.trainer.stop)
                time.sleep(1.0)
            self.app.call_from_thread(self.app.exit)

    def _run(self) -> None:
        deadline = time.monotonic() + 60
        while screen_name(self.app) != "CorpusScreen":
            if time.monotonic() > deadline:
                raise RuntimeError("the app did not show the corpus screen within 60 s")
            time.sleep(0.1)
        time.sleep(8 if self.args.train else 2)  # the child imports torch and starts training
        screen = self.call(lambda: self.app.screen)
        for key in ("down", "up", "down", "up"):  # both texts read once (later keys find them cached)
            os.write(self.master, KEYS[key])
            time.sleep(1.0)
        n = self.args.presses
        for i in range(n):
            index = 1 if i % 2 == 0 else 0
            first, done = self.call(lambda index=index: corpus_state(screen, index))
            key = "down" if i % 2 == 0 else "up"
            self.probes["in_screen"].append(self.press(Probe("in_screen", key, str(index), first, done)))
        for _ in range(n):
            self.probes["floor"].append(self.press(Probe("floor", "x", "", None, None)))
        profile = None
        if self.args.profile:
            import cProfile

            profile = cProfile.Profile()
            self.call(lambda: profile.enable())  # on the app's thread, where the work is
        for i in range(n):
            key, name = SWITCHES[i % len(SWITCHES)]
            shown = on_screen(name)
            self.probes["switch"].append(self.press(Probe("switch", key, name, shown, shown)))
        if profile is not None:
            self.call(lambda: profile.disable())
            profile.dump_stats(self.args.profile)
        self.training = bool(self.app.trainer and self.app.trainer.running)


def summary(values: list[float]) -> dict:
    lat = sorted(values)
    if not lat:
        return {"presses": 0}
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
    return {"presses": len(lat), "median_ms": median(lat) * 1000, "p95_ms": p95 * 1000,
            "max_ms": lat[-1] * 1000}


def window(recorder: Recorder, probe: Probe) -> dict:
    """What happened between a key reaching the app and its frame."""
    t0, t1 = probe.t0 or 0.0, probe.t_done or 0.0
    pauses = [(end - start, gen) for start, end, gen in recorder.gc if start < t1 and end > t0]
    return {"ms": (t1 - t0) * 1000, "cpu_ms": ((probe.c_done or 0) - (probe.c0 or 0)) * 1000,
            "gc_ms": sum(p for p, _ in pauses) * 1000, "gc_full": sum(1 for _, g in pauses if g == 2),
            "frames": sum(1 for t, _ in recorder.frames if t0 < t <= t1),
            "frames_at_ms": [round((t - t0) * 1000, 1) for t, _ in recorder.frames if t0 < t <= t1],
            "trainer_events": sum(1 for t in recorder.events if t0 < t <= t1)}


def report(typist: Typist, recorder: Recorder) -> dict:
    out: dict[str, Any] = {}
    for kind, probes in typist.probes.items():
        ok = [p for p in probes if p.t0 is not None and p.t_done is not None]
        out[kind] = summary([p.t_done - p.t0 for p in ok])  # type: ignore[operator]
        out[kind]["missed"] = len(probes) - len(ok)
        out[kind]["cpu"] = summary([p.c_done - p.c0 for p in ok])  # type: ignore[operator]
        if kind == "in_screen":
            out[kind]["first"] = summary([p.t_first - p.t0 for p in ok])  # type: ignore[operator]
        if kind == "switch":
            out[kind]["to"] = {name: summary([p.t_done - p.t0 for p in ok if p.target == name])  # type: ignore[operator]
                               for name in dict.fromkeys(n for _, n in SWITCHES)}
        slowest = sorted(ok, key=lambda p: p.t_done - p.t0, reverse=True)[:4]  # type: ignore[operator]
        out[kind]["slowest"] = [{"press": probes.index(p), "target": p.target, "bytes": p.done_bytes,
                                 **window(recorder, p)}
                                for p in slowest]
    out["still_training_at_end"] = typist.training
    out["load_average"] = os.getloadavg()
    out["gc_pauses"] = gc_summary(recorder, typist)
    return out


def gc_summary(recorder: Recorder, typist: Typist) -> dict:
    """The collections by kind, and the longest ones with what they fell on: start-up, between keys, or
    a key's window (its kind and press number)."""
    windows = [(p.t0, p.t_done, f"{kind} {i}") for kind, probes in typist.probes.items()
               for i, p in enumerate(probes) if p.t0 is not None and p.t_done is not None]
    first = min((w[0] for w in windows), default=float("inf"))

    def fell_on(start: float, end: float) -> str:
        hit = next((name for t0, t1, name in windows if start < t1 and end > t0), None)
        return hit or ("start-up" if start < first else "between keys")

    longest = sorted(recorder.gc, key=lambda c: c[0] - c[1])[:5]
    return {"count": len(recorder.gc),
            "full_ms": [round((e - s) * 1000, 1) for s, e, g in recorder.gc if g == 2],
            "longest": [{"ms": round((e - s) * 1000, 1), "generation": g, "on": fell_on(s, e)}
                        for s, e, g in longest]}


def count_trainer_events(recorder: Recorder) -> None:
    """Note each trainer event as the app reads it from the child (any lmtui version: the class is hooked)."""
    from lmtui.tui.trainer_process import TrainerEvent

    original = TrainerEvent.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        recorder.events.append(time.perf_counter())

    TrainerEvent.__init__ = init  # type: ignore[method-assign]


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--presses", type=int, default=40)
    p.add_argument("--no-train", action="store_true", help="the same key presses with nothing training")
    p.add_argument("--profile", help="write a cProfile of the switches to this file")
    p.add_argument("--every-screen", action="store_true",
                   help="switch among all six screens (F5 F3 F4 F6 F2 F3), not only runs/dashboard/new run")
    args = p.parse_args()
    args.train = not args.no_train
    if args.every_screen:
        SWITCHES[:] = EVERY_SCREEN
    home = os.environ.setdefault("LMTUI_HOME", tempfile.mkdtemp(prefix="lmtui-tui-bench-"))
    os.environ.setdefault("TERM", "xterm-256color")
    os.environ.setdefault("COLORTERM", "truecolor")

    import lmtui
    from lmtui.tui.app import make_app, stop_child

    recorder = Recorder()
    master, saved = open_terminal()
    try:
        app = make_app(tune_gc=True, driver_class=timed_driver(recorder))
    except TypeError:  # an lmtui from before tune_gc (comparing versions)
        app = make_app(driver_class=timed_driver(recorder))
    recorder.app = app
    hook_app(app, recorder)
    count_trainer_events(recorder)

    async def begin() -> None:
        if args.train:
            await app.start_training([sys.executable, "-m", "lmtui", "train", "scripts", "--events", "jsonl",
                                      "--max-seconds", str(TRAIN_SECONDS), "--name", "tui-bench"])
        await app.switch_mode("corpus")

    typist = Typist(app, recorder, master, args)
    app.call_later(begin)
    threading.Thread(target=typist.run, daemon=True, name="bench-typist").start()
    try:
        app.run()
    finally:
        stop_child(app.trainer)
        os.dup2(saved, 1)
        os.dup2(saved, 2)
    if typist.error:
        raise SystemExit(typist.error)
    r = report(typist, recorder)
    while_training = "" if args.no_train else " while training"
    for kind, label in (("in_screen", "in-screen key (corpus list)"), ("switch", "screen switch"),
                        ("floor", "a key bound to nothing (the floor)")):
        x, c = r[kind], r[kind]["cpu"]
        if not x["presses"]:
            print(f"{label}: no key measured ({x['missed']} missed)")
            continue
        print(f"{label}{while_training}: median {x['median_ms']:.1f} ms, p95 {x['p95_ms']:.1f} ms, "
              f"max {x['max_ms']:.1f} ms over {x['presses']} presses ({x['missed']} missed); "
              f"UI CPU median {c['median_ms']:.1f} ms, p95 {c['p95_ms']:.1f} ms")
        if kind == "in_screen":
            f = x["first"]
            print(f"  the highlight alone: median {f['median_ms']:.1f} ms, p95 {f['p95_ms']:.1f} ms")
        for name, t in x.get("to", {}).items():
            if t["presses"]:
                print(f"  to {name}: median {t['median_ms']:.1f} ms, p95 {t['p95_ms']:.1f} ms, "
                      f"max {t['max_ms']:.1f} ms")
        for s in x["slowest"]:
            print(f"  slow: press {s['press']} {s['target']}: {s['ms']:.1f} ms, CPU {s['cpu_ms']:.1f} ms, "
                  f"gc {s['gc_ms']:.1f} ms ({s['gc_full']} full), {s['frames']} frames, "
                  f"{s['trainer_events']} trainer events, frames at {s['frames_at_ms']} ms "
                  f"(the last {s['bytes']:,} bytes)")
    g = r["gc_pauses"]
    longest = ", ".join(f"{c['ms']} ms (gen {c['generation']}, {c['on']})" for c in g["longest"])
    print(f"gc: {g['count']} collections, the full ones {g['full_ms']} ms; longest: {longest}")
    print(f"training still running at the end: {r['still_training_at_end']}; load average "
          + ", ".join(f"{v:.1f}" for v in r["load_average"]))
    print(f"lmtui from {os.path.dirname(lmtui.__file__)}; LMTUI_HOME {home}")
    write_json(args.json, "tui", r)


if __name__ == "__main__":
    main()
