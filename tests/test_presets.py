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


def test_word_presets_keep_the_softmax_affordable():
    """A 10k-way softmax makes word steps slow: narrow nets and 32 x 32 batches, the large preset being the
    small net given ten minutes (BENCHMARKS.md section 10)."""
    small, small_train = preset_configs("lstm", "word", "small")
    large, large_train = preset_configs("lstm", "word", "large")
    quick, _ = preset_configs("lstm", "word", "quick")
    assert quick.hidden == 128 and small.hidden == 256
    assert large == small and large_train.max_seconds == 600.0
    for train in (small_train, large_train):
        assert (train.batch_size, train.seq_len) == (32, 32)
    assert small.embed >= 128 and small.dropout == 0.1


def test_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="unknown preset"):
        preset_configs("lstm", "char", "huge")
