"""Presets: sensible hyperparameters per model and level, so a first run needs no tuning.

``quick`` shows something within seconds, ``small`` is the default (the char LSTM reaches about 1.67-1.68
nats/char on ``scripts`` in a minute on two CPU cores; see BENCHMARKS.md), ``large`` wants a GPU or patience.
Every value can still be overridden from the command line or the TUI.

Tuned for time to quality on a small CPU (BENCHMARKS.md, "Neural time-to-quality"): per-token throughput
barely changes once batch x seq_len >= 1024, so the recurrent char presets take many small updates
(batch 32 x seq_len 32) at a high peak learning rate. Evaluations during training score a cheap fixed slice
of the validation split about ten times per session (lmtui.timing), the whole split once at the end.
"""

from __future__ import annotations

from dataclasses import replace

from lmtui.models import ModelConfig
from lmtui.training import TrainConfig

PRESETS = ("quick", "small", "large")

# time budget (s) and model width per preset
_BUDGET = {"quick": 15.0, "small": 60.0, "large": 600.0}
# steps between validation passes; they also come every budget/10 seconds (lmtui.timing) on a slice of the
# split sized to cost ~4 % of that gap, so time sets the cadence on a CPU and steps only on fast hardware
_EVAL_EVERY = {"quick": 1000, "small": 2500, "large": 5000}
_RECURRENT = {
    "quick": dict(embed=32, hidden=128, layers=1),
    "small": dict(embed=64, hidden=384, layers=1),
    "large": dict(embed=128, hidden=512, layers=2, dropout=0.2),
}
# parallel streams x truncation length per update, for the recurrent nets
_RECURRENT_BATCH = {
    "quick": dict(batch_size=32, seq_len=32),
    "small": dict(batch_size=64, seq_len=32),
    "large": dict(batch_size=64, seq_len=64),
}
_WINDOW = {
    "quick": dict(embed=16, hidden=128, context=6),
    "small": dict(embed=32, hidden=256, context=8),
    "large": dict(embed=64, hidden=512, context=12, dropout=0.2),
}


def preset_configs(model: str, level: str, preset: str = "small") -> tuple[ModelConfig, TrainConfig]:
    """The model and training configuration a preset gives for this model and level."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    config = ModelConfig(model=model, level=level)
    train = TrainConfig(max_seconds=_BUDGET[preset], eval_every=_EVAL_EVERY[preset])
    if model == "ngram":
        return replace(config, order=3), replace(train, max_seconds=None)
    if model == "window":
        config = replace(config, **_WINDOW[preset])
        train = replace(train, batch_size=64, seq_len=64, lr=2e-3)
    else:
        config = replace(config, **_RECURRENT[preset])
        lr = {"rnn": 3e-3, "lstm": 1e-2, "gru": 8e-3}[model]
        train = replace(train, **_RECURRENT_BATCH[preset], lr=lr)
    if level == "word":
        # a 10k-word softmax dominates the cost: wider embeddings, shorter sequences, more dropout
        config = replace(config, embed=max(config.embed, 128), dropout=max(config.dropout, 0.1))
        train = replace(train, seq_len=min(train.seq_len, 32), lr=train.lr * 0.6)
    return config, train
