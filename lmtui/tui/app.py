"""The lmtui app: modes for the corpus → model journey, the training dashboard, the playground and the runs.

Each mode keeps its own screen stack, so training keeps being drawn on its dashboard while you look at
runs or play with another model. The app owns the training child so quitting can stop it cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import queue
import signal
import threading
import time
from collections.abc import Iterable
from functools import partial
from typing import Any

from textual import events
from textual.actions import parse as parse_action
from textual.app import SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen

from lmtui.control import silence_terminal
from lmtui.tui.modes import QuickModes, mode_screen
from lmtui.tui.screens.compare import CompareScreen
from lmtui.tui.screens.corpus import CorpusScreen
from lmtui.tui.screens.playground import PlaygroundScreen
from lmtui.tui.screens.runs import RunsScreen
from lmtui.tui.screens.too_small import TooSmallScreen, too_small
from lmtui.tui.screens.training import TrainingScreen
from lmtui.tui.trainer_process import TrainerChild, TrainerExited, TrainerProcess
from lmtui.tui.widgets.keys_panel import KeysPanel
from lmtui.visible import visible_line, visible_text

PREBUILD_AFTER, PREBUILD_EVERY = 0.5, 0.25  # seconds: after the first screen is up, one screen at a time
WARM_AGAIN_AFTER = 1.0  # seconds after a training child ended: the next one starts loading torch
HANGUP_GRACE = 10.0  # seconds; a stopped child ends in 1-3 (BENCHMARKS.md section 8)
MODE_TITLES = {"corpus": "New run", "training": "Training", "playground": "Playground", "runs": "Runs",
               "compare": "Compare"}


def unblock_dead_writer(writer: Any) -> bool:
    """If Textual's writer thread has died (a write to the hung-up terminal failed), empty its bounded queue
    and give it an unbounded one, so that neither a write nor the driver's close() (which puts a last item,
    then joins) waits for a reader that is gone. A live writer is left alone: it reads its queue still."""
    pending = getattr(writer, "_queue", None)
    if writer is None or writer.is_alive() or not isinstance(pending, queue.Queue):
        return False
    if pending.maxsize:
        writer._queue = queue.Queue()
    with contextlib.suppress(queue.Empty):
        while True:
            pending.get_nowait()
    return True


def watch_hang_up(writer: Any, grace: float, every: float = 0.05) -> None:
    """After a hang-up: unblock the writer whenever it dies (it may die after the hang-up is handled, on a
    write already under way) and end the process with 129 (128 + SIGHUP) if it is still alive after
    ``grace`` seconds. A daemon thread: a normal exit does not wait for it."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        unblock_dead_writer(writer)
        time.sleep(every)
    os._exit(129)


