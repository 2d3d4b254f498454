"""Memory before allocation: the training estimate is an upper bound of what training really adds (measured
in bench/train_memory.py), a batch that cannot fit is lowered before anything is built, and scoring holds a
bounded number of logits whatever the vocabulary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_cli import invoke, ok

from lmtui import memory, neural_training
from lmtui.models import ModelConfig, estimate_parameters, estimate_training_bytes

MB = 1 << 20


def est(kind: str = "lstm", vocab: int = 100, batch: int = 32, seq_len: int = 32, **shape) -> int:
    config = ModelConfig(**{"model": kind, "embed": 16, "hidden": 64, "context": 4, **shape})
    return estimate_training_bytes(config, vocab, batch, seq_len)


# -- the estimate's terms


def test_each_token_of_a_step_counts_four_float32_rows_of_the_vocabulary_and_more():
    """Measured: 16 bytes per vocabulary entry per token (logits, log-softmax, two gradients), whatever the
    precision; the old estimate's three rows (12) let a large batch through that then took all memory."""
    for kind in ("lstm", "window"):
        big = est(kind, vocab=20_000, batch=512) - est(kind, vocab=20_000, batch=511)
        assert big >= 32 * 16 * 20_000


@pytest.mark.parametrize(("kind", "measured"), [("rnn", 16.5), ("gru", 36.1), ("lstm", 65.8)])
def test_each_hidden_unit_of_each_layer_counts_what_its_cell_keeps(kind, measured):
    """Bytes per hidden unit, layer and token, measured in float32 (bfloat16 keeps less)."""

    def per_stream(layers: int) -> int:  # 32 tokens more: a step of 2048 x 32 outgrows a scoring pass
        return est(kind, vocab=10, batch=2049, hidden=1000, layers=layers) - est(
            kind, vocab=10, batch=2048, hidden=1000, layers=layers
        )

    assert per_stream(1) >= 32 * measured * 1000
    assert per_stream(2) - per_stream(1) >= 32 * measured * 1000  # and each layer more as much


def test_parameters_count_the_training_state_and_a_checkpoints_copies():
    """Weights, gradients, AdamW's moments (16 bytes) and the checkpoint's array and byte copies (24)."""
    config = ModelConfig(model="lstm", embed=64, hidden=2048)
    assert estimate_training_bytes(config, 100, 1, 8) >= 40 * estimate_parameters(config, 100)


def test_a_small_batch_still_counts_the_evaluations_peak():
    from lmtui.models import neural

    floor = 12 * neural.EVAL_LOGITS  # three float32 copies of the logits scoring holds at once
    assert est(vocab=50_000, batch=1, seq_len=1) >= floor
    assert est(batch=1) == est(batch=64)  # a step of 64 x 32 tokens is smaller than a scoring pass
    assert est(batch=2000) > est(batch=1000)  # a big one is not


def test_the_estimate_grows_with_every_size():
    base = est()
    for change in ({"batch": 5000}, {"seq_len": 5000}, {"vocab": 10**6}, {"hidden": 4096}, {"embed": 4096},
                   {"layers": 4}):
        assert est(**change) > base, change


# -- the check lowers the batch before anything is built


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn", "window"])
@pytest.mark.parametrize("room", [1.0, 3.7, 40.5])
def test_the_batch_chosen_is_the_largest_that_fits(monkeypatch, kind, room):
    config = ModelConfig(model=kind, embed=16, hidden=64, context=4)
    vocab, seq_len = 3000, 64
    free = int(estimate_training_bytes(config, vocab, 1, seq_len) * room / memory.HEADROOM) + 1
    monkeypatch.setattr(memory, "available_memory", lambda: free)
    got = memory.fitting_batch(config, vocab, 10**6, seq_len)
    allowed = memory.HEADROOM * free
    assert estimate_training_bytes(config, vocab, got, seq_len) <= allowed
    assert estimate_training_bytes(config, vocab, got + 1, seq_len) > allowed
    assert memory.fitting_batch(config, vocab, got, seq_len) == got  # what fits is kept as asked


