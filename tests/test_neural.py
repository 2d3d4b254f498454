"""Neural models: scoring agrees with incremental use, weights round-trip, sizes are predicted exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lmtui.models import ModelConfig, estimate_parameters, model_class, neural
from lmtui.models.neural import RecurrentModel, WindowModel

KINDS = ["window", "rnn", "lstm", "gru"]
VOCAB = 17


def build(kind: str, vocab: int = VOCAB, seed: int = 0, **overrides):
    torch.manual_seed(seed)
    cfg = dict(model=kind, embed=8, hidden=16, context=4, layers=1)
    cfg.update(overrides)
    return model_class(kind)(ModelConfig(**cfg), vocab)


def tokens(n: int, vocab: int = VOCAB, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, vocab, size=n).astype(np.int32)


def incremental_nll(model, toks: np.ndarray) -> float:
    """-sum log P(toks[i+1] | toks[:i+1]) with start/advance, one token at a time."""
    state, logp = model.start(toks[:1])
    total = -logp[toks[1]]
    for i in range(1, len(toks) - 1):
        state, logp = model.advance(state, int(toks[i]))
        total -= logp[toks[i + 1]]
    return float(total)


def stream_nll(model, toks: np.ndarray, chunk: int) -> float:
    """What ``nll`` documents: the text is cut into parallel streams, each read from a fresh state; the few
    tokens left over continue the last stream."""
    n = len(toks) - 1
    streams = max(1, min(64, n // chunk))
    length = n // streams
    total = 0.0
    for s in range(streams):
        end = (s + 1) * length + 1 if s < streams - 1 else n + 1
        total += incremental_nll(model, toks[s * length : end])
    return total


def model_variants():
    for kind in KINDS:
        yield pytest.param(kind, {}, id=kind)
    yield pytest.param("lstm", {"layers": 2}, id="lstm-2layers")
    yield pytest.param("gru", {"layers": 2, "embed": 16, "tie_weights": True}, id="gru-tied")
    yield pytest.param("window", {"context": 1}, id="window-1")
    yield pytest.param("lstm", {"layers": 2, "dropout": 0.5}, id="lstm-dropout")  # scoring runs in eval mode
    yield pytest.param("lstm", {"softmax": "adaptive"}, id="lstm-adaptive")
    yield pytest.param("gru", {"softmax": "adaptive", "layers": 2}, id="gru-adaptive")
    yield pytest.param("window", {"softmax": "adaptive"}, id="window-adaptive")


@pytest.mark.parametrize(("kind", "extra"), list(model_variants()))
def test_nll_agrees_with_incremental_path(kind, extra):
    model = build(kind, **extra)
    toks = tokens(60)
    total, count = model.nll(toks)
    assert count == 59
    assert total == pytest.approx(incremental_nll(model, toks), rel=1e-5)
    # a context that spans several chunks: the state is carried from chunk to chunk
    total_chunked, _ = model.nll(toks, chunk=40)
    assert total_chunked == pytest.approx(total, rel=1e-5)
    assert model.cross_entropy(toks) == pytest.approx(total / 59, rel=1e-6)
    assert model.perplexity(toks) == pytest.approx(math.exp(total / 59), rel=1e-6)


@pytest.mark.parametrize(("kind", "extra"), list(model_variants()))
@pytest.mark.parametrize("length", [41, 44], ids=["even", "leftover"])
def test_nll_parallel_streams_match_their_incremental_scores(kind, extra, length):
    model = build(kind, **extra)
    toks = tokens(length, seed=length)
    total, count = model.nll(toks, chunk=8)  # 40 or 43 predictions -> 5 streams (+3 left over)
    assert count == length - 1
    assert total == pytest.approx(stream_nll(model, toks, chunk=8), rel=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_nll_of_too_short_input_is_zero(kind):
    model = build(kind)
    assert model.nll(np.array([3], dtype=np.int32)) == (0.0, 0)
    assert model.nll(np.zeros(0, dtype=np.int32)) == (0.0, 0)


@pytest.mark.parametrize("kind", KINDS)
def test_start_with_long_context_equals_advancing(kind):
    model = build(kind)
    toks = tokens(12)
    _, direct = model.start(toks)
    state, logp = model.start(toks[:1])
    for t in toks[1:]:
        state, logp = model.advance(state, int(t))
    np.testing.assert_allclose(direct, logp, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.next_log_probs(toks), direct, rtol=1e-12)


@pytest.mark.parametrize(("kind", "extra"), list(model_variants()))
def test_long_context_start_hands_over_to_incremental_steps(kind, extra):
    """A context longer than SHORT_CONTEXT is read in one torch pass; steps after it must carry on from it."""
    model = build(kind, **extra)
    toks = tokens(neural.NeuralModel.SHORT_CONTEXT + 30, seed=5)
    long_ctx, rest = toks[:-10], toks[-10:]
    assert len(long_ctx) > neural.NeuralModel.SHORT_CONTEXT
    state, logp = model.start(long_ctx)
    total = -logp[rest[0]]
    for i in range(len(rest) - 1):
        state, logp = model.advance(state, int(rest[i]))
        total -= logp[rest[i + 1]]
    # the same predictions, read the slow way: every token through the net at once
    with torch.no_grad():
        logits, _ = model.net(torch.as_tensor(toks, dtype=torch.int64).view(1, -1))
        ref = torch.log_softmax(logits[0].double(), dim=-1).numpy()
    n = len(long_ctx)
    expected = -sum(ref[n - 1 + i, rest[i]] for i in range(len(rest)))
    assert float(total) == pytest.approx(expected, rel=1e-5)
    assert incremental_nll(model, toks) == pytest.approx(model.nll(toks)[0], rel=1e-5)


@pytest.mark.parametrize(("kind", "extra"), list(model_variants()))
def test_incremental_path_without_lookup_tables(kind, extra, monkeypatch):
    """Big vocabularies skip the per-token projection tables; that path must give the same numbers."""
    monkeypatch.setattr(neural, "_TABLE_LIMIT", 0)
    model = build(kind, **extra)
    toks = tokens(40, seed=3)
    assert model._weights().table is None
    assert incremental_nll(model, toks) == pytest.approx(model.nll(toks)[0], rel=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_incremental_path_sees_weight_updates(kind):
    """The numpy copies of the weights must be refreshed when training changes the net in place."""
    model = build(kind)
    toks = tokens(20, seed=4)
    before = model.next_log_probs(toks)
    with torch.no_grad():
        for p in model.net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    after = model.next_log_probs(toks)
    assert not np.allclose(before, after)
    assert incremental_nll(model, toks) == pytest.approx(model.nll(toks)[0], rel=1e-5)
    # and after loading other weights wholesale
    other = build(kind, seed=42)
    model.net.load_state_dict(other.net.state_dict())
    np.testing.assert_allclose(model.next_log_probs(toks), other.next_log_probs(toks), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(("kind", "extra"), list(model_variants()))
def test_next_log_probs_are_distributions(kind, extra):
    model = build(kind, **extra)
    for n in (1, 5, 30):
        logp = model.next_log_probs(tokens(n, seed=n))
        assert logp.shape == (VOCAB,)
        assert np.all(np.isfinite(logp)) and np.all(logp <= 0)
        assert np.exp(logp).sum() == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize(("kind", "extra"), list(model_variants()))
def test_tensors_round_trip_gives_identical_scores(kind, extra):
    model = build(kind, **extra)
    toks = tokens(80)
    saved = model.tensors()
    assert all(isinstance(v, np.ndarray) for v in saved.values())
    other = build(kind, seed=99, **extra)
    assert other.nll(toks)[0] != pytest.approx(
        model.nll(toks)[0], rel=1e-6
    )  # a different init scores differently
    again = type(model).from_tensors(model.config, VOCAB, saved)
    assert again.nll(toks) == model.nll(toks)
    for key, value in again.tensors().items():
        np.testing.assert_array_equal(value, saved[key])


@pytest.mark.parametrize(
    ("kind", "wrong"),
    [
        ("window", {"vocab": VOCAB + 1}),
        ("window", {"context": 5}),
        ("lstm", {"hidden": 20}),
        ("gru", {"vocab": VOCAB - 1}),
        ("rnn", {"layers": 2}),
        ("lstm", {"embed": 9}),
    ],
)
def test_from_tensors_rejects_mismatched_shapes(kind, wrong):
    model = build(kind)
    vocab = wrong.pop("vocab", VOCAB)
    cfg = ModelConfig(**{**model.config.to_dict(), **wrong})
    with pytest.raises(ValueError, match="do not fit"):
        type(model).from_tensors(cfg, vocab, model.tensors())


def test_from_tensors_rejects_missing_and_extra_keys():
    model = build("lstm")
    saved = model.tensors()
    missing = dict(saved)
    missing.pop("out.bias")
    with pytest.raises(ValueError):
        RecurrentModel.from_tensors(model.config, VOCAB, missing)
    with pytest.raises(ValueError):
        RecurrentModel.from_tensors(model.config, VOCAB, {**saved, "extra": np.zeros(3, dtype=np.float32)})
    with pytest.raises(ValueError):  # a window model's weights are no LSTM
        RecurrentModel.from_tensors(model.config, VOCAB, build("window").tensors())


@pytest.mark.parametrize(
    "cfg",
    [
        dict(model="window", embed=8, hidden=16, context=4),
        dict(model="window", embed=5, hidden=7, context=1),
        dict(model="rnn", embed=8, hidden=16),
        dict(model="lstm", embed=8, hidden=16),
        dict(model="gru", embed=8, hidden=16),
        dict(model="lstm", embed=6, hidden=10, layers=3),
        dict(model="gru", embed=16, hidden=16, layers=2, tie_weights=True),
        dict(model="rnn", embed=12, hidden=12, tie_weights=True),
        dict(model="lstm", embed=8, hidden=16, softmax="adaptive"),
        dict(model="window", embed=8, hidden=16, context=3, softmax="adaptive"),
        dict(model="lstm", embed=8, hidden=7, softmax="adaptive"),  # a cluster projection of 1 unit
    ],
)
def test_estimate_parameters_equals_real_count(cfg):
    config = ModelConfig(**cfg)
    model = model_class(config.model)(config, 23)
    real = sum(p.numel() for p in model.net.parameters())
    assert model.num_parameters() == real
    assert estimate_parameters(config, 23) == real
    assert model.size_bytes() == real * 4


def test_tied_weights_share_one_tensor():
    model = build("lstm", embed=16, hidden=16, tie_weights=True)
    assert model.net.out.weight is model.net.emb.weight
    untied = build("lstm", embed=16, hidden=16)
    assert untied.num_parameters() - model.num_parameters() == VOCAB * 16


def test_tie_weights_needs_equal_sizes():
    with pytest.raises(ValueError):
        build("lstm", embed=8, hidden=16, tie_weights=True)
    with pytest.raises(ValueError, match="full softmax"):
        build("lstm", embed=16, hidden=16, tie_weights=True, softmax="adaptive")


# -- the adaptive softmax: frequency clusters, exact probabilities


@pytest.mark.parametrize("vocab", [2, 17, 1001, 1002, 5000, 20_000])
@pytest.mark.parametrize("width", [1, 8, 256])
@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")  # width 1: 1 // 4 units
def test_adaptive_cutoffs_are_valid_clusters(vocab, width):
    cuts = neural.adaptive_cutoffs(vocab, width)
    assert cuts == sorted(set(cuts)) and cuts[0] > 0 and cuts[-1] < vocab
    assert vocab <= 1001 or cuts[0] == 1000
    assert len(cuts) == 1 or width // 4 ** len(cuts) >= 1  # every cluster's projection has a unit
    layer = torch.nn.AdaptiveLogSoftmaxWithLoss(width, vocab, cuts)  # torch accepts them
    assert layer.log_prob(torch.zeros(1, width)).exp().sum().item() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_adaptive_softmax_is_one_exact_distribution_everywhere(kind):
    """Three clusters (5,000 tokens): the numpy step, the torch pass, the streamed scoring and the one-token
    path give the same normalised log-probabilities, and full scores equal the target path's."""
    vocab = 5000
    model = build(kind, vocab=vocab, softmax="adaptive", layers=2 if kind != "window" else 1)
    assert model.net.out.cutoffs == [1000, 4000, 5000]
    with torch.no_grad():
        for p in model.net.parameters():
            p.mul_(3.0)  # far from uniform, so that a wrong cluster offset shows
    toks = tokens(90, vocab=vocab, seed=4)
    toks[::3] = toks[::3] % 50  # frequent (shortlist) tokens among rare ones: every cluster is used
    _, numpy_logp = model.start(toks[:10])
    _, torch_logp = model._run(toks[:10], None)
    for logp in (numpy_logp, torch_logp):
        assert logp.shape == (vocab,)
        assert math.fsum(np.exp(logp)) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(numpy_logp, torch_logp, atol=2e-5)
    per_token = model.token_log_probs(toks)
    assert len(per_token) == 89
    assert -per_token.sum() == pytest.approx(incremental_nll(model, toks), rel=1e-5)
    assert model.nll(toks)[0] == pytest.approx(-per_token.sum(), rel=1e-9)
    with torch.no_grad():
        h, _ = model.net.features(torch.as_tensor(toks[None, :-1], dtype=torch.int64))
        full = torch.log_softmax(model.net(torch.as_tensor(toks[None, :-1], dtype=torch.int64))[0], dim=-1)
        picked = full[0].gather(1, torch.as_tensor(toks[None, 1:], dtype=torch.int64).T)[:, 0]
        np.testing.assert_allclose(model.net.target_log_probs(h, torch.as_tensor(toks[None, 1:]))[0], picked,
                                   atol=2e-5)