class LmtuiApp(QuickModes):
    """Train small language models on a text, watch them learn, and sample from them."""

    # Every screen's stylesheet, read once at start: a screen with its own CSS_PATH makes Textual re-parse all
    # CSS and restyle every screen the first time it shows, a large part of a screen switch's latency
    # (BENCHMARKS.md section 6). Each screen's rules are scoped by its class name (CorpusScreen #choices …).
    CSS_PATH = ["app.tcss", *(f"screens/{name}.tcss" for name in ("corpus", "model", "training", "playground",
                                                                   "runs"))]
    TITLE = "lmtui"
    MODE_SCREENS: dict[str, type[Screen]] = {"corpus": CorpusScreen, "training": TrainingScreen,
                                             "playground": PlaygroundScreen, "runs": RunsScreen,
                                             "compare": CompareScreen}
    MODES = {mode: mode_screen(screen) for mode, screen in MODE_SCREENS.items()}
    DEFAULT_MODE = "corpus"
    PREBUILT: tuple[str, ...] = ("training", "runs", "playground", "compare")  # built before their first show
    BINDINGS = [
        Binding("f1", "toggle_keys", "Keys", tooltip="Show or hide every key of this screen"),
        Binding("f2", "new_run", "New", tooltip="Choose a text and a model to train"),
        Binding("f3", "switch_mode('training')", "Train", tooltip="The training dashboard"),
        Binding("f4", "switch_mode('playground')", "Play", tooltip="Sample from a trained model"),
        Binding("f5", "switch_mode('runs')", "Runs", tooltip="Trained runs: open, resume, delete"),
        Binding("f6", "switch_mode('compare')", "Compare", tooltip="The perplexity table"),
        Binding("ctrl+q", "quit", "Quit", priority=True, tooltip="Quit (training is stopped and saved)"),
    ]

    def __init__(self, mode: str | None = None, run: str | None = None, tune_gc: bool = False,
                 warm_trainers: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tune_gc = tune_gc  # the real app's process only: freezing in a test process would keep every app
        # Keep a training child waiting, torch loaded, so Ctrl+T's first step comes at once (the real app's;
        # a test turns it on where it tests it: each child costs ~1.5 s of CPU and ~250 MB).
        self.warm_trainers = warm_trainers
        self.warm_trainer: TrainerChild | None = None
        self.start_mode = mode or self.DEFAULT_MODE
        self.start_run = run
        self.trainer: TrainerProcess | None = None
        self._quitting = False
        self._settled_modes: set[str] = set()

    async def on_mount(self) -> None:
        hangup = getattr(signal, "SIGHUP", None)  # Windows has none: there the child's stdin ends instead
        if hangup is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                # The terminal went away: stop training (it saves a checkpoint) instead of orphaning it.
                asyncio.get_running_loop().add_signal_handler(hangup, self._hang_up)
        if self.start_run:
            await self.open_playground(self.start_run)
        elif self.start_mode != self.current_mode:
            await self.switch_mode(self.start_mode)
        self._check_size()
        self._settled_modes.add(self.current_mode)
        if self.tune_gc:
            self.call_after_refresh(self._settle_memory, collect=True)
        for n, mode in enumerate(self.PREBUILT):
            self.set_timer(PREBUILD_AFTER + n * PREBUILD_EVERY, partial(self._prebuild, mode))
        if self.warm_trainers:  # in the next idle moment, once the screens are built
            self.set_timer(PREBUILD_AFTER + len(self.PREBUILT) * PREBUILD_EVERY, self.prepare_trainer)

    def _prebuild(self, mode: str) -> None:
        """Build a mode's screen ahead of its first show (modes.py), one per idle moment after start-up."""
        if self.prebuild_mode(mode):
            self._settle_mode(mode)

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._check_size)

    def _check_size(self) -> None:
        """Below 80x24 say how large the terminal must be (over whatever screen is shown) until it is."""
        small = too_small(*self.size)
        shown = isinstance(self.screen, TooSmallScreen)
        if small and not shown:
            self.push_screen(TooSmallScreen())
        elif shown and not small:
            self.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the terminal is too small, only quitting works (screens could not be drawn)."""
        blocked = action in ("switch_mode", "new_run", "toggle_keys")
        return not (blocked and isinstance(self.screen, TooSmallScreen))

    def _settle_memory(self, collect: bool = False) -> None:
        """Take what is built by now (modules, screens, their caches) out of the garbage collector's scans.

        A full collection walks every live object; with the app's tens of thousands it paused the UI for up
        to ~200 ms at random key presses (BENCHMARKS.md section 6). Frozen objects are never scanned (nor
        freed, hence one collection first at start-up, after the first screen is drawn). Young collections
        come every 10,000 new objects instead of 700: a repaint makes thousands (strips, segments), and
        fewer, larger collections cost less in all (the UI process only; training runs in its child).
        """
        if collect:
            gc.collect()
            gc.set_threshold(10_000, 10, 10)
        gc.freeze()

    def switch_mode(self, mode: str):  # type: ignore[no-untyped-def]
        """A mode's screen is built on its first show (unless built ahead): freeze it too once it is drawn."""
        done = super().switch_mode(mode)
        self._settle_mode(mode)
        return done

    def _settle_mode(self, mode: str) -> None:
        """Once a mode's screen is built, take it out of the collector's scans too (``_settle_memory``)."""
        if self.tune_gc and mode not in self._settled_modes:
            self._settled_modes.add(mode)
            self.call_after_refresh(self._settle_memory)

    def _hang_up(self) -> None:
        """The terminal is gone: stop the child (it saves in a second or two) and end, whatever blocks.

        Writes to a hung-up terminal fail, and Textual's writer thread dies of the first one; with its queue
        full, the driver's close() then waits for it forever (the app lived on for minutes with parent PID 1).
        So the terminal's file descriptors go to the null device (a writer still alive drains into it), and a
        watchdog thread keeps a writer that dies now or later from blocking the exit (``unblock_dead_writer``)
        and ends the process if a normal exit has not come within HANGUP_GRACE seconds; the child still stops
        and saves, its stdin closing.
        """
        if self.trainer:
            self.trainer.stop()
        if self.warm_trainer:
            self.warm_trainer.close()
        silence_terminal()
        writer = getattr(self._driver, "_writer_thread", None)  # Textual's, private: guarded
        watchdog = threading.Thread(target=watch_hang_up, args=(writer, HANGUP_GRACE), name="lmtui-hang-up",
                                    daemon=True)
        watchdog.start()
        self.exit()

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification (a screen's or a widget's come here too) shows its text as it is: not read as
        markup unless asked (a run or file name may hold "[/]"), control characters made visible (messages
        relay errors that quote files)."""
        super().notify(visible_text(message), title=visible_line(title), severity=severity, timeout=timeout,
                       markup=markup)

    def action_help_quit(self) -> None:
        """Textual's Ctrl+C hint, with the markup it needs asked for (notify reads none by default)."""
        for key, active in self.active_bindings.items():
            if active.binding.action in ("quit", "app.quit"):
                self.notify(f"Press [b]{key}[/b] to quit the app", title="Do you want to quit?", markup=True)
                return

    # -- the training child started ahead -----------------------------------------------------------------

    def prepare_trainer(self) -> None:
        """Start a ``lmtui trainer`` child that loads torch and waits for the next training (unless one waits,
        or a model trains: the next one starts when that ends, not beside it while it starts)."""
        if not self.warm_trainers or self._quitting or getattr(self, "_exit", False):  # Textual's: exiting
            return
        if (self.warm_trainer and self.warm_trainer.waiting) or (self.trainer and self.trainer.running):
            return
        self.run_worker(self._start_warm_trainer(), group="warm-trainer", exclusive=True, exit_on_error=False)

    async def _start_warm_trainer(self) -> None:
        if self.warm_trainer is not None:  # one that died waiting (nothing killed it here): reap it
            await self.warm_trainer.aclose()
            self.warm_trainer = None
        try:
            child = await TrainerChild.start()
        except OSError:
            return
        if self.warm_trainers:
            self.warm_trainer = child
        else:  # the app ended meanwhile
            await child.aclose()

    def take_trainer_child(self) -> TrainerChild | None:
        """The waiting child, for the training about to start (the next one starts when it ends)."""
        child, self.warm_trainer = self.warm_trainer, None
        return child

    def on_trainer_exited(self, message: TrainerExited) -> None:
        """A training child ended (its dashboard has seen it): have the next one ready in a moment."""
        if self.warm_trainers:
            self.set_timer(WARM_AGAIN_AFTER, self.prepare_trainer)

    # -- navigation the screens ask for ---------------------------------------------------------------------

    async def start_training(self, argv: list[str], resume: str | None = None) -> bool:
        """Show the dashboard and start a training child (one at a time)."""
        if self.trainer and self.trainer.running:
            self.notify("A model is training already: stop it on the training screen (F3) first.",
                        title="Busy", severity="warning")
            return False
        await self.switch_mode("training")
        screen = self.screen
        assert isinstance(screen, TrainingScreen)
        await screen.begin(argv, resume=resume)
        return True

    async def action_new_run(self) -> None:
        """F2 starts a new run from its first step (choosing a text), not where the last one was left."""
        await self.switch_mode("corpus")
        while len(self.screen_stack) > 1:
            await self.pop_screen()

    async def open_playground(self, name: str) -> None:
        await self.switch_mode("playground")
        screen = self.screen
        assert isinstance(screen, PlaygroundScreen)
        screen.open_run(name)

    def action_toggle_keys(self) -> None:
        """F1: this screen's keys first, then the app's, then the focused widget's (``KeysPanel``)."""
        if self.screen.query(KeysPanel):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_show_help_panel(self) -> None:
        """Textual's way to the keys shows the same panel as F1 (its own lists the focused widget's first)."""
        if not self.screen.query(KeysPanel):
            self.screen.mount(KeysPanel())

    def action_hide_help_panel(self) -> None:
        self.screen.query(KeysPanel).remove()

    # -- quitting -------------------------------------------------------------------------------------------

    async def action_quit(self) -> None:
        if self.trainer and self.trainer.running:
            if self._quitting:  # a second Ctrl+Q: do not wait any longer
                self.trainer.kill()
                self.exit()
                return
            self._quitting = True
            self.notify("Stopping training and saving its checkpoint…", title="Quitting", timeout=30)
            self.run_worker(self._stop_and_exit(), group="quit")
            return
        self.exit()

    async def on_unmount(self) -> None:
        """However the app ends (quit, an error, a test), its training child ends too, and one waiting."""
        self.warm_trainers = False
        if self.warm_trainer:
            await self.warm_trainer.aclose()
        if self.trainer and self.trainer.running:
            await self.trainer.shutdown()

    async def _stop_and_exit(self) -> None:
        assert self.trainer is not None
        await self.trainer.shutdown()
        self.exit()

    # -- command palette ------------------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for mode, title in MODE_TITLES.items():
            action = "new_run" if mode == "corpus" else f"switch_mode('{mode}')"
            yield SystemCommand(f"Go to: {title}", f"Switch to the {title.lower()} screen",
                                partial(self.run_action, action))
        for binding in getattr(screen, "BINDINGS", []):
            if isinstance(binding, Binding) and binding.description and applies(screen, binding.action):
                yield SystemCommand(binding.description, binding.tooltip or binding.description,
                                    partial(screen.run_action, binding.action))
        yield SystemCommand("Keys", "Show or hide every key of this screen (F1)", self.action_toggle_keys)
        yield from (c for c in super().get_system_commands(screen) if c.title != "Keys")  # Textual's panel


