"""N-gram model: hand-computed probabilities, normalisation, storage round trips and ARPA export."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmtui.models import SMOOTHINGS, ModelConfig
from lmtui.models.ngram import NgramModel, kn_discounts

# ids: 0 <unk>, 1 a, 2 b, 3 c; the text "a b a b c a".
TINY = np.array([1, 2, 1, 2, 3, 1])


def fit(tokens: np.ndarray, vocab: int, order: int, smoothing: str = "kn", k: float = 1.0) -> NgramModel:
    return NgramModel.fit(
        np.asarray(tokens), vocab, ModelConfig(model="ngram", order=order, smoothing=smoothing, k=k)
    )


def probs(model: NgramModel, context: list[int]) -> np.ndarray:
    return np.exp(model.start(np.array(context))[1])


def markov_text(n: int, vocab: int, seed: int) -> np.ndarray:
    """Word-like ids: a Zipfian unigram mixed with a Zipfian pick among each word's own likely successors."""
    rng = np.random.default_rng(seed)
    zipf = 1.0 / np.arange(1, vocab) ** 1.1
    uni = rng.choice(np.arange(1, vocab), size=n, p=zipf / zipf.sum())
    few = min(50, vocab - 1)
    near = rng.choice(np.arange(1, few + 1), size=n, p=zipf[:few] / zipf[:few].sum())
    follow = rng.random(n) < 0.6
    out = uni.copy()
    for i in range(1, n):
        if follow[i]:
            out[i] = (out[i - 1] * 7919 + near[i]) % (vocab - 1) + 1
    return out


def test_kn_bigram_by_hand():
    # Bigrams of "a b a b c a": ab x2, ba, bc, ca. Order 2 discounts from counts {2, 1, 1, 1}: n1=3, n2=1,
    # n3=0 so D2 = 2 - 3Y*0/1 = 2 is not < 2 -> fallback D1, D2, D3+ = 0.5, 1, 1.5. Unigram level uses
    # continuation counts N1+(. w): a follows b and c -> 2, b follows a -> 1, c follows b -> 1, <unk> 0;
    # n1=2, n2=1, n3=0 -> fallback too. Total 4; freed mass D2 + D1 + D1 = 2, so gamma = 2/4 = 0.5:
    #   P1(<unk>) = 0.5 * 1/4 = 0.125       P1(a) = (2 - 1)/4 + 0.125 = 0.375
    #   P1(b) = (1 - 0.5)/4 + 0.125 = 0.25  P1(c) = 0.25
    # Context a: c(a b) = 2, c(a) = 2, freed D2 = 1 -> gamma(a) = 1/2:
    #   P(b|a) = (2 - 1)/2 + 0.5 * 0.25 = 0.625, P(<unk>|a) = 0.0625, P(a|a) = 0.1875, P(c|a) = 0.125
    # Context b: c(b a) = c(b c) = 1, c(b) = 2, freed 2 * 0.5 -> gamma(b) = 0.5:
    #   P(a|b) = 0.5/2 + 0.5 * 0.375 = 0.4375, P(c|b) = 0.25 + 0.125 = 0.375,
    #   P(<unk>|b) = 0.0625, P(b|b) = 0.125
    # Context c: c(c a) = 1 -> gamma(c) = 0.5: P(a|c) = 0.5 + 0.1875 = 0.6875, others half the unigram.
    # Context <unk> was never seen: gamma = 1, the unigram distribution itself.
    model = fit(TINY, 4, 2)
    np.testing.assert_allclose(probs(model, [1]), [0.0625, 0.1875, 0.625, 0.125], atol=1e-12)
    np.testing.assert_allclose(probs(model, [2]), [0.0625, 0.4375, 0.125, 0.375], atol=1e-12)
    np.testing.assert_allclose(probs(model, [3]), [0.0625, 0.6875, 0.125, 0.125], atol=1e-12)
    np.testing.assert_allclose(probs(model, [0]), [0.125, 0.375, 0.25, 0.25], atol=1e-12)
    np.testing.assert_allclose(model.discounts, [[0.5, 1.0, 1.5]] * 2)
    assert model.counts_per_order() == [3, 4]
    assert model.num_parameters() == 4 + 4
    # nll of "a b c": -log P(b|a) - log P(c|b)
    assert model.nll(np.array([1, 2, 3])) == (pytest.approx(-math.log(0.625) - math.log(0.375)), 2)


