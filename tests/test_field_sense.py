"""Ranges and sense for every field (issue 18, items 3, 4, 8, 9, 11): sizes checked in closed form before
anything is built, one limit for a flag and a file, n-gram tables that make sense, strict types, and text a
UTF-8 file can hold. Each of the issue's examples is here, through the command a user would run."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from safetensors.numpy import save_file
from test_cli import clean_error, invoke, json_out, ok
from test_ngram import fit, markov_text
from test_untrusted_files import snapshot

from lmtui import runs, schema
from lmtui.errors import LmtuiError
from lmtui.models import (
    MAX_PARAMETERS,
    SMOOTHINGS,
    ModelConfig,
    estimate_parameters,
    model_class,
    size_problem,
)
from lmtui.models.ngram import NgramModel
from lmtui.neural_training import _sample
from lmtui.sampling import predict_next

# -- sizes: closed form, before anything is built


class Overrun(Exception):
    pass


def within_steps(fn: Any, budget: int = 500) -> Any:
    """``fn()``, refused past ``budget`` executed Python lines: a loop over a 20-digit size never ends, a
    closed form takes a handful (a step budget, not a clock)."""
    steps = 0

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        nonlocal steps
        if event == "line":
            steps += 1
            if steps > budget:
                raise Overrun
        return tracer

    sys.settrace(tracer)
    try:
        return fn()
    finally:
        sys.settrace(None)


def test_the_step_budget_catches_a_loop():
    with pytest.raises(Overrun):
        within_steps(lambda: sum(i for i in range(10**20)))


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_the_size_estimate_is_closed_form(kind):
    config = ModelConfig(model=kind, embed=8, hidden=16, layers=10**20)
    params = within_steps(lambda: estimate_parameters(config, 50))
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    assert params == 50 * 8 + gates * (16 * 24 + 32 + (10**20 - 1) * (2 * 256 + 32)) + 16 * 50 + 50
    assert "lmtui builds at most" in within_steps(lambda: size_problem(config))


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(["window", "rnn", "lstm", "gru"]),
    embed=st.integers(1, 9),
    hidden=st.integers(1, 9),
    layers=st.integers(1, 4),
    context=st.integers(1, 5),
    vocab=st.integers(2, 30),
)
def test_the_estimate_is_the_real_count(kind, embed, hidden, layers, context, vocab):
    config = ModelConfig(model=kind, embed=embed, hidden=hidden, layers=layers, context=context)
    model = model_class(kind)(config, vocab)  # type: ignore[call-arg]
    assert estimate_parameters(config, vocab) == sum(p.numel() for p in model.net.parameters())


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--layers", "99999999999999999999"], "--layers must be between 1 and 1024"),  # once a hang
        (["--hidden", str(10**6)], "--hidden must be between 1 and 65536"),
        (["--embed", "0"], "--embed must be between 1 and 65536"),
        (["--layers", "1000", "--hidden", "8000"], "--layers makes the model too large"),
        (["--hidden", "60000"], "--hidden makes the model too large"),
        (["--batch-size", str(10**9)], "--batch-size must be between 1 and 65536"),
        (["--seq-len", str(2**40)], "--seq-len must be between 1 and 65536"),
        (["--sample-length", str(2**30)], "--sample-length must be between 1 and 4000"),
        (["--sample-length", "0"], "--sample-length must be between 1 and 4000"),
        (["--eval-every", str(10**13)], "--eval-every must be between 1 and"),
    ],
)
def test_neural_sizes_past_the_limits_are_one_line(english_file, lmtui_home, args, fragment):
    result = invoke("train", english_file, "--model", "lstm", "--steps", 2, *args, "--name", "x")
    clean_error(result, fragment, 2)
    assert not (lmtui_home / "runs" / "x").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--smoothing", "add-k", "--k", "1e308"], "--k must be in (0, 1000]"),  # once NaN in predict
        (["--smoothing", "add-k", "--k", "0"], "--k must be in (0, 1000]"),
        (["--order", "7"], "--order must be between 1 and 6"),
        (["--level", "word", "--max-vocab", str(2**40)], "--max-vocab must be between 1 and"),
        (["--level", "word", "--min-count", str(2**40)], "--min-count must be between 1 and"),
    ],
)
def test_ngram_values_past_the_limits_are_one_line(english_file, lmtui_home, args, fragment):
    clean_error(invoke("train", english_file, "--model", "ngram", *args, "--name", "x"), fragment, 2)
    assert not (lmtui_home / "runs" / "x").exists()


def test_a_window_model_context_is_bounded(english_file):
    result = invoke("train", english_file, "--model", "window", "--context", 10**6, "--name", "x")
    clean_error(result, "--context must be between 1 and 4096", 2)


# -- the run files: refused on load, naming the file and the field


def _edit(run_dir: Path, path: tuple[str, ...], value: Any) -> None:
    meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    holder = meta
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    (run_dir / "run.json").write_text(json.dumps(meta), encoding="utf-8")  # "\ud800" stays escaped: ASCII


SAMPLE = ["sample", "lstm-run", "--length", 5]
RUN_FILE_CASES = [
    # item 4: sample_length 2**30 with eval_every 1 hung a resume past 100 s
    ("lstm-run", {("train", "sample_length"): 2**30, ("train", "eval_every"): 1},
     ["train", "--resume", "lstm-run", "--steps", 40], "train.sample_length is invalid"),
    ("lstm-run", {("model", "layers"): 99999999999999999999}, SAMPLE, "model.layers is invalid"),  # item 3
    ("lstm-run", {("model", "hidden"): 60000}, SAMPLE, "model is too large"),
    ("lstm-run", {("version",): True}, SAMPLE, "format version True"),
    ("lstm-run", {("eval_pending",): "yes"}, SAMPLE, "eval_pending has the wrong type"),
    ("lstm-run", {("train", "weight_decay"): 1e300}, SAMPLE, "train.weight_decay is invalid"),
    ("lstm-run", {("model", "dropout"): 1.0}, SAMPLE, "model.dropout is invalid"),
    ("lstm-run", {("corpus", "name"): "\ud800"}, ["export", "lstm-run", "out.safetensors"],
     "corpus.name is damaged"),
    ("lstm-run", {("tokenizer", "vocab", 2): "\udc00"}, SAMPLE, "tokenizer.vocab[2] is damaged text"),
    ("ngram-run", {("model", "smoothing"): "add-k", ("model", "k"): 1e308}, ["predict", "ngram-run", "the"],
     "model.k is invalid"),  # item 8
]  # fmt: skip


@pytest.mark.parametrize(("run", "edits", "args", "fragment"), RUN_FILE_CASES)
def test_nonsense_in_a_run_file_is_one_line_naming_it(trained_runs, tmp_path, run, edits, args, fragment):
    for path, value in edits.items():
        _edit(trained_runs / run, path, value)
    args = [tmp_path / a if a == "out.safetensors" else a for a in args]
    line = clean_error(invoke(*args), fragment)
    assert str(trained_runs / run / "run.json") in line


def test_a_stored_encoding_that_is_not_of_text_names_the_run_file(trained_runs):
    """Item 11: rot13 passes codecs.lookup; the user gave no --encoding, so the run file is at fault."""
    _edit(trained_runs / "lstm-run", ("corpus", "encoding"), "rot13")
    for args in (["eval", "lstm-run"], ["train", "--resume", "lstm-run", "--steps", 40]):
        line = clean_error(invoke(*args), "corpus.encoding is invalid ('rot13' is not a text encoding")
        assert str(trained_runs / "lstm-run" / "run.json") in line
        assert "--encoding" not in line
    _edit(trained_runs / "lstm-run", ("corpus", "encoding"), "latin-1")  # a text encoding: still a run
    ok(invoke(*SAMPLE))


# -- n-gram tables: checked for sense on load


@pytest.fixture
def backoff_run(english_file: Path, trained_runs: Path) -> str:
    ok(invoke("train", english_file, "--model", "ngram", "--level", "char", "--order", 3,
              "--smoothing", "backoff", "--name", "bo"))  # fmt: skip
    return "bo"


def _children(tensors: dict[str, np.ndarray], v: int, order: int) -> tuple[int, np.ndarray]:
    """A context of order ``order - 1`` with at least two stored children but not every token (its backoff
    weight then has words to apply to), and their rows."""
    prefix = tensors[f"keys_{order}"] // v
    children = np.bincount(prefix)
    ctx = int(np.flatnonzero((children >= 2) & (children < v))[0])
    return ctx, np.flatnonzero(prefix == ctx)


def _tamper(t: dict[str, np.ndarray], v: int, what: str) -> None:
    ctx, kids = _children(t, v, 2)
    if what == "logp+700":  # item 9: once "loss -699.99 nats, perplexity 0.00"
        t["logp_2"][kids[0]] = 700.0
    elif what == "logp-nan":
        t["logp_2"][kids[0]] = math.nan
    elif what == "backoff-1e300":  # a backoff weight of 1e300, stored as its log
        t["logbow_1"][ctx] = math.log(1e300)
    elif what == "backoff-raw-1e300":  # or stored as the number itself
        t["logbow_1"][ctx] = 1e300
    elif what == "backoff-doubled":  # a modest lie: the context's words then sum to more than one
        t["logbow_1"][ctx] += math.log(2)
    elif what == "mass-lost":  # a child's probability halved: the context sums to less than one
        t["logp_2"][kids[0]] -= math.log(2)
    elif what == "unigrams-not-one":
        t["logp_1"] -= 0.01
    elif what == "count-zero":
        t["count_2"][kids[0]] = 0
    elif what == "count-overflow":  # an int64 sum would wrap negative
        t["count_1"][:] = 2**62
    elif what == "discount-nan":
        t["discounts"][0, 0] = math.nan


TAMPERS = ["logp+700", "logp-nan", "backoff-1e300", "backoff-raw-1e300", "backoff-doubled", "mass-lost",
           "unigrams-not-one", "count-zero", "count-overflow", "discount-nan"]  # fmt: skip
FRAGMENTS = {"count-zero": "count_2", "count-overflow": "count_1", "discount-nan": "discounts",
             "logp+700": "logp_2", "logp-nan": "logp_2", "unigrams-not-one": "logp_1",
             "backoff-1e300": "sum to", "backoff-raw-1e300": "logbow_1"}  # fmt: skip


@pytest.mark.parametrize("what", TAMPERS)
def test_an_ngram_bundle_that_makes_no_sense_is_refused(backoff_run, trained_runs, tmp_path, what):
    good = tmp_path / "good.safetensors"
    ok(invoke("export", backoff_run, good))
    tensors, metadata = runs.read_tensors(good)
    v = json.loads(metadata[runs.BUNDLE_KEY])["vocab_size"]
    tensors = {k: a.copy() for k, a in tensors.items()}
    _tamper(tensors, v, what)
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, str(bad), metadata=metadata)
    before = snapshot(trained_runs)
    line = clean_error(invoke("import", bad, "--name", "shared"))
    assert FRAGMENTS.get(what, "sum to") in line
    assert snapshot(trained_runs) == before
    # the same tables in a run folder: refused by every command that loads them
    run_dir = trained_runs / backoff_run
    save_file(tensors, str(run_dir / "model.safetensors"))
    for args in (
        ["eval", backoff_run],
        ["sample", backoff_run],
        ["export-arpa", backoff_run, tmp_path / "a"],
    ):
        assert str(run_dir / "model.safetensors") in clean_error(invoke(*args))
    ok(invoke("import", good, "--name", "shared"))  # the control: the untouched bundle imports


def test_a_kn_bundle_with_a_positive_log_probability_is_refused(trained_runs, tmp_path):
    good = tmp_path / "good.safetensors"
    ok(invoke("export", "ngram-run", good))
    tensors, metadata = runs.read_tensors(good)
    tensors = {k: a.copy() for k, a in tensors.items()}
    tensors["logp_3"][5] = 700.0
    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata=metadata)
    clean_error(invoke("import", tmp_path / "bad.safetensors"), "logp_3 must hold finite log-probabilities")
    tensors, _ = runs.read_tensors(good)
    tensors = {k: a.copy() for k, a in tensors.items()}
    tensors["logbow_2"][0] = 0.5  # KN's weights interpolate: a weight above one is no KN model
    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata=metadata)
    clean_error(invoke("import", tmp_path / "bad.safetensors"), "logbow_2")


def _hand_model(log_gamma: float) -> dict[str, np.ndarray]:
    """V = 3, bigrams: context 0 is followed by tokens 0 and 1 (1/2 each), which hold all of the unigram
    mass but 1e-300 (token 2's). A weight gamma on context 0 gives token 2 gamma * 1e-300 after it."""
    return {
        "count_1": np.array([2, 2, 1], dtype=np.int64),
        "count_2": np.array([1, 1], dtype=np.int64),
        "keys_2": np.array([0, 1], dtype=np.int64),
        "logp_1": np.log([0.5, 0.5, 1e-300]),
        "logp_2": np.log([0.5, 0.5]),
        "logbow_1": np.array([log_gamma, 0.0, 0.0]),
        "discounts": np.full((2, 3), 0.5),
    }


def test_a_weight_hidden_in_the_rounding_is_still_caught():
    """1 - (the children's lower-order mass) is 0 in floats here, so a sum alone would pass a weight of
    1e300 (token 2 would then get probability 1 after context 0, on top of the stored 1)."""
    config = ModelConfig(model="ngram", order=2, smoothing="backoff")
    model = NgramModel.from_tensors(config, 3, _hand_model(0.0))  # gamma 1: it makes sense
    assert np.exp(model.start(np.array([0]))[1]).sum() == pytest.approx(1)
    with pytest.raises(ValueError, match="sum to"):
        NgramModel.from_tensors(config, 3, _hand_model(math.log(1e300)))


@settings(max_examples=30, deadline=None)
@example(seed=0, vocab=5, length=2, order=6, smoothing="kn")  # orders with no n-gram at all
@example(seed=0, vocab=2, length=50, order=3, smoothing="backoff")  # contexts followed by every token
@given(
    seed=st.integers(0, 1000),
    vocab=st.integers(2, 60),
    length=st.integers(2, 3000),
    order=st.integers(1, 6),
    smoothing=st.sampled_from(SMOOTHINGS),
)
def test_every_model_lmtui_fits_makes_sense(seed, vocab, length, order, smoothing):
    """The checks never refuse what lmtui itself wrote."""
    tokens = markov_text(length, vocab, seed) if vocab > 2 else np.arange(length) % vocab
    model = fit(tokens, vocab, order, smoothing, 0.3)
    again = NgramModel.from_tensors(model.config, vocab, {k: a.copy() for k, a in model.tensors().items()})
    assert again.nll(tokens) == model.nll(tokens)


@pytest.mark.parametrize("k", [1000.0, 5e-324, 1e-300])
def test_add_k_at_the_ends_of_its_range_gives_numbers(k):
    """Item 8: k = 1e308 made every probability 0 / inf; the k still allowed must give a distribution."""
    tokens = markov_text(3000, 40, seed=1)
    model = fit(tokens, 40, 3, "add-k", k)
    logp = model.token_log_probs(markov_text(300, 40, seed=2))
    assert np.isfinite(logp).all() and (logp <= 0).all()
    dist = model.start(tokens[:5])[1]
    assert np.isfinite(dist).all()
    assert np.exp(dist).sum() == pytest.approx(1)


def test_add_k_at_its_largest_predicts_and_samples(english_file):
    ok(invoke("train", english_file, "--model", "ngram", "--smoothing", "add-k", "--k", 1000, "--name", "k"))
    predictions = json_out(invoke("predict", "k", "the old", "--json"))
    probs = [p["prob"] for p in predictions["next"]]
    assert probs and all(math.isfinite(p) and 0 < p <= 1 for p in probs)
    text = json_out(invoke("sample", "k", "--length", 20, "--seed", 1, "--json"))["samples"][0]
    assert "\ufffd" not in text


def test_prediction_from_a_model_at_the_limits_has_no_nan(trained_runs):
    run = runs.load_run("ngram-run")
    for prediction in predict_next(run.load_model(), run.tokenizer(), "the old sailor"):
        assert math.isfinite(prediction.prob)


# -- the sample an evaluation writes cannot outlast its share of the budget


def test_the_evaluation_sample_stops_when_its_time_is_spent(trained_runs):
    run = runs.load_run("lstm-run")
    model, tokenizer = run.load_model(), run.tokenizer()
    assert len(_sample(model, tokenizer, 30, 1)) == 30  # no limit: the whole length
    assert len(_sample(model, tokenizer, 4000, 1, seconds=0)) == 1  # spent at once: one token, then it stops


# -- strict types and text a UTF-8 file can hold, in check_run itself


def _meta(trained_runs: Path) -> dict[str, Any]:
    return json.loads((trained_runs / "lstm-run" / "run.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        (("version",), True, "format version True"),
        (("version",), 1.0, "format version 1.0"),
        (("eval_pending",), "yes", "eval_pending has the wrong type"),
        (("eval_pending",), 1, "eval_pending has the wrong type"),
        (("metrics", "notes"), ["fine", {"deep": "\ud83d"}], "metrics.notes[1].deep is damaged text"),
        (("train", "sample_length"), 0, "train.sample_length is invalid"),
        (("train", "batch_size"), 2**40, "train.batch_size is invalid"),
        (
            ("model", "k"),
            10**400,
            "model.k is invalid (must be a finite number above 0 to 1000.0, not a number of about 401",
        ),
        (("model", "layers"), 10**5000, "not a number of about 5001 digits"),
    ],
    ids=lambda x: repr(x)[:30] if not isinstance(x, int) or x.bit_length() < 64 else "huge",
)
def test_check_run_is_strict(trained_runs, path, value, fragment):
    meta = _meta(trained_runs)
    holder = meta
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    with pytest.raises(LmtuiError, match="x/run.json") as exc:
        schema.check_run(meta, "x/run.json")
    assert fragment in str(exc.value)
    assert "\n" not in str(exc.value)


def test_a_model_at_the_largest_size_is_allowed_by_the_schema(trained_runs):
    meta = _meta(trained_runs)
    v = meta["vocab_size"]
    # the widest LSTM layer whose parameters stay within the limit, with this vocabulary
    fits = [
        h
        for h in range(1, 40000, 7)
        if estimate_parameters(ModelConfig(hidden=h, embed=12), v) <= MAX_PARAMETERS
    ]
    h = max(fits)
    meta["model"] |= {"hidden": h, "embed": 12, "tie_weights": False}
    schema.check_run(meta, "x")
    meta["model"]["hidden"] = h + 7
    with pytest.raises(LmtuiError, match="too large"):
        schema.check_run(meta, "x")
