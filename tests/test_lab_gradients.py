"""Vanishing gradients: a tiny trained RNN's gradient dies out k steps back far faster than an LSTM's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lab_util import invoke, json_out, ok, one_line_error

from lmtui import runs
from lmtui.events import GradientReach, Step
from lmtui.lab.gradients import fixed_batch, gradient_reach
from lmtui.models import ModelConfig
from lmtui.models.neural import WindowModel
from lmtui.training import Job, TrainConfig, train


def tiny(kind: str, **train) -> tuple[ModelConfig, TrainConfig]:
    model = ModelConfig(model=kind, level="char", embed=16, hidden=32, layers=1, context=4)
    base = dict(steps=100, max_seconds=None, batch_size=16, seq_len=48, lr=1e-2, warmup=5, eval_every=50,
                sample_length=20, device="cpu", seed=1)
    return model, TrainConfig(**(base | train))


@pytest.fixture(scope="module")
def rnn_and_lstm(tmp_path_factory, trained_home):
    """An RNN and an LSTM trained alike (seeded, 100 steps on the English-like text)."""
    import os
    import shutil

    home = tmp_path_factory.mktemp("grad-home")
    path = home / "english.txt"
    shutil.copy(trained_home.parent / "english.txt", path)  # the session's text (tests/conftest.py)
    old = os.environ.get("LMTUI_HOME")
    os.environ["LMTUI_HOME"] = str(home)
    try:
        out = {}
        for kind in ("rnn", "lstm"):
            model, budget = tiny(kind)
            out[kind] = list(train(Job(str(path), model, budget, name=kind)))
        yield home, out
    finally:
        if old is None:
            os.environ.pop("LMTUI_HOME", None)
        else:
            os.environ["LMTUI_HOME"] = old


def test_rnn_gradient_vanishes_much_faster_than_lstm(rnn_and_lstm, monkeypatch):
    home, _ = rnn_and_lstm
    monkeypatch.setenv("LMTUI_HOME", str(home))
    reach = {}
    for kind in ("rnn", "lstm"):
        run = runs.load_run(kind)
        tokens = run.tokenizer().encode((home / "english.txt").read_text(encoding="utf-8")[-4000:])
        reach[kind] = gradient_reach(run.load_model(), tokens, 48)
        assert len(reach[kind].norms) == 48 and reach[kind].norms[0] > 0
    # ratios to the gradient one step back, not absolute values: robust to how well each model trained
    assert reach["rnn"].ratio(20) * 5 < reach["lstm"].ratio(20)
    assert reach["rnn"].ratio(30) * 50 < reach["lstm"].ratio(30)
    assert reach["rnn"].ratio(40) < 1e-6 < reach["lstm"].ratio(40) * 10


def test_gradient_reach_is_an_event_at_each_evaluation(rnn_and_lstm):
    _, events = rnn_and_lstm
    evals = [e.step for e in events["rnn"] if type(e).__name__ == "Eval"]
    reach = [e for e in events["rnn"] if isinstance(e, GradientReach)]
    assert [e.step for e in reach] == evals == [50, 100]
    assert all(len(e.norms) == 48 for e in reach)  # K capped by seq_len
    steps = [e for e in events["rnn"] if isinstance(e, Step)]
    assert all(e.clipped is not None and 0 <= e.clipped <= 1 for e in steps)


def test_clipped_share_counts_clipped_steps(english_file):
    model, budget = tiny("rnn", steps=12, clip=1e-6, seq_len=16, batch_size=8)
    events = list(train(Job(str(english_file), model, budget, name="c")))
    steps = [e for e in events if isinstance(e, Step)]
    assert steps and all(e.clipped == 1.0 for e in steps)  # every gradient is over a tiny threshold
    model, budget = tiny("rnn", steps=12, clip=0, seq_len=16, batch_size=8)
    events = list(train(Job(str(english_file), model, budget, name="d")))
    assert all(e.clipped is None for e in events if isinstance(e, Step))  # clipping off: nothing to count
    started = events[0]
    assert started.clip == 0


@pytest.mark.parametrize("softmax", ["full", "adaptive"])
def test_window_model_gradient_stops_at_its_window(softmax):
    torch.manual_seed(0)
    model = WindowModel(ModelConfig(model="window", embed=8, hidden=16, context=5, softmax=softmax), 20)
    reach = gradient_reach(model, np.arange(400) % 20, 12)
    assert all(v > 0 for v in reach.norms[:4]) and all(v == 0 for v in reach.norms[4:])
    assert "5 tokens" in reach.note


def test_fixed_batch_is_the_same_every_time():
    tokens = np.arange(1000)
    a, b = fixed_batch(tokens, 50), fixed_batch(tokens, 50)
    assert a.shape == (16, 50) and np.array_equal(a, b) and a[0, 0] == 0 and a[-1, -1] == 999
    with pytest.raises(ValueError, match="fewer than"):
        fixed_batch(np.arange(10), 50)


def test_cli_gradients(rnn_and_lstm, monkeypatch):
    home, _ = rnn_and_lstm
    monkeypatch.setenv("LMTUI_HOME", str(home))
    data = json_out(invoke("gradients", "rnn", "--json"))
    assert data["k"] == list(range(1, 49)) and len(data["norms"]) == 48  # K capped by the run's seq_len
    assert data["norms"][30] < data["norms"][0] * 1e-3
    assert len(json_out(invoke("gradients", "lstm", "--k", 10, "--json"))["norms"]) == 10
    human = ok(invoke("gradients", "rnn")).output  # the title: stderr, in a pipe
    assert "gradient reaching k steps back" in human and "times smaller" in human


def test_cli_gradients_of_an_ngram_run_is_a_clear_error(english_file):
    ok(invoke("train", english_file, "--model", "ngram", "--name", "ng", "--json"))
    one_line_error(invoke("gradients", "ng"), "not trained by gradients")


def test_reach_with_a_warm_state_is_the_gradient_through_the_whole_text(rnn_and_lstm, monkeypatch):
    """The state read before the window is carried in without gradient, and that changes nothing for
    k = 1..K: each norm is the one a network reading the whole (warm-up + window) text gives, so the
    furthest k is no longer a token read next to an all-zero state (issue 19 item 6)."""
    home, _ = rnn_and_lstm
    monkeypatch.setenv("LMTUI_HOME", str(home))
    run = runs.load_run("lstm")
    model = run.load_model()
    tokens = run.tokenizer().encode((home / "english.txt").read_text(encoding="utf-8")[-4000:])
    reach = gradient_reach(model, tokens, 30, warmup=40)
    assert reach.warmup == 40 and "after 40 tokens read to warm the state" in reach.window()
    windows = torch.as_tensor(fixed_batch(tokens, 40 + 30 + 2))
    net = model.net.eval()
    emb = net.emb(windows[:, :-1]).detach().requires_grad_(True)  # the whole text, gradient everywhere
    h, _ = net.rnn(emb, None)
    (-net.out(h[:, -1]).log_softmax(-1).gather(1, windows[:, -1:]).sum()).backward()
    whole = emb.grad.norm(dim=-1).mean(dim=0).flip(0)[1:31].double().numpy()
    np.testing.assert_allclose(reach.norms, whole, rtol=1e-4)
    cold = gradient_reach(model, tokens, 30, warmup=0)  # from a zero state: the last k differs (the edge)
    assert cold.warmup == 0 and "zero state" in cold.window()
    assert not np.allclose(cold.norms[-1], reach.norms[-1], rtol=1e-3)
    assert json_out(invoke("gradients", "lstm", "--k", 10, "--json"))["warmup"] == 100
