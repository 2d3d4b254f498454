"""Property tests: tokenizers from any data, every model's next-token distribution, sampling's token ids.

test_tokens.py already checks char/word round trips and that encoding any text never crashes; test_ngram.py
that n-gram distributions sum to one; test_sampling.py ``distribution`` on random logits with a fixed model.
"""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmtui.models import ModelConfig, model_class
from lmtui.sampling import SampleSettings, generate
from lmtui.tokens import UNK, CharTokenizer, Tokenizer, WordTokenizer, build_tokenizer

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- tokenizers


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
tokenizer_dicts = st.fixed_dictionaries(
    {},
    optional={
        "level": st.sampled_from(["char", "word", "bpe", None, 3]),
        "vocab": st.lists(st.text(max_size=3), max_size=8).map(lambda v: [UNK, *v]) | json_values,
    },
)


@FAST
@given(st.one_of(tokenizer_dicts, json_values), st.text(max_size=40))
def test_tokenizer_from_any_json_is_refused_cleanly_or_works(data, text):
    """A run.json from a stranger: ``from_dict`` raises ValueError (shown as one line) or gives a tokenizer
    that encodes and decodes anything."""
    try:
        tok = Tokenizer.from_dict(data)
    except ValueError:
        return
    ids = tok.encode(text)
    assert ids.dtype.kind == "i" and all(0 <= i < len(tok) for i in ids.tolist())
    assert isinstance(tok.decode(ids), str) and isinstance(tok.decode(list(range(len(tok)))), str)
    assert all(isinstance(tok.display(i), str) for i in range(len(tok)))


@FAST
@given(st.text(max_size=200), st.sampled_from(["char", "word"]), st.text(max_size=60))
def test_tokenizer_survives_json_and_encodes_the_same(train_text, level, other):
    tok = build_tokenizer(level, train_text)
    again = Tokenizer.from_dict(json.loads(json.dumps(tok.to_dict(), ensure_ascii=False)))
    assert again.vocab == tok.vocab
    assert again.encode(other).tolist() == tok.encode(other).tolist()
    assert set(tok.unknown(other)) == {t for t in tok.split(other) if tok.encode(t).tolist() == [0]}


@FAST
@given(
    st.lists(st.sampled_from(["a", "b", "cc", "d'e", "f", ",", "\n", "g", "h", "é"]), max_size=80),
    st.integers(1, 12),
    st.integers(1, 4),
)
def test_word_vocabulary_is_the_top_of_the_full_ranking(words, max_vocab, min_count):
    text = " ".join(words)
    tok = WordTokenizer.build(text, max_vocab=max_vocab, min_count=min_count)
    counts: dict[str, int] = {}
    for w in tok.split(text):
        counts[w] = counts.get(w, 0) + 1
    ranked = sorted((c for c in counts.items() if c[1] >= min_count), key=lambda c: (-c[1], c[0]))
    assert tok.vocab == [UNK, *(w for w, _ in ranked[:max_vocab])]