def test_kn_discounts_formula():
    # n1=4, n2=2, n3=1, n4=1: Y = 4/(4+4) = 0.5; D1 = 1 - 2*0.5*2/4 = 0.5, D2 = 2 - 3*0.5*1/2 = 1.25,
    # D3+ = 3 - 4*0.5*1/1 = 1.
    counts = np.array([1, 1, 1, 1, 2, 2, 3, 4, 7, 0])
    np.testing.assert_allclose(kn_discounts(counts), [0.5, 1.25, 1.0])
    np.testing.assert_allclose(kn_discounts(np.array([1, 1])), [0.5, 1.0, 1.5])  # n2 = 0: fallback


def test_laplace_by_hand():
    # Add-1 bigram: P(w|h) = (c(h w) + 1) / (c(h) + V), V = 4. c(a) = 2 (the final a has no successor).
    # P(b|a) = 3/6, others 1/6; P(a|b) = P(c|b) = 2/6; P(a|c) = 2/5.
    # <unk> was never a context: add-1 unigram (c(w) + 1) / (6 + 4) with counts 0, 3, 2, 1.
    model = fit(TINY, 4, 2, "add-k")
    np.testing.assert_allclose(probs(model, [1]), [1 / 6, 1 / 6, 3 / 6, 1 / 6])
    np.testing.assert_allclose(probs(model, [2]), [1 / 6, 2 / 6, 1 / 6, 2 / 6])
    np.testing.assert_allclose(probs(model, [3]), [1 / 5, 2 / 5, 1 / 5, 1 / 5])
    np.testing.assert_allclose(probs(model, [0]), [0.1, 0.4, 0.3, 0.2])
    lidstone = fit(TINY, 4, 2, "add-k", k=0.5)  # (2 + 0.5) / (2 + 0.5 * 4)
    assert probs(lidstone, [1])[2] == pytest.approx(2.5 / 4)


def test_backoff_by_hand():
    # Bigram counts {2, 1, 1, 1}: D = n1/(n1 + 2 n2) = 3/5. P(b|a) = (2 - 0.6)/2 = 0.7; the freed 0.3 goes to
    # the unseen words in proportion to their unigram probabilities (which sum to 1 - P1(b)).
    model = fit(TINY, 4, 2, "backoff")
    p, uni = probs(model, [1]), probs(model, [0])
    assert p[2] == pytest.approx(0.7)
    np.testing.assert_allclose(p[[0, 1, 3]], 0.3 * uni[[0, 1, 3]] / (1 - uni[2]))


corpora = st.lists(st.integers(0, 5), max_size=40)


@settings(max_examples=150, deadline=None)
@given(
    corpus=corpora,
    vocab=st.integers(1, 8),
    order=st.integers(1, 5),
    smoothing=st.sampled_from(SMOOTHINGS),
    k=st.sampled_from([1.0, 0.5, 0.01]),
    contexts=st.lists(st.lists(st.integers(0, 7), min_size=1, max_size=6), min_size=1, max_size=4),
)
def test_distributions_sum_to_one(corpus, vocab, order, smoothing, k, contexts):
    tokens = np.array(corpus, dtype=np.int64) % vocab
    model = fit(tokens, vocab, order, smoothing, k)
    # Seen contexts (windows of the corpus) and arbitrary, mostly unseen ones.
    windows = [tokens[max(0, i - order + 1) : i + 1] for i in range(len(tokens))]
    for context in windows + [np.array(c) % vocab for c in contexts]:
        state, logp = model.start(context)
        assert logp.shape == (vocab,) and logp.dtype == np.float64
        assert np.all(np.isfinite(logp)) or smoothing == "mle"  # mle: unseen words have log 0 = -inf
        assert abs(np.exp(logp).sum() - 1) < 1e-9
        _, logp = model.advance(state, int(context[0]))
        assert (np.all(np.isfinite(logp)) or smoothing == "mle") and abs(np.exp(logp).sum() - 1) < 1e-9


