"""The app drives its training child over stdin, so it works where POSIX signals do not exist (Windows)."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest
from tui_helpers import fake_paused_at, run_async, wait_for

from lmtui.tui.app import make_app
from lmtui.tui.trainer_process import resume_argv, train_argv

FAKE_TRAINER = str(Path(__file__).with_name("fake_trainer.py"))


@pytest.fixture
def no_posix_signals(monkeypatch: pytest.MonkeyPatch) -> None:
    """This platform, as the app sees it, has no SIGHUP, SIGUSR1 or SIGUSR2 (like Windows)."""
    for name in ("SIGHUP", "SIGUSR1", "SIGUSR2"):
        monkeypatch.delattr(signal, name)


def test_the_child_is_always_told_to_read_its_stdin() -> None:
    from lmtui.models import ModelConfig
    from lmtui.training import TrainConfig

    argv = train_argv("scripts", ModelConfig(model="lstm", level="char"), TrainConfig())
    assert argv[argv.index("--control") + 1] == "stdin"
    resumed = resume_argv("r")
    assert resumed[resumed.index("--control") + 1] == "stdin"


@run_async
async def test_pause_resume_stop_over_stdin_without_posix_signals(
    no_posix_signals: None, tmp_path: Path
) -> None:
    report = tmp_path / "stopped-by"
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:  # on_mount must not need SIGHUP
        state = tmp_path / "state"
        argv = [sys.executable, FAKE_TRAINER, "--control", "stdin", "--report", str(report),
                "--state", str(state)]
        await app.start_training(argv)
        screen = app.screen
        await wait_for(pilot, lambda: screen.last_step is not None, "first step")
        app.trainer.pause()
        assert app.trainer.paused
        await wait_for(pilot, lambda: fake_paused_at(state) is not None, "the child to read the pause line")
        paused_at = fake_paused_at(state)
        # the steps it sent before pausing arrive, and the dashboard ends on the one it paused after
        await wait_for(pilot, lambda: screen.last_step.step == paused_at, f"step {paused_at} shown")
        app.trainer.resume()
        await wait_for(pilot, lambda: screen.last_step.step > paused_at + 2, "steps after resuming")
        app.trainer.stop()
        await wait_for(pilot, lambda: not app.trainer.running, "stop")
    assert app.trainer.process.returncode == 0
    assert report.read_text(encoding="utf-8") == "stdin"  # no signal was sent: the stop line did it
