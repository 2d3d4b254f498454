"""Sampling: temperature, top-k, top-p, seeds, primes, stop lines and next-token predictions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lmtui.errors import LmtuiError
from lmtui.models import LanguageModel, ModelConfig
from lmtui.models.neural import RecurrentModel
from lmtui.sampling import (
    SampleSettings,
    distribution,
    drawable,
    generate,
    predict_next,
    prime_ids,
    sample_text,
)
from lmtui.tokens import CharTokenizer, WordTokenizer


class FixedModel(LanguageModel):
    """Always the same next-token log-probabilities, or a scripted token sequence (one-hot-ish)."""

    def __init__(self, logp: np.ndarray | None = None, script: list[int] | None = None, vocab: int = 0):
        self.config = ModelConfig(model="ngram")
        self.script = script
        self.vocab_size = len(logp) if logp is not None else vocab
        self.logp = logp
        self.starts: list[np.ndarray] = []
        self.drawn: list[int] = []

    def _out(self, i: int) -> np.ndarray:
        if self.script is None:
            return self.logp
        logits = np.zeros(self.vocab_size)
        logits[self.script[min(i, len(self.script) - 1)]] = 40.0
        return logits - np.log(np.exp(logits - logits.max()).sum()) - logits.max()

    def start(self, context):
        self.starts.append(np.asarray(context))
        return 0, self._out(0)

    def advance(self, state, token):
        self.drawn.append(token)
        return state + 1, self._out(state + 1)

    def nll(self, tokens):
        return 0.0, 0

    def num_parameters(self):
        return 0

    def size_bytes(self):
        return 0

    def tensors(self):
        return {}

    @classmethod
    def from_tensors(cls, config, vocab_size, tensors):
        raise NotImplementedError


ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?'\"\n"


@pytest.fixture(scope="module")
def char_setup():
    tok = CharTokenizer.build(ALPHABET)
    torch.manual_seed(0)
    model = RecurrentModel(ModelConfig(model="lstm", embed=8, hidden=16), len(tok))
    return tok, model


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max()
    return x - np.log(np.exp(x).sum())


# -- reproducibility and greedy decoding


def test_seeded_sampling_is_reproducible(char_setup):
    tok, model = char_setup
    a = sample_text(model, tok, SampleSettings(temperature=1.0, length=80, seed=5))
    b = sample_text(model, tok, SampleSettings(temperature=1.0, length=80, seed=5))
    c = sample_text(model, tok, SampleSettings(temperature=1.0, length=80, seed=6))
    assert a == b
    assert len(a) == 80
    assert a != c


def test_temperature_zero_is_repeated_argmax(char_setup):
    tok, model = char_setup
    prime = "The king"
    state, logp = model.start(tok.encode(prime))
    expected = []
    for _ in range(40):
        token = int(np.argmax(logp))
        expected.append(token)
        state, logp = model.advance(state, token)
    got = sample_text(model, tok, SampleSettings(temperature=0, length=40, prime=prime, seed=1))
    assert got == tok.decode(expected)
    # greedy needs no seed: any seed gives the same text
    assert sample_text(model, tok, SampleSettings(temperature=0, length=40, prime=prime, seed=99)) == got


def test_distribution_at_temperature_zero_is_one_hot():
    logp = log_softmax(np.array([0.1, 2.0, -1.0, 1.9]))
    np.testing.assert_array_equal(distribution(logp, 0, None, None), [0, 1, 0, 0])
    np.testing.assert_array_equal(distribution(logp, 0, 3, 0.5), [0, 1, 0, 0])


def test_temperature_sharpens_and_flattens():
    logp = log_softmax(np.array([1.0, 0.0, -1.0]))
    cold, warm, hot = (distribution(logp, t, None, None) for t in (0.5, 1.0, 4.0))
    np.testing.assert_allclose(warm, np.exp(logp))
    np.testing.assert_allclose(cold, np.exp(log_softmax(logp / 0.5)))
    assert cold[0] > warm[0] > hot[0] and hot[2] > warm[2] > cold[2]


# -- top-k and top-p


@settings(max_examples=100, deadline=None)
@given(
    st.integers(2, 40).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(-30, 30), min_size=n, max_size=n, unique=True), st.integers(1, n)
        )
    )
)
def test_top_k_keeps_exactly_the_k_most_likely(case):
    logits, k = np.array(case[0]), case[1]
    full = distribution(log_softmax(logits), 1.0, None, None)
    assume(np.unique(full).size == len(full))  # no ties (those are test_top_k_with_ties' business)
    probs = distribution(log_softmax(logits), 1.0, k, None)
    kept = np.flatnonzero(probs)
    assert len(kept) == k
    assert set(kept) == set(np.argsort(-logits)[:k])
    np.testing.assert_allclose(probs[kept], full[kept] / full[kept].sum())
    assert probs.sum() == pytest.approx(1.0)


def test_top_k_with_ties_keeps_exactly_k():
    """Tokens tied with the k-th probability must not all be kept."""
    logp = np.log(np.full(6, 1 / 6))
    for k in (1, 2, 5):
        assert np.count_nonzero(distribution(logp, 1.0, k, None)) == k


def test_top_p_keeps_the_smallest_nucleus():
    probs = np.array([0.05, 0.5, 0.15, 0.3])
    logp = np.log(probs)
    cases = {0.4: [1], 0.75: [1, 3], 0.81: [1, 2, 3], 0.97: [0, 1, 2, 3], 1.0: [0, 1, 2, 3]}
    for top_p, keep in cases.items():
        out = distribution(logp, 1.0, None, top_p)
        assert list(np.flatnonzero(out)) == keep, top_p
        np.testing.assert_allclose(out[keep], probs[keep] / probs[keep].sum())


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 40), elements=st.floats(-20, 20)), st.floats(0.01, 1.0))
def test_top_p_nucleus_property(logits, top_p):
    probs = np.exp(log_softmax(logits))
    out = distribution(log_softmax(logits), 1.0, None, top_p)
    kept = np.flatnonzero(out)
    mass = probs[kept].sum()
    assert mass >= top_p - 1e-9  # enough mass...
    assert mass - probs[kept].min() < top_p + 1e-9  # ...and nothing to spare: the smallest such set
    outside = np.setdiff1d(np.arange(len(probs)), kept)
    if len(outside):
        assert probs[outside].max() <= probs[kept].min() + 1e-12  # the most likely tokens
    assert out.sum() == pytest.approx(1.0)


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(1, 60), elements=st.floats(-1e4, 1e4)),
    st.one_of(st.just(0.0), st.floats(1e-3, 100.0)),
    st.one_of(st.none(), st.integers(1, 80)),
    st.one_of(st.none(), st.floats(1e-3, 1.0)),
    st.integers(0, 2**32 - 1),
)
def test_distribution_is_always_a_valid_distribution(logits, temperature, top_k, top_p, seed):
    probs = distribution(logits, temperature, top_k, top_p)
    assert probs.shape == logits.shape
    assert np.all(np.isfinite(probs)) and np.all(probs >= 0)
    assert probs.sum() == pytest.approx(1.0, abs=1e-9)
    kept = probs > 0
    full = distribution(logits, temperature, None, None)  # before top-k / top-p
    assert full[kept].max() == full.max()  # the most likely token always survives
    if not kept.all():  # whatever was cut is no more likely than anything kept
        assert full[~kept].max() <= full[kept].min()
    if top_k is not None and temperature > 0:
        scaled = np.exp(logits / temperature - (logits / temperature).max())
        if np.unique(scaled).size == scaled.size:  # ties at the cut are test_top_k_with_ties' business
            assert kept.sum() <= top_k
    # sampling from it never leaves the vocabulary, nor picks a token it removed
    model = FixedModel(logits)
    tok = CharTokenizer(["<unk>", *(chr(0x4E00 + i) for i in range(len(logits) - 1))])
    settings = SampleSettings(temperature, top_k, top_p, length=20, seed=seed, allow_unk=True)
    text = sample_text(model, tok, settings)
    assert len(text) == 20
    assert len(model.drawn) == 20
    assert all(0 <= i < len(logits) and probs[i] > 0 for i in model.drawn)


def test_tiny_temperature_behaves_like_greedy():
    """Dividing before shifting by the maximum once overflowed to -inf and gave NaN probabilities."""
    logp = log_softmax(np.array([1.0, 3.0, 2.0]))
    probs = distribution(logp, 1e-310, None, None)
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs, [0.0, 1.0, 0.0])


def test_sampling_only_ever_picks_from_the_top_k(char_setup):
    tok, _ = char_setup
    logits = np.linspace(0, 3, len(tok))
    model = FixedModel(log_softmax(logits))
    text = sample_text(model, tok, SampleSettings(temperature=2.0, top_k=3, length=300, seed=0))
    allowed = {tok.vocab[i] for i in np.argsort(-logits)[:3]}
    assert set(text) == allowed  # all three show up in 300 draws at a high temperature, nothing else


# -- settings


@pytest.mark.parametrize(
    "bad",
    [
        dict(temperature=-1.0),
        dict(temperature=float("nan")),
        dict(temperature=float("inf")),
        dict(temperature=-0.001),
        dict(top_k=0),
        dict(top_k=-3),
        dict(top_p=0.0),
        dict(top_p=1.5),
        dict(top_p=-0.2),
        dict(top_p=float("nan")),
        dict(length=0),
        dict(length=-5),
        dict(stop_lines=0),
    ],
)
def test_invalid_settings_raise(bad, char_setup):
    tok, model = char_setup
    settings = SampleSettings(**bad)
    with pytest.raises(LmtuiError) as exc:
        settings.validate()
    assert "\n" not in str(exc.value)
    with pytest.raises(LmtuiError):
        sample_text(model, tok, settings)


def test_valid_edge_settings_are_accepted():
    s = SampleSettings(temperature=0, top_k=1, top_p=1.0, length=1, stop_lines=1)
    assert s.validate() is s
    assert s.to_dict()["top_p"] == 1.0


# -- primes, stop lines, word pieces


def test_prime_with_unseen_characters(char_setup):
    tok, model = char_setup
    prime = "Zürich ⚓ says ü"
    assert tok.unknown(prime) == ["ü", "⚓"]
    ids = prime_ids(tok, prime)
    assert ids.tolist().count(0) == 3 and len(ids) == len(prime)
    text = sample_text(model, tok, SampleSettings(temperature=0.7, length=25, prime=prime, seed=3))
    assert len(text) == 25


def test_empty_prime_starts_at_a_new_line():
    tok = CharTokenizer.build("ab\n")
    model = FixedModel(log_softmax(np.array([0.0, 1.0, 2.0, 3.0])))
    sample_text(model, tok, SampleSettings(length=3, seed=0))
    assert model.starts[-1].tolist() == [tok.index["\n"]]
    no_newline = CharTokenizer.build("ab")
    assert prime_ids(no_newline, "").tolist() == [0]


def test_stop_lines_stops_after_that_many_newlines():
    tok = CharTokenizer.build("ab\n")
    nl = tok.index["\n"]
    model = FixedModel(
        script=[tok.index["a"], nl, tok.index["b"], nl, tok.index["a"], nl] * 10, vocab=len(tok)
    )
    assert sample_text(model, tok, SampleSettings(length=50, stop_lines=2, seed=0)) == "a\nb\n"
    assert sample_text(model, tok, SampleSettings(length=50, seed=0)).count("\n") == 25
    assert sample_text(model, tok, SampleSettings(length=50, stop_lines=1, temperature=0)) == "a\n"


def test_word_level_pieces_join_with_proper_spaces():
    tok = WordTokenizer.build("Hello , world ! ( yes ) \n")
    script = [tok.index[t] for t in ["Hello", ",", "world", "!", "\n", "(", "yes", ")", "world"]]
    model = FixedModel(script=script, vocab=len(tok))
    pieces = list(generate(model, tok, SampleSettings(temperature=0, length=9)))
    assert "".join(pieces) == "Hello, world!\n(yes) world"
    assert pieces[:3] == ["Hello", ",", " world"]


# -- next-token predictions


def test_predict_next_is_sorted_and_matches_the_model(char_setup):
    tok, model = char_setup
    preds = predict_next(model, tok, "The sailor", top=7)
    assert len(preds) == 7
    probs = [p.prob for p in preds]
    assert probs == sorted(probs, reverse=True)
    logp = model.next_log_probs(tok.encode("The sailor"))
    best = np.argsort(-logp, kind="stable")[:7]
    assert [p.token for p in preds] == [tok.display(int(i)) for i in best]
    np.testing.assert_allclose(probs, np.exp(logp[best]), rtol=1e-12)
    assert 0 < sum(probs) <= 1 + 1e-9


def test_predict_next_caps_top_and_shows_newline():
    tok = CharTokenizer.build("a\n")
    model = FixedModel(log_softmax(np.array([0.0, 5.0, 1.0])))  # <unk>, "\n", "a"
    preds = predict_next(model, tok, "a", top=50)
    assert [p.token for p in preds] == ["⏎", "a", "<unk>"]
    assert sum(p.prob for p in preds) == pytest.approx(1.0)
    assert len(predict_next(model, tok, "a", top=0)) == 1
    assert math.isclose(preds[0].prob, math.exp(log_softmax(np.array([0.0, 5.0, 1.0]))[1]))


# -- <unk> is not sampled unless allowed (issue 10 item 13)


def test_word_samples_never_print_unk_by_default(english_text):
    from lmtui.models import ModelConfig, model_class
    from lmtui.tokens import build_and_encode

    tok, ids = build_and_encode("word", english_text, max_vocab=30)  # a small vocabulary: <unk> is common
    assert (ids == 0).mean() > 0.05
    model = model_class("ngram").fit(ids, len(tok), ModelConfig(model="ngram", level="word", order=2))
    for seed in range(30):
        text = sample_text(model, tok, SampleSettings(temperature=1.0, length=100, seed=seed))
        assert "<unk>" not in text
    greedy = SampleSettings(temperature=0, length=50, prime="the")
    assert "<unk>" not in sample_text(model, tok, greedy)
    allowed = "".join(
        sample_text(model, tok, SampleSettings(temperature=1.0, length=100, seed=s, allow_unk=True))
        for s in range(10)
    )
    assert "<unk>" in allowed  # the option lets it through, at its own probability


def test_drawable_leaves_unk_out_only():
    logp = np.log(np.array([0.5, 0.3, 0.2]))
    out = drawable(logp)
    assert out[0] == -np.inf and np.array_equal(out[1:], logp[1:])
    assert drawable(logp, allow_unk=True) is logp
    probs = distribution(out, 1.0, None, None)
    assert probs[0] == 0 and probs[1:] == pytest.approx([0.6, 0.4])
def test_predict_next_shows_what_sampling_draws_from():
    """Temperature reshapes the shown probabilities; top-k cuts to 0; greedy puts everything on one token."""
    tok = CharTokenizer.build("abc\n")
    logp = log_softmax(np.array([-9.0, 0.0, 2.0, 1.0, 0.5]))  # <unk>, "\n", "a", "b", "c"
    model = FixedModel(logp)
    plain = predict_next(model, tok, "a", top=5)
    warm = predict_next(model, tok, "a", top=5, temperature=2.0)
    cool = predict_next(model, tok, "a", top=5, temperature=0.5)
    assert [p.token for p in plain] == [p.token for p in warm] == ["a", "b", "c", "⏎", "<unk>"]
    assert cool[0].prob > plain[0].prob > warm[0].prob  # cooler: sharper; warmer: flatter
    assert [p.model_prob for p in warm] == pytest.approx([p.prob for p in plain])
    np.testing.assert_allclose([p.prob for p in warm],
                               distribution(logp.copy(), 2.0, None, None)[[2, 3, 4, 1, 0]])
    top2 = predict_next(model, tok, "a", top=5, temperature=1.0, top_k=2)
    assert [p.prob > 0 for p in top2] == [True, True, False, False, False]
    assert sum(p.prob for p in top2) == pytest.approx(1.0)
    greedy = predict_next(model, tok, "a", top=5, temperature=0)
    assert [p.prob for p in greedy] == [1.0, 0.0, 0.0, 0.0, 0.0]


def test_a_negative_seed_is_refused_with_a_message():
    with pytest.raises(LmtuiError, match="seed"):
        SampleSettings(seed=-1).validate()


def test_predict_next_gives_unk_no_share_of_what_is_sampled_unless_allowed():
    tok = CharTokenizer.build("abc\n")
    logp = log_softmax(np.array([3.0, 0.0, 2.0, 1.0, 0.5]))  # <unk> the most likely
    model = FixedModel(logp)
    shown = predict_next(model, tok, "a", top=5, allow_unk=False)
    unk = next(p for p in shown if p.token == "<unk>")
    assert unk.prob == 0 and unk.model_prob == pytest.approx(np.exp(logp[0]))
    assert sum(p.prob for p in shown) == pytest.approx(1.0)
    assert next(p for p in predict_next(model, tok, "a", top=5) if p.token == "<unk>").prob > 0


# -- nothing drawable left (issue 19 item 4): back off to a shorter context, or stop, and say so


def _recording(model):
    """Wrap ``model.start``/``advance``: keep the (state, log-probs) each draw came from, and the draws."""
    seen: list[tuple] = []
    drawn: list[int] = []
    start, advance = model.start, model.advance

    def rec_start(context):
        out = start(context)
        seen.append(out)
        return out

    def rec_advance(state, token):
        drawn.append(int(token))
        out = advance(state, token)
        seen.append(out)
        return out

    model.start, model.advance = rec_start, rec_advance
    return seen, drawn


def _mle(tokens, vocab: int, order: int):
    from lmtui.models.ngram import NgramModel

    cfg = ModelConfig(model="ngram", order=order, smoothing="mle")
    return NgramModel.fit(np.asarray(tokens, dtype=np.int64), vocab, cfg)


def test_mle_context_followed_only_by_unk_backs_off_and_says_so():
    import warnings
    from collections import Counter

    tok = CharTokenizer(["<unk>", "a", "b"])
    # after "b" only <unk> ever came: with <unk> left out, the bigram context leaves nothing to draw
    model = _mle([1, 2, 0, 1, 2, 0, 1, 1], 3, 2)
    assert np.isneginf(drawable(model.start(np.array([2]))[1])).all()
    for temperature in (0, 1.0, 1e-6):
        notes: Counter[str] = Counter()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no NaN arithmetic anywhere on the way
            settings_ = SampleSettings(temperature, length=1, prime="b", seed=0)
            text = "".join(generate(model, tok, settings_, notes))
        assert text in ("a", "b") and "<unk>" not in text  # drawn from the unigram, never id 0 from NaN
        assert list(notes) == ["backed off to the unigram: its context was only ever followed by <unk>, "
                               "which samples leave out (--allow-unk lets it in)"]
    allowed = sample_text(model, tok, SampleSettings(0, length=1, prime="b", allow_unk=True))
    assert allowed == tok.decode([0])  # with <unk> allowed, the context's own (only) continuation


def test_nothing_drawable_anywhere_ends_the_sample_with_a_note():
    from collections import Counter

    tok = CharTokenizer(["<unk>", "a"])
    only_unk = _mle([0, 0, 0, 0], 2, 3)  # every context, the unigram too, only ever saw <unk>
    notes: Counter[str] = Counter()
    assert "".join(generate(only_unk, tok, SampleSettings(length=10, seed=1), notes)) == ""
    assert [n.split(":")[0] for n in notes] == ["stopped early"]
    broken = FixedModel(np.full(2, np.nan))  # a diverged network
    notes = Counter()
    assert "".join(generate(broken, tok, SampleSettings(temperature=0, length=5), notes)) == ""
    assert "NaN" in next(iter(notes))
    assert predict_next(broken, tok, "a", top=2)[0].prob == 0  # nothing to draw: every share is 0


@settings(max_examples=150, deadline=None)
@given(
    st.integers(2, 6).flatmap(lambda v: st.tuples(
        st.just(v),
        st.lists(st.integers(0, v - 1), min_size=1, max_size=60),  # training ids, <unk> (0) among them
        st.lists(st.integers(0, v - 1), min_size=1, max_size=5),  # a prime, seen or not
        st.one_of(st.none(), st.integers(1, v)),
    )),
    st.integers(1, 4),
    st.one_of(st.just(0.0), st.just(1e-300), st.floats(1e-4, 20.0), st.just(1e6)),
    st.one_of(st.none(), st.floats(0.01, 1.0)),
    st.booleans(),
    st.integers(0, 2**16),
)
def test_sampling_never_draws_nan_nor_an_excluded_token(case, order, temperature, top_p, allow_unk, seed):
    """Whatever the settings and the model's holes: each draw is a token that the distribution it was drawn
    from (the context's own or a shorter one it backed off to) gives probability; <unk> only when allowed;
    a sample shorter than asked always says why."""
    import warnings
    from collections import Counter

    vocab, train, prime, top_k = case
    model = _mle(train, vocab, order)
    tok = CharTokenizer(["<unk>", *"abcde"[: vocab - 1]])
    seen, drawn = _recording(model)
    notes: Counter[str] = Counter()
    s = SampleSettings(temperature, top_k, top_p, length=30, seed=seed, allow_unk=allow_unk,
                       prime=tok.decode(prime) if 0 not in prime else "")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pieces = list(generate(model, tok, s, notes))
    assert len(pieces) == len(drawn)
    for (state, logp), token in zip(seen, drawn, strict=False):
        assert allow_unk or token != 0
        options = [logp] + [lower for _, lower in model.shorter_contexts(state)]
        assert any(np.isfinite(lp[token]) for lp in options)  # it had a probability where it was drawn
    if not allow_unk:
        assert tok.decode([0]) not in "".join(pieces)
    if len(pieces) < s.length:
        assert any(n.startswith("stopped early") for n in notes)
    if any(n.startswith("backed off") for n in notes):
        assert not allow_unk  # only leaving <unk> out can empty an mle context that was seen


@settings(max_examples=100, deadline=None)
@given(
    st.lists(hnp.arrays(np.float64, 5, elements=st.sampled_from([-np.inf, np.nan, -3.0, -1.0, 0.0, np.inf])),
             min_size=1, max_size=8),
    st.one_of(st.just(0.0), st.just(1e-300), st.floats(1e-4, 20.0)),
    st.one_of(st.none(), st.integers(1, 5)),
    st.one_of(st.none(), st.floats(0.01, 1.0)),
    st.booleans(),
)
def test_broken_distributions_never_give_a_nan_draw(rows, temperature, top_k, top_p, allow_unk):
    """A model with no shorter context to fall back on, whose log-probs hold -inf, NaN, +inf: only finite
    entries are ever drawn, and where none is left the sample stops there with a note."""
    import warnings
    from collections import Counter

    class Scripted(FixedModel):
        def _out(self, i):
            return rows[min(i, len(rows) - 1)]

    model = Scripted(rows[0])
    tok = CharTokenizer(["<unk>", *"abcd"])
    notes: Counter[str] = Counter()
    settings_ = SampleSettings(temperature, top_k, top_p, length=len(rows), seed=0, allow_unk=allow_unk)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pieces = list(generate(model, tok, settings_, notes))
    for i, token in enumerate(model.drawn):
        assert np.isfinite(rows[i][token]) and (allow_unk or token != 0)
    if len(pieces) < len(rows):
        row = rows[len(pieces)]
        assert not np.isfinite(drawable(row, allow_unk)).any() and any(n.startswith("stopped") for n in notes)