@settings(max_examples=60, deadline=None)
@given(
    corpus=st.lists(st.integers(0, 5), max_size=60),
    text=st.lists(st.integers(0, 6), min_size=1, max_size=30),
    order=st.integers(1, 5),
    smoothing=st.sampled_from(SMOOTHINGS),
)
def test_vectorised_nll_matches_incremental(corpus, text, order, smoothing):
    vocab = 7
    model = fit(np.array(corpus, dtype=np.int64), vocab, order, smoothing, 0.3)
    tokens = np.array(text)
    total, count = model.nll(tokens)
    assert count == len(tokens) - 1
    state, logp = model.start(tokens[:1])
    expected = 0.0
    for i in range(1, len(tokens)):
        np.testing.assert_allclose(logp, model.start(tokens[:i])[1], atol=1e-12)
        expected -= logp[tokens[i]]
        state, logp = model.advance(state, int(tokens[i]))
    assert total == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_tensors_round_trip(smoothing):
    tokens = markov_text(3000, 300, seed=1)
    model = fit(tokens, 300, 4, smoothing, 0.1)
    saved = model.tensors()
    for array in saved.values():
        assert isinstance(array, np.ndarray) and array.flags.c_contiguous and array.dtype.kind in "if"
    assert model.size_bytes() == sum(a.nbytes for a in saved.values())
    copy = NgramModel.from_tensors(model.config, 300, {name: a.copy() for name, a in saved.items()})
    held_out = markov_text(500, 300, seed=2)
    assert copy.nll(held_out) == model.nll(held_out)
    np.testing.assert_array_equal(copy.start(held_out[:5])[1], model.start(held_out[:5])[1])
    assert copy.counts_per_order() == model.counts_per_order()
    assert copy.num_parameters() == model.num_parameters()


def test_tensors_survive_safetensors(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    model = fit(markov_text(2000, 100, seed=3), 100, 3)
    safetensors_numpy.save_file(model.tensors(), tmp_path / "m.safetensors")
    loaded = NgramModel.from_tensors(
        model.config, 100, safetensors_numpy.load_file(tmp_path / "m.safetensors")
    )
    assert loaded.nll(np.arange(100)) == model.nll(np.arange(100))


def test_from_tensors_rejects_bad_tensors():
    model = fit(TINY, 4, 3)
    good, config = model.tensors(), model.config

    def rejects(tensors, match, cfg=config, vocab=4):
        with pytest.raises(ValueError, match=match):
            NgramModel.from_tensors(cfg, vocab, tensors)

    rejects({n: a for n, a in good.items() if n != "logp_2"}, "missing: logp_2")
    rejects(good, "unexpected tensors count_3, keys_3", cfg=ModelConfig(model="ngram", order=2))
    rejects(good, "missing", cfg=ModelConfig(model="ngram", order=4))
    rejects(good, "count_1 is int64\\[4\\], expected int64\\[5\\]", vocab=5)
    rejects(good | {"logp_1": good["logp_1"].astype(np.float32)}, "logp_1 is float32")
    rejects(good | {"count_3": good["count_3"][:-1]}, "count_3")
    rejects(good | {"keys_2": good["keys_2"][::-1].copy()}, "strictly increasing")
    rejects(good | {"keys_2": good["keys_2"] + 100}, "strictly increasing")
    rejects(good, "order must be", cfg=ModelConfig(model="ngram", order=7))


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="token ids"):
        fit(np.array([0, 4]), 4, 2)
    with pytest.raises(ValueError, match="smoothing"):
        fit(TINY, 4, 2, "witten-bell")
    with pytest.raises(ValueError, match="k > 0"):
        fit(TINY, 4, 2, "add-k", k=0.0)
    with pytest.raises(ValueError, match="non-empty"):
        fit(TINY, 4, 2).start(np.array([], dtype=np.int64))


