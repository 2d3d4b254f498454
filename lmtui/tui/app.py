"""The lmtui app: modes for the corpus → model journey, the training dashboard, the playground and the runs.

Each mode keeps its own screen stack, so training keeps being drawn on its dashboard while you look at
runs or play with another model. The app owns the training child so quitting can stop it cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterable
from functools import partial
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from lmtui.tui.screens.compare import CompareScreen
from lmtui.tui.screens.corpus import CorpusScreen
from lmtui.tui.screens.playground import PlaygroundScreen
from lmtui.tui.screens.runs import RunsScreen
from lmtui.tui.screens.training import TrainingScreen
from lmtui.tui.trainer_process import TrainerProcess

MODE_TITLES = {"corpus": "New run", "training": "Training", "playground": "Playground", "runs": "Runs",
               "compare": "Compare"}


class LmtuiApp(App[None]):
    """Train small language models on a text, watch them learn, and sample from them."""

    CSS_PATH = "app.tcss"
    TITLE = "lmtui"
    MODES = {"corpus": CorpusScreen, "training": TrainingScreen, "playground": PlaygroundScreen,
             "runs": RunsScreen, "compare": CompareScreen}
    DEFAULT_MODE = "corpus"
    BINDINGS = [
        Binding("f1", "toggle_keys", "Keys", tooltip="Show or hide every key of this screen"),
        Binding("f2", "switch_mode('corpus')", "New", tooltip="Choose a text and a model to train"),
        Binding("f3", "switch_mode('training')", "Train", tooltip="The training dashboard"),
        Binding("f4", "switch_mode('playground')", "Play", tooltip="Sample from a trained model"),
        Binding("f5", "switch_mode('runs')", "Runs", tooltip="Trained runs: open, resume, delete"),
        Binding("f6", "switch_mode('compare')", "Compare", tooltip="The perplexity table"),
        Binding("ctrl+q", "quit", "Quit", priority=True, tooltip="Quit (training is stopped and saved)"),
    ]

    def __init__(self, mode: str | None = None, run: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_mode = mode or self.DEFAULT_MODE
        self.start_run = run
        self.trainer: TrainerProcess | None = None
        self._quitting = False

    async def on_mount(self) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            # The terminal went away: stop training (it saves a checkpoint) instead of orphaning it.
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._hang_up)
        if self.start_run:
            await self.open_playground(self.start_run)
        elif self.start_mode != self.current_mode:
            await self.switch_mode(self.start_mode)

    def _hang_up(self) -> None:
        if self.trainer:
            self.trainer.stop()
        self.exit()

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

    async def open_playground(self, name: str) -> None:
        await self.switch_mode("playground")
        screen = self.screen
        assert isinstance(screen, PlaygroundScreen)
        screen.open_run(name)

    def action_toggle_keys(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

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
        """However the app ends (quit, an error, a test), the training child ends with it."""
        if self.trainer and self.trainer.running:
            await self.trainer.shutdown()

    async def _stop_and_exit(self) -> None:
        assert self.trainer is not None
        await self.trainer.shutdown()
        self.exit()

    # -- command palette ------------------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for mode, title in MODE_TITLES.items():
            yield SystemCommand(f"Go to: {title}", f"Switch to the {title.lower()} screen",
                                partial(self.run_action, f"switch_mode('{mode}')"))
        for binding in getattr(screen, "BINDINGS", []):
            if isinstance(binding, Binding) and binding.description:
                yield SystemCommand(binding.description, binding.tooltip or binding.description,
                                    partial(screen.run_action, binding.action))
        yield from super().get_system_commands(screen)


def make_app(**kwargs: Any) -> LmtuiApp:
    """The app as the CLI runs it and as tests drive it (``mode=``, ``run=`` pick where it opens)."""
    return LmtuiApp(**kwargs)


def stop_child(trainer: TrainerProcess | None, timeout: float = 20.0) -> None:
    """Last resort after the app's loop has ended: make sure no training child outlives the app."""
    if trainer is None or trainer.process is None or trainer.process.returncode is not None:
        return
    pid = trainer.pid
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
    app = make_app(**kwargs)
    try:
        app.run()
    finally:
        stop_child(app.trainer)
