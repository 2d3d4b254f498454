"""Presets: every family and level gets a valid configuration, and each preset keeps its promise of time."""

from __future__ import annotations

import pytest

from lmtui.models import MODEL_KINDS, estimate_parameters
from lmtui.presets import PRESETS, preset_configs
from lmtui.training import validate


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("level", ["char", "word"])
@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_every_preset_is_a_valid_configuration(kind, level, preset):
    model, train = preset_configs(kind, level, preset)
    validate(model, train)
    assert (model.model, model.level) == (kind, level)
    if kind == "ngram":
        assert model.order == 3 and train.max_seconds is None  # counting needs no budget
    else:
        assert train.max_seconds == {"quick": 15.0, "small": 60.0, "large": 600.0}[preset]
        assert train.precision == "auto" and train.threads is None  # bf16 where fast, every core


def test_char_presets_grow_with_their_budget():
    sizes = [estimate_parameters(preset_configs("lstm", "char", p)[0], 65) for p in PRESETS]
    assert sizes[0] < sizes[1] < sizes[2]
    small, small_train = preset_configs("lstm", "char", "small")
    assert (small.hidden, small.layers, small_train.batch_size, small_train.seq_len) == (384, 1, 64, 32)
    large, large_train = preset_configs("lstm", "char", "large")
    assert (large.layers, large.dropout, large_train.batch_size * large_train.seq_len) == (2, 0.2, 4096)


def test_word_presets_use_the_adaptive_softmax():
    """Word steps pay the 10k-way softmax only for rare words (the adaptive softmax): narrow, fast-learning
    nets for quick and small, a wider one with more dropout for ten minutes (BENCHMARKS.md section 13)."""
    small, small_train = preset_configs("lstm", "word", "small")
    large, large_train = preset_configs("lstm", "word", "large")
    quick, _ = preset_configs("lstm", "word", "quick")
    for kind in ("window", "rnn", "lstm", "gru"):
        assert all(preset_configs(kind, "word", p)[0].softmax == "adaptive" for p in PRESETS)
        assert all(preset_configs(kind, "char", p)[0].softmax == "full" for p in PRESETS)
    assert (quick.hidden, small.hidden, large.hidden) == (128, 256, 512)
    assert (small.embed, large.embed, small.dropout, large.dropout) == (128, 256, 0.1, 0.25)
    assert (small_train.batch_size, small_train.seq_len, large_train.batch_size) == (32, 32, 64)
    assert large_train.max_seconds == 600.0 and small.layers == large.layers == 1


def test_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="unknown preset"):
        preset_configs("lstm", "char", "huge")