def test_kneser_ney_beats_laplace_on_held_out_text():
    vocab = 2000
    train, test = markov_text(40_000, vocab, seed=4), markov_text(5000, vocab, seed=5)
    ppl = {s: fit(train, vocab, 3, s).perplexity(test) for s in SMOOTHINGS}
    assert ppl["kn"] < ppl["backoff"] < ppl["add-k"]
    assert ppl["kn"] < 0.5 * ppl["add-k"]


def read_arpa(path: Path) -> tuple[int, dict[tuple[str, ...], tuple[float, float]]]:
    """A minimal ARPA reader: order and {words: (log10 p, log10 backoff)}; checks the header counts."""
    declared, entries, order = {}, {}, 0
    for line in Path(path).read_text().splitlines():
        if line.startswith("ngram "):
            k, count = line[6:].split("=")
            declared[int(k)] = int(count)
        elif line.endswith("-grams:"):
            order = int(line[1:].split("-")[0])
        elif line and order and not line.startswith("\\"):
            fields = line.split("\t")
            entries[tuple(fields[1].split(" "))] = (
                float(fields[0]),
                float(fields[2]) if len(fields) > 2 else 0.0,
            )
    assert declared == {k: sum(len(g) == k for g in entries) for k in declared}
    return max(declared), entries


def arpa_log10_prob(entries: dict, order: int, context: list[str], word: str) -> float:
    """Standard backoff: p(h w) if stored, else bow(h) + log10 P(w | h minus its first word)."""
    context = context[max(0, len(context) - order + 1) :] if order > 1 else []
    if tuple(context + [word]) in entries:
        return entries[tuple(context + [word])][0]
    return entries.get(tuple(context), (0.0, 0.0))[1] + arpa_log10_prob(entries, order, context[1:], word)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("smoothing", ["kn", "backoff"])
def test_arpa_round_trip(tmp_path, order, smoothing):
    vocab = 40
    names = ["<unk>"] + [f"w{i}" for i in range(1, vocab)]
    model = fit(markov_text(3000, vocab, seed=6), vocab, order, smoothing)
    model.write_arpa(tmp_path / "m.arpa", names)
    text = (tmp_path / "m.arpa").read_text()
    assert text.startswith("\\data\\\n") and text.endswith("\\end\\\n")
    read_order, entries = read_arpa(tmp_path / "m.arpa")
    assert read_order == order
    assert entries[("<s>",)][0] == -99 and ("</s>",) in entries
    rng = np.random.default_rng(order)
    seen = markov_text(200, vocab, seed=7)
    contexts = [seen[i : i + order] for i in range(0, 150, 10)] + [
        rng.integers(0, vocab, size=3) for _ in range(5)
    ]
    for context in contexts:
        words = [names[t] for t in context]
        arpa = [arpa_log10_prob(entries, order, words, w) for w in names]
        np.testing.assert_allclose(arpa, model.start(context)[1] / math.log(10), atol=1e-6)


def test_arpa_refuses_add_k(tmp_path):
    with pytest.raises(ValueError, match="kn and backoff"):
        fit(TINY, 4, 2, "add-k").write_arpa(tmp_path / "m.arpa", ["<unk>", "a", "b", "c"])


@pytest.mark.parametrize(("order", "smoothing"), [(3, "kn"), (4, "backoff"), (5, "kn")])
def test_kenlm_reads_the_same_model(tmp_path, order, smoothing):
    kenlm = pytest.importorskip("kenlm")
    vocab = 500
    names = ["<unk>"] + [f"w{i}" for i in range(1, vocab)]
    model = fit(markov_text(20_000, vocab, seed=8), vocab, order, smoothing)
    model.write_arpa(tmp_path / "m.arpa", names)
    reader = kenlm.Model(str(tmp_path / "m.arpa"))
    test = markov_text(3000, vocab, seed=9)
    scores = [s[0] for s in reader.full_scores(" ".join(names[t] for t in test), bos=False, eos=False)]
    ours = model.token_log_probs(test) / math.log(10)
    # Within 0.01% in probability: |log10 ratio| < log10(1.0001).
    assert np.max(np.abs(np.array(scores[1:]) - ours)) < math.log10(1.0001)