@pytest.mark.parametrize("softmax", ["full", "adaptive"])
def test_unigram_start_predicts_the_training_texts_frequencies(softmax):
    """With the output weights at zero, the biases alone give the add-one unigram distribution (adaptive:
    the frequent words' own probability; a cluster's mass spread evenly over its words)."""
    vocab = 1500
    model = build("lstm", vocab=vocab, softmax=softmax)
    counts = np.random.default_rng(0).integers(0, 50, size=vocab)
    model.net.start_from_unigram(counts)
    with torch.no_grad():
        for name, p in model.net.out.named_parameters():
            if "bias" not in name:
                p.zero_()
    _, logp = model.start(np.array([3]))
    unigram = (counts + 1) / (counts.sum() + vocab)
    if softmax == "adaptive":
        cut = model.net.out.cutoffs[0]
        expected = np.concatenate([unigram[:cut], np.full(vocab - cut, unigram[cut:].sum() / (vocab - cut))])
    else:
        expected = unigram
    np.testing.assert_allclose(np.exp(logp), expected, rtol=1e-5)


def test_model_class_registry():
    assert model_class("window") is WindowModel
    for kind in ("rnn", "lstm", "gru"):
        assert model_class(kind) is RecurrentModel
    with pytest.raises(ValueError):
        model_class("transformer")


def test_window_model_only_sees_its_context():
    model = build("window", context=3)
    a = np.array([1, 2, 3, 4, 5, 6], dtype=np.int32)
    b = np.array([9, 9, 9, 4, 5, 6], dtype=np.int32)
    np.testing.assert_allclose(model.next_log_probs(a), model.next_log_probs(b), rtol=1e-6)
    c = np.array([1, 2, 3, 9, 5, 6], dtype=np.int32)
    assert not np.allclose(model.next_log_probs(a), model.next_log_probs(c))
