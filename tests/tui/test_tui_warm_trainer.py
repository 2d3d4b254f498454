"""The app keeps a training child waiting, torch loaded (``warm_trainers``, on in the real app): Ctrl+T hands
its job to that child, the next one starts once training has ended, and none outlives the app."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from textual.widgets import Input
from tui_helpers import run_async, settle, wait_for

from lmtui.tui import app as app_module
from lmtui.tui.app import make_app
from lmtui.tui.screens.model import ModelScreen
from lmtui.tui.screens.training import TrainingScreen
from lmtui.tui.trainer_process import TrainerChild, TrainerProcess

FAKE_TRAINER = str(Path(__file__).with_name("fake_trainer.py"))
TINY = {"embed": "8", "hidden": "16", "max_seconds": "", "steps": "2", "batch_size": "4", "seq_len": "16",
        "eval_every": "5", "seed": "3"}


def gone(pid: int) -> bool:
    """No such process (a zombie would still answer: the app must have waited for its children)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@run_async
async def test_ctrl_t_trains_in_the_child_started_ahead_and_none_outlives_the_app(
    english_file: Path, lmtui_home: Path, monkeypatch
) -> None:
    monkeypatch.setattr(app_module, "WARM_AGAIN_AFTER", 0.01)
    app = make_app(warm_trainers=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.warm_trainer is not None, "a child started ahead")
        warm = app.warm_trainer
        assert warm is not None and await warm.ready()  # torch loaded, waiting for its job
        await pilot.press("ctrl+o")
        app.screen.query_one("#path", Input).value = str(english_file)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        model = app.screen
        assert isinstance(model, ModelScreen)
        for name, value in TINY.items():
            model.query_one(f"#f-{name}", Input).value = value
        await settle(pilot)
        assert model.error is None, model.error
        await pilot.press("ctrl+t")
        training = app.screen
        assert isinstance(training, TrainingScreen)
        assert app.trainer is not None and app.trainer.pid == warm.pid and app.trainer.warm
        await wait_for(pilot, lambda: training.status in ("finished", "failed", "ended"), "training")
        assert training.status == "finished", str(training.query_one("#message").render())
        assert training.last_step is not None and training.last_step.step == 2
        # the next child starts once this training has ended (not beside it)
        await wait_for(pilot, lambda: app.warm_trainer is not None, "the next child started ahead")
        following = app.warm_trainer
        assert following is not None and following.pid != warm.pid
    assert gone(warm.pid) and gone(following.pid)  # quitting ended the waiting one too (it was waited for)


@run_async
async def test_a_stand_in_runs_as_it_is_and_the_child_offered_to_it_ends() -> None:
    """A command that is not ``lmtui train`` (a test's stand-in) runs itself; a child offered is ended, not
    left waiting. (Every other test that trains for real starts its ``lmtui trainer`` child cold.)"""
    app = make_app()
    async with app.run_test(size=(120, 40)):
        offered = await TrainerChild.start()
        stand_in = TrainerProcess([sys.executable, FAKE_TRAINER, "--steps", "1"], app, offered)
        await stand_in.start()
        assert not stand_in.warm and stand_in.pid != offered.pid and not offered.alive
        assert stand_in.process is not None and await stand_in.process.wait() == 0
    assert gone(offered.pid)


def test_new_runs_and_resumes_go_to_the_child_as_jobs() -> None:
    from lmtui.models import ModelConfig
    from lmtui.training import TrainConfig
    from lmtui.tui.trainer_process import job_args, resume_argv, train_argv

    for argv in (train_argv("scripts", ModelConfig(), TrainConfig()), resume_argv("some-run", 30)):
        assert job_args(argv) == argv[4:] and argv[4:6] in (["scripts", "--events"], ["--resume", "some-run"])
    assert job_args([sys.executable, FAKE_TRAINER, "--steps", "1"]) is None