@FAST
@given(st.text(min_size=1, max_size=100))
def test_char_decode_of_encode_is_the_text_with_unknowns_replaced(text):
    tok = CharTokenizer.build(text[: len(text) // 2])
    decoded = tok.decode(tok.encode(text))
    assert len(decoded) == len(text)
    assert all(d == c or (d == "\ufffd" and c not in tok.index) for c, d in zip(text, decoded, strict=True))


# -- every model's next-token distribution


def assert_distribution(logp: np.ndarray, vocab: int) -> None:
    assert logp.shape == (vocab,)
    probs = np.exp(logp)
    assert np.all(np.isfinite(logp)) and np.all(probs >= 0)
    assert abs(probs.sum() - 1) < 1e-6


@settings(max_examples=80, deadline=None)
@given(
    corpus=st.lists(st.integers(0, 9), min_size=1, max_size=80),
    vocab=st.integers(10, 14),  # ids 10.. never occur in the corpus: unseen but in the vocabulary
    order=st.integers(1, 6),
    smoothing=st.sampled_from(["kn", "add-k", "backoff"]),
    k=st.sampled_from([1.0, 0.1, 1e-3]),
    contexts=st.lists(st.lists(st.integers(0, 13), min_size=1, max_size=8), min_size=1, max_size=3),
)
def test_ngram_next_token_distribution_is_valid(corpus, vocab, order, smoothing, k, contexts):
    cfg = ModelConfig(model="ngram", order=order, smoothing=smoothing, k=k)
    model = model_class("ngram").fit(np.array(corpus, dtype=np.int64), vocab, cfg)
    for context in contexts:
        state, logp = model.start(np.array(context, dtype=np.int64) % vocab)
        assert_distribution(logp, vocab)
        for token in (vocab - 1, 0, int(context[0]) % vocab):
            state, logp = model.advance(state, token)
            assert_distribution(logp, vocab)


VOCAB = 13
NEURAL = [
    ("window", {"context": 3}),
    ("rnn", {}),
    ("lstm", {"layers": 2}),
    ("gru", {"embed": 10, "hidden": 10, "tie_weights": True}),
    ("lstm", {"softmax": "adaptive"}),
    ("window", {"context": 2, "softmax": "adaptive"}),
]


@cache
def tiny_net(kind: str, index: int, scale: float):
    """A tiny net with random weights (scaled up, so the logits are far from uniform)."""
    torch.manual_seed(index)
    extra = dict(NEURAL[index][1])
    cfg = ModelConfig(model=kind, embed=extra.pop("embed", 6), hidden=extra.pop("hidden", 10), **extra)
    model = model_class(kind)(cfg, VOCAB)
    with torch.no_grad():
        for p in model.net.parameters():
            p.mul_(scale)
    return model


@settings(max_examples=40, deadline=None)
@given(
    index=st.integers(0, len(NEURAL) - 1),
    scale=st.sampled_from([1.0, 30.0]),
    context=st.lists(st.integers(0, VOCAB - 1), min_size=1, max_size=90),  # past SHORT_CONTEXT too
    more=st.lists(st.integers(0, VOCAB - 1), max_size=5),
)
def test_neural_next_token_distribution_is_valid(index, scale, context, more):
    model = tiny_net(NEURAL[index][0], index, scale)
    state, logp = model.start(np.array(context, dtype=np.int32))
    assert_distribution(logp, VOCAB)
    for token in more:
        state, logp = model.advance(state, token)
        assert_distribution(logp, VOCAB)


# -- sampling never leaves the vocabulary


class Recording:
    """Wraps a model and records every token generation feeds back to it."""

    def __init__(self, model):
        self.model, self.tokens = model, []

    def start(self, context):
        return self.model.start(context)

    def advance(self, state, token):
        self.tokens.append(token)
        return self.model.advance(state, token)


@cache
def tiny_models():
    text = "the cat sat on the mat.\nthe dog ate the hat!\n" * 3
    char, word = CharTokenizer.build(text), WordTokenizer.build(text)
    out = []
    for tok in (char, word):
        ids = tok.encode(text)
        out.append((tok, model_class("ngram").fit(ids, len(tok), ModelConfig(model="ngram", order=3))))
        torch.manual_seed(0)
        out.append((tok, model_class("lstm")(ModelConfig(model="lstm", embed=6, hidden=8), len(tok))))
    return out


temperatures = st.sampled_from([0.0, 5e-324, 1e-300, 1e-6, 0.5, 1.0, 3.0, 1e6, 1e300]) | st.floats(1e-3, 50)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # x / 1e-300 = -inf: expected
@settings(max_examples=80, deadline=None)
@given(
    which=st.integers(0, 3),
    temperature=temperatures,
    top_k=st.none() | st.integers(1, 40),
    top_p=st.none() | st.floats(1e-9, 1.0, exclude_min=False) | st.just(1.0),
    prime=st.text(max_size=12),
    seed=st.integers(0, 2**32 - 1),
)
def test_sampling_never_emits_an_id_outside_the_vocabulary(which, temperature, top_k, top_p, prime, seed):
    tokenizer, model = tiny_models()[which]
    recorder = Recording(model)
    pieces = list(
        generate(recorder, tokenizer, SampleSettings(temperature, top_k, top_p, 25, prime, None, seed))
    )
    assert len(pieces) == 25 and len(recorder.tokens) == 25
    assert all(isinstance(t, int) and 0 <= t < len(tokenizer) for t in recorder.tokens)
    assert all(isinstance(p, str) for p in pieces)
    if temperature == 0 or top_k == 1:  # greedy: the same text whatever the seed
        again = Recording(model)
        list(generate(again, tokenizer, SampleSettings(temperature, top_k, top_p, 25, prime, None, seed ^ 1)))
        assert again.tokens == recorder.tokens
