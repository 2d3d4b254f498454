"""n-gram counting: keys packed with their positions when they fit in 32 bits (``_group``) give exactly
what ``np.unique`` gives and exactly the model that argsorted int64 keys give."""

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
    monkeypatch.setattr(ngram, "NARROW_KEYS", 0)  # every order's keys argsorted as int64
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


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 5) | st.integers(2**32, 2**40), max_size=80),
    st.booleans(),
)
def test_group_is_np_unique_with_positions(values, narrow):
    """Keys, counts and inverse are np.unique's; each distinct key occurs at the position given for it;
    without ``inverse`` the same first three come back. Both paths: packed (narrow) and argsorted."""
    keys = np.array(values, dtype=np.int64)
    if narrow:
        keys = keys % 2**32  # every key fits in 32 bits: the packed sort
    want_key, want_inverse, want_count = np.unique(keys, return_inverse=True, return_counts=True)
    key, count, where, inverse = ngram._group(keys)
    for got, want in ((key, want_key), (count, want_count), (inverse, want_inverse)):
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(keys[where], key)
    for got, want in zip(ngram._group(keys, inverse=False), (key, count, where), strict=True):
        np.testing.assert_array_equal(got, want)


def test_group_takes_the_argsort_path_for_wide_keys_and_long_inputs(monkeypatch):
    """Keys of 2**32 and more cannot be packed; neither can positions past 2**32 (simulated by a lower
    limit): both take the argsort and still give np.unique's answer."""
    keys = np.array([2**32 + 5, 3, 2**32 + 5, 7, 3, 3], dtype=np.int64)
    key, count, where, inverse = ngram._group(keys)
    np.testing.assert_array_equal(key, [3, 7, 2**32 + 5])
    np.testing.assert_array_equal(count, [3, 1, 2])
    np.testing.assert_array_equal(inverse, [2, 0, 2, 1, 0, 0])
    np.testing.assert_array_equal(keys[where], key)
    monkeypatch.setattr(ngram, "NARROW_KEYS", 5)  # six positions do not fit in "32 bits" now
    small = np.array([4, 1, 4, 0, 1, 1], dtype=np.int64)
    key, count, where, inverse = ngram._group(small)
    np.testing.assert_array_equal(key, [0, 1, 4])
    np.testing.assert_array_equal(inverse, [2, 1, 2, 0, 1, 1])
    np.testing.assert_array_equal(small[where], key)


def unique_fit(tokens: np.ndarray, v: int, order: int, smoothing: str) -> dict[str, np.ndarray]:
    """The counting as it was before ``_group``: ``np.unique`` per order, suffixes scattered through the
    inverse. The reference the packed sort must reproduce bit for bit."""
    t = tokens.astype(np.int64)
    counts, keys, suffix, rows = [np.bincount(t, minlength=v).astype(np.int64)], [np.arange(v)], [], t
    for _ in range(2, order + 1):
        key, inverse, count = np.unique(
            rows[:-1] * v + t[len(t) - len(rows) + 1 :], return_inverse=True, return_counts=True
        )
        suf = np.zeros(len(key), dtype=np.int64)
        suf[inverse] = rows[1:]
        keys.append(key)
        counts.append(count.astype(np.int64))
        suffix.append(suf)
        rows = inverse.astype(np.int64)
    tensors = {f"count_{k + 1}": c for k, c in enumerate(counts)}
    tensors |= {f"keys_{k + 1}": keys[k] for k in range(1, order)}
    if smoothing not in ngram.COUNTING:
        tensors |= ngram._discounted(smoothing, counts, keys, suffix, v)
    return tensors


@pytest.mark.parametrize("smoothing", ["kn", "backoff", "add-k"])
@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_fit_matches_the_np_unique_counting(order, smoothing):
    rng = np.random.default_rng(10 + order)
    tokens = rng.zipf(1.2, 30_000) % 800
    got = NgramModel.fit(tokens, 800, ModelConfig(model="ngram", order=order, smoothing=smoothing)).tensors()
    want = unique_fit(tokens, 800, order, smoothing)
    assert got.keys() == want.keys()
    for name in want:
        assert got[name].dtype == want[name].dtype, name
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