def applies(screen: Screen, action: str) -> bool:
    """Whether ``action`` does something now (the screen's ``check_action``: the footer hides, or shows
    dimmed, what does not), so the palette offers no Pause/resume for a finished run."""
    _, name, parameters = parse_action(action)
    return bool(screen.check_action(name, parameters))


def make_app(**kwargs: Any) -> LmtuiApp:
    """The app as the CLI runs it and as tests drive it (``mode=``, ``run=`` pick where it opens)."""
    return LmtuiApp(**kwargs)


def stop_child(trainer: TrainerProcess | TrainerChild | None, timeout: float = 8.0) -> None:
    """Last resort after the app's loop has ended: make sure no training child (nor one waiting for its job)
    outlives the app.

    Elsewhere than POSIX the child's stdin closes as this process ends, which stops and saves it (and ends
    a waiting one).
    """
    if trainer is None or trainer.process is None or trainer.process.returncode is not None:
        return
    if os.name != "posix":
        return
    pid = trainer.pid
    assert pid is not None
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # already reaped
            return
        if done:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def run_app(**kwargs: Any) -> None:
    """Entry point of bare ``lmtui``."""
    app = make_app(tune_gc=True, warm_trainers=True, **kwargs)
    try:
        app.run()
    finally:
        stop_child(app.warm_trainer)
        stop_child(app.trainer)
