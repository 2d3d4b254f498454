"""n-gram counting: keys sorted as uint32 when they fit give exactly the model that int64 keys give."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmtui.models import ModelConfig, ngram
from lmtui.models.ngram import NgramModel


def fit_both(tokens: np.ndarray, vocab: int, order: int, smoothing: str, monkeypatch) -> tuple[dict, dict]:
    config = ModelConfig(model="ngram", order=order, smoothing=smoothing)
    narrow = NgramModel.fit(tokens, vocab, config).tensors()
    monkeypatch.setattr(ngram, "NARROW_KEYS", 0)  # every order's keys sorted as int64
    wide = NgramModel.fit(tokens, vocab, config).tensors()
    monkeypatch.undo()
    return narrow, wide


@pytest.mark.parametrize("smoothing", ["kn", "backoff", "add-k"])
@pytest.mark.parametrize("order", [2, 3, 4])
def test_narrow_and_wide_keys_give_the_same_model(order, smoothing, monkeypatch):
    rng = np.random.default_rng(order)
    tokens = rng.zipf(1.3, 20_000) % 500
    narrow, wide = fit_both(tokens, 500, order, smoothing, monkeypatch)
    assert narrow.keys() == wide.keys()
    for name in narrow:
        assert narrow[name].dtype == wide[name].dtype, name
        np.testing.assert_array_equal(narrow[name], wide[name], err_msg=name)


def test_keys_too_wide_for_32_bits_take_int64(monkeypatch):
    """A vocabulary of 70k makes bigram keys pass 2**32; the model still matches a narrow-sorted one."""
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 70_000, 5_000)
    assert (tokens[:-1] * 70_000 + tokens[1:]).max() >= 2**32
    narrow, wide = fit_both(tokens, 70_000, 2, "kn", monkeypatch)
    for name in narrow:
        np.testing.assert_array_equal(narrow[name], wide[name], err_msg=name)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=3, max_size=60), st.integers(2, 4))
def test_counts_match_a_plain_count(tokens, order):
    """Every stored k-gram's count is how often it occurs (checked with a dictionary)."""
    tokens = np.array(tokens)
    model = NgramModel.fit(tokens, 7, ModelConfig(model="ngram", order=order, smoothing="kn"))
    grams = [np.arange(7)[:, None]]
    for k in range(1, order):
        grams.append(np.column_stack([grams[-1][model.keys[k] // 7], model.keys[k] % 7]))
    for k in range(order):
        seen: dict[tuple[int, ...], int] = {}
        for i in range(len(tokens) - k):
            gram = tuple(tokens[i : i + k + 1].tolist())
            seen[gram] = seen.get(gram, 0) + 1
        stored = {tuple(g): int(c) for g, c in zip(grams[k].tolist(), model.counts[k].tolist(), strict=True)}
        assert {g: c for g, c in stored.items() if c} == seen
