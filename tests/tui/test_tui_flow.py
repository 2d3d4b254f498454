"""End to end through the UI: choose your own text, train a tiny LSTM in a child process, sample, save."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input
from tui_helpers import run_async, settle, wait_for

from lmtui.tui.app import make_app
from lmtui.tui.screens.model import ModelScreen
from lmtui.tui.screens.playground import PlaygroundScreen
from lmtui.tui.screens.training import TrainingScreen
from lmtui.tui.widgets.charts import LineChart

TINY = {"embed": "8", "hidden": "16", "max_seconds": "", "steps": "100000", "batch_size": "4",
        "seq_len": "16", "eval_every": "5", "seed": "3"}


@run_async
async def test_train_sample_and_save(english_file: Path, lmtui_home: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+o")
        app.screen.query_one("#path", Input).value = str(english_file)
        await pilot.press("enter")
        await settle(pilot)
        assert "distinct" in str(app.screen.query_one("#stats").render())
        await pilot.press("enter")  # the same path again: go on
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
        ppl = training.query_one("#ppl-chart", LineChart)
        await wait_for(pilot, lambda: ppl.count() >= 2 or training.status == "failed",
                       "two perplexity points")
        await pilot.press("s")  # stop: the child evaluates, keeps its best checkpoint, and says finished
        await wait_for(pilot, lambda: training.status in ("finished", "failed", "ended"), "training")
        assert training.status == "finished", str(training.query_one("#message").render())
        assert "stopped after" in str(training.query_one("#message").render())
        assert training.query_one("#loss-chart", LineChart).count("validation") >= 2
        assert training.query_one("#grad-chart", LineChart).count("|g|") >= 1
        await wait_for(pilot, lambda: not (app.trainer and app.trainer.running), "child exit")

        await pilot.press("g")
        play = app.screen
        assert isinstance(play, PlaygroundScreen)
        await wait_for(pilot, lambda: play.model is not None, "model load")
        play.query_one("#prime", Input).value = "The "
        await pilot.press("enter")
        await wait_for(pilot, lambda: play.record is not None, "sample")
        assert play.record is not None and play.record.text
        await pilot.press("ctrl+s")
        samples = lmtui_home / "runs" / training.run_name / "samples"
        assert (samples / "sample-001.txt").read_text(encoding="utf-8").startswith("The ")
        md = (samples / "sample-001.md").read_text(encoding="utf-8")
        assert "--seed" in md and "english" in md and "--prime 'The '" in md
