"""The lecture's ideas in the app (issue 19, "still not touchable"): the softmax in the next-token panel,
exploding gradients on the dashboard, at 80×24 and 120×36."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input
from tui_helpers import run_async, settle, wait_for

from lmtui.events import Failed, Note, Started, Step
from lmtui.runs import load_run
from lmtui.sampling import predict_next
from lmtui.tui.app import make_app
from lmtui.tui.screens.playground import PlaygroundScreen
from lmtui.tui.screens.training import TrainingScreen
from lmtui.tui.trainer_process import TrainerEvent
from lmtui.tui.widgets.charts import LineChart

SIZES = [(80, 24), (120, 36)]


def shown(widget) -> str:  # noqa: ANN001
    """What a Static draws at its own width."""
    from rich.console import Console

    console = Console(width=widget.content_size.width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(widget.content)
    return console.export_text()


@pytest.mark.parametrize("size", SIZES)
@run_async
async def test_next_token_panel_shows_log_p_and_the_probability_at_t_and_at_1(size: tuple[int, int],
                                                                             trained_runs: Path) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await app.open_playground("lstm-run")
        screen = app.screen
        assert isinstance(screen, PlaygroundScreen)
        await wait_for(pilot, lambda: screen.model is not None, "the run loaded")
        screen.query_one("#prime", Input).value = "the "
        await wait_for(pilot, lambda: screen.predicted_for == "the ", "the next tokens")
        await settle(pilot)
        text = shown(screen.query_one("#next"))
        lines = text.split("\n")
        header = next(line for line in lines if "log p" in line)
        assert header.split() == ["log", "p", "T", "0.8", "T", "1"]
        assert "p = softmax(log p / T)" in text
        run = load_run("lstm-run")
        best = predict_next(run.load_model(), run.tokenizer(), "the ", 1, 0.8, allow_unk=False)[0]
        row = lines[lines.index(header) + 1].split()
        assert row[1] == f"{best.log_prob:.2f}"  # log p, as the softmax reads it
        assert row[-2] == f"{best.prob:.1%}" and row[-1] == f"{best.model_prob:.1%}"  # p at 0.8, at 1
        assert best.prob > best.model_prob  # a temperature below 1 sharpens: the top token gains
        for _ in range(2):
            await pilot.press("up")  # temperature 1: the column at 1 says nothing new and goes
        await wait_for(pilot, lambda: "T 1.0" not in shown(screen.query_one("#next"))
                       and "temperature 1" in shown(screen.query_one("#next")), "the panel at T 1")
        header = next(line for line in shown(screen.query_one("#next")).split("\n") if "log p" in line)
        assert header.split() == ["log", "p", "T", "1"]


@pytest.mark.parametrize("size", SIZES)
@run_async
async def test_exploding_gradients_bring_the_norm_chart_into_view_with_the_spike(size: tuple[int, int]
                                                                                 ) -> None:
    app = make_app(mode="training")
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        started = Started("boom-rnn-char", "demo", "rnn", "char", 65, 30_000, 120_000, 90_000, 5_000, None,
                          30.0, clip=0.0)
        screen.post_message(TrainerEvent(started))
        for step in range(1, 8):
            norm = 0.5 if step < 7 else 9_000.0
            screen.post_message(TrainerEvent(Step(step, 4.0, norm, 0.3, 10_000, step * 0.1, None, step / 50)))
        await pilot.press("v")  # the reach chart in front: the explosion brings the norm back
        message = ("exploding gradients at step 7: |g| = 9,000, 18,000 times the session's first 0.5 "
                   "(|g| at steps 2-7: 0.5, 0.5, 0.5, 0.5, 0.5, 9,000); nothing caps it (--clip 0)")
        screen.post_message(TrainerEvent(Note(message)))
        await wait_for(pilot, lambda: screen.explosion != "", "the explosion noted")
        await settle(pilot)
        note = str(screen.query_one("#message").render())
        assert "(gradient clip 0)" in note and "--clip" not in note  # the form's words, not the flag
        grad = screen.query_one("#grad-chart", LineChart)
        assert grad.display and not screen.query_one("#reach-chart").display
        assert grad.points("|g|")[-1] == (7, 9_000.0)
        box = screen.query_one("#grad-box")
        assert "exploded at step 7" in str(box.border_title)
        assert screen.chart == "grad" or not screen.has_class("-short")
        assert box.region.width > 0 and box.region.height > 0  # on screen at this size
        screen.post_message(TrainerEvent(Failed("exploding gradients: the loss rose to 50.7 nats/token at "
                                                "step 9, 12 times what guessing uniformly costs", 9)))
        await wait_for(pilot, lambda: screen.status == "failed", "the failure")
        await settle(pilot)
        assert "exploded at step 9" in str(box.border_title)
        assert "Training failed: exploding gradients" in str(screen.query_one("#message").render())


@pytest.mark.parametrize("size", SIZES)
@run_async
async def test_f9_sets_teacher_forcing_beside_free_running(size: tuple[int, int], trained_runs: Path) -> None:
    from lmtui.tui.screens.forcing import ForcingScreen

    app = make_app(run="ngram-run")
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.model is not None, "model")
        await pilot.press("f9")
        lab = app.screen
        assert isinstance(lab, ForcingScreen)
        await wait_for(pilot, lambda: lab.data is not None, "the forcing child")
        await pilot.pause()
        text = shown(lab.query_one("#forcing"))
        assert "teacher-forced" in text and "free-running" in text and "Lower is better" in text
        teacher, free = lab.data["teacher_forced"], lab.data["free_running"]
        assert teacher[0] == pytest.approx(free[0]) and len(teacher) == 32
        assert f"{lab.data['free_running_mean']:.3f}" in text
        await pilot.press("f9")
        assert app.screen is screen


@pytest.mark.parametrize("size", SIZES)
@run_async
async def test_model_form_shows_the_window_s_unshared_weights(size: tuple[int, int], fake_corpora: Path
                                                              ) -> None:
    from test_tui_layout import choose, open_model_screen
    from tui_helpers import fully_visible

    app = make_app()
    async with app.run_test(size=size) as pilot:
        screen = await open_model_screen(pilot)
        choose(screen, "family", "window")
        await settle(pilot)
        model, _, _ = screen.read()
        text = " ".join(str(screen.query_one("#size").render()).split())
        n, block = model.context, model.embed * model.hidden
        assert f"{n} positions × {block:,} unshared weights; window {2 * n}:" in text
        assert text.endswith("first") and fully_visible(app, screen.query_one("#size"))  # the budget too
        screen.query_one("#f-context", Input).value = "12"
        await pilot.pause()
        assert "12 positions" in str(screen.query_one("#size").render())
        assert fully_visible(app, screen.query_one("#train"))
        choose(screen, "family", "lstm")
        await settle(pilot)
        assert "unshared" not in str(screen.query_one("#size").render())


@run_async
async def test_neuron_view_steps_through_an_lstm_s_cell_and_gates(trained_runs: Path) -> None:
    from lmtui.tui.screens.lab import NeuronScreen

    app = make_app(run="lstm-run")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.model is not None, "model")
        screen.query_one("#prime", Input).value = 'The "old" sailor (said)'
        await pilot.press("f8")
        lab = app.screen
        assert isinstance(lab, NeuronScreen)
        await wait_for(pilot, lambda: lab.neurons is not None, "the neurons child")
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert lab.neurons.state == "h" and lab.neurons.unit == 2
        await pilot.press("s")
        await wait_for(pilot, lambda: lab.neurons.state == "c", "the cell state")
        await pilot.pause()
        assert lab.neurons.unit == 2  # the same unit, another of its states
        assert "unit 2 of 24 · cell state c" in shown(lab.query_one("#neuron-head"))
        await pilot.press("s")
        await wait_for(pilot, lambda: lab.neurons.state == "input", "the input gate")
        assert all(-1 <= v <= 1 for v in lab.neurons.scaled())
        assert "input gate" in shown(lab.query_one("#neuron-head"))


@run_async
async def test_a_recall_run_opens_on_a_line_whose_letter_it_must_recall(model_cfg, train_cfg) -> None:
    """The bundled recall corpus gets a prime of its own: the next-token panel then shows, before anything
    is generated, whether the model still has the line's letter 26 characters back."""
    from lmtui.training import Job, train
    from lmtui.tui.screens.playground import PRIMES

    list(train(Job("recall", model_cfg("lstm"), train_cfg(steps=3), name="recall-tiny")))
    app = make_app(run="recall-tiny")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.model is not None, "model")
        prime = PRIMES["recall"]
        assert prime.startswith("\nk") and prime.endswith("=")
        assert screen.query_one("#prime", Input).value == prime.replace("\n", "\\n")
        await wait_for(pilot, lambda: screen.predicted_for == prime, "the next tokens after the line")
        assert "log p" in shown(screen.query_one("#next"))