def test_a_batch_too_large_for_the_memory_is_lowered_before_the_model_is_built(
    tmp_path, monkeypatch, long_english
):
    text = tmp_path / "long.txt"
    text.write_text(long_english, encoding="utf-8")
    seen: list[tuple[str, int]] = []
    real_fit, real_class = memory.fitting_batch, neural_training.model_class

    def fit(config, vocab, batch, seq_len, device="cpu"):
        # room for 1500 streams of this model, not 1501 (a step of 1500 x 16 tokens outgrows scoring)
        free = estimate_training_bytes(config, vocab, 1500, seq_len) / memory.HEADROOM + 1
        monkeypatch.setattr(memory, "available_memory", lambda: int(free))
        got = real_fit(config, vocab, batch, seq_len, device)
        seen.append(("fits", got))
        return got

    def build(kind):
        seen.append(("build", 0))
        return real_class(kind)

    monkeypatch.setattr(memory, "fitting_batch", fit)
    monkeypatch.setattr(neural_training, "model_class", build)
    args = ["--embed", 8, "--hidden", 16, "--seq-len", 16, "--device", "cpu", "--precision", "fp32"]
    args += ["--batch-size", 4000, "--steps", 1, "--events", "jsonl"]
    result = ok(invoke("train", text, "--model", "lstm", *args))
    assert seen[0] == ("fits", 1500) and seen.index(("build", 0)) > 0  # checked first, then built
    assert "lowered from 4000 to 1500 so that training fits the free memory" in result.stdout


# -- scoring holds a bounded number of logits


def test_scoring_token_by_token_holds_no_more_logits_than_the_loss_does(monkeypatch):
    import torch

    from lmtui.lab.scoring import token_log_probs
    from lmtui.models import neural

    monkeypatch.setattr(neural, "EVAL_LOGITS", 40 * 97)  # a pass of at most 40 tokens of 97 logits
    torch.manual_seed(0)
    model = neural.RecurrentModel(ModelConfig(model="lstm", embed=8, hidden=16), 97)
    widest = []
    features = model.net.features

    def counted(x, state=None):
        widest.append(x.numel())
        return features(x, state)

    monkeypatch.setattr(model.net, "features", counted)
    tokens = np.random.default_rng(3).integers(0, 97, 3000)
    logp = token_log_probs(model, tokens)
    assert max(widest) <= 40
    total, count = model.nll(tokens)  # the same reading
    assert len(logp) == count and -logp.sum() == pytest.approx(total, rel=1e-6)


# -- the bound, measured


MEASURE = r"""
import json, sys
import torch
from torch.nn import functional as F
from lmtui.models import ModelConfig, model_class
from lmtui.neural_training import make_optimizer

def rss(key):
    with open("/proc/self/status") as f:
        return next(int(x.split()[1]) for x in f if x.startswith(key + ":")) * 1024

config = ModelConfig(**json.loads(sys.argv[1]))
vocab, batch, seq_len = (int(a) for a in sys.argv[2:5])
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # the peak from here on, as the check sees the memory before anything is built
start = rss("VmRSS")
net = model_class(config.model)(config, vocab, "cpu").net
opt = make_optimizer(net, 1e-3, 0.01)
data = torch.randint(0, vocab, (batch, seq_len + 1))
for _ in range(2):
    logits, _ = net(data[:, :-1], None)
    loss = F.cross_entropy(logits.float().reshape(-1, vocab), data[:, 1:].reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
print(rss("VmHWM") - start)
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's peak-RSS reset")
def test_the_estimate_bounds_a_measured_step():
    """A step-bound configuration (its logits outgrow a scoring pass), measured in a fresh process: a
    deterministic peak of a few hundred MB, well inside the estimate's margin."""
    shape = {"model": "lstm", "embed": 16, "hidden": 256}
    vocab, batch, seq_len = 4000, 64, 64
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps(shape), str(vocab), str(batch), str(seq_len)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    peak = int(out.stdout.strip().splitlines()[-1])
    estimate = estimate_training_bytes(ModelConfig(**shape), vocab, batch, seq_len)
    assert 4096 * 16 * vocab < peak <= estimate, (peak / MB, estimate / MB)
