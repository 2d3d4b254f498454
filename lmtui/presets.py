"""Presets: sensible hyperparameters per model and level, so a first run needs no tuning.

``quick`` writes plausible text within 15 seconds, ``small`` is the default one-minute run and ``large``
the ten-minute one. Tuned for time to quality on two CPU cores (BENCHMARKS.md, section 10): on
tinyshakespeare, scored on nanoGPT's validation text, the char LSTM presets reach about 1.68 (quick), 1.48
(small) and 1.43 (large) nats/char. What made it: bfloat16 products on CPUs with AMX or AVX512-BF16
(``--precision auto``), both cores, and many small updates (batch x seq_len of 1-4k tokens) at a high peak
learning rate. Word presets (section 13) use the adaptive softmax: on speeches the LSTM reaches validation
perplexity 186 (quick), 118 (small) and 101 (large) against the KN trigram's 141. Evaluations during
training score a cheap fixed slice of the validation split about ten times per session (lmtui.timing), the
whole split once at the end.
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
_RECURRENT: dict[str, dict] = {
    "quick": dict(embed=32, hidden=128, layers=1),  # small enough that the app (one core) scores it in 15 s
    "small": dict(embed=64, hidden=384, layers=1),
    "large": dict(embed=128, hidden=512, layers=2, dropout=0.2),
}
# parallel streams x truncation length per update, for the recurrent nets
_RECURRENT_BATCH: dict[str, dict] = {
    "quick": dict(batch_size=32, seq_len=32),
    "small": dict(batch_size=64, seq_len=32),
    "large": dict(batch_size=64, seq_len=64),
}
_WINDOW: dict[str, dict] = {
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
        # The adaptive softmax (lmtui.models.neural.output_layer) pays the full 10k-word softmax only for
        # the rare words: a step costs about a quarter (BENCHMARKS.md, section 13), so the updates are many.
        # Quick and small keep a narrow net that learns fast from few words; the large preset is wider,
        # with the dropout that ten passes over speeches' 670k training words need. One recurrent layer: a
        # second one had learned too slowly for ten minutes.
        config = replace(config, softmax="adaptive", layers=1)
        if preset == "large":
            config = replace(config, hidden=512, embed=256, dropout=0.25)
            train = replace(train, batch_size=64, seq_len=32, lr=train.lr * 0.6)
        else:
            config = replace(config, hidden=min(config.hidden, {"quick": 128}.get(preset, 256)))
            config = replace(config, embed=max(config.embed, 128), dropout=0.1)
            train = replace(train, batch_size=32, seq_len=min(train.seq_len, 32), lr=train.lr * 0.6)
    return config, train
