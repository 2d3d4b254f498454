"""A word model with the adaptive softmax through every command: training, resume, scoring, sampling, the
next-token table, explain, gradients, parameters, and a shared bundle that gives back the same figures."""

from __future__ import annotations

import math

import pytest
from test_cli import TINY, invoke, json_out, ok

from lmtui import runs

WORD = ["--model", "lstm", "--level", "word", "--softmax", "adaptive", "--min-count", "1", *TINY]


@pytest.fixture
def adaptive_run(long_english, tmp_path):
    """A word LSTM on a text whose vocabulary (over 1,001 words) gives the softmax two clusters."""
    words = long_english.split()
    extra = " ".join(f"zq{i}" for i in range(1200))  # rare made-up words: the tail clusters have members
    path = tmp_path / "words.txt"
    text = " ".join(words[:8000]) + "\n" + extra + "\n" + " ".join(words[8000:16000])
    path.write_text(text, encoding="utf-8")
    ok(invoke("train", path, *WORD, "--steps", "6", "--name", "ad"))
    return path


def test_adaptive_run_trains_resumes_and_keeps_its_softmax(adaptive_run):
    run = runs.load_run("ad")
    assert run.meta["model"]["softmax"] == "adaptive"
    assert run.meta["vocab_size"] > 1001
    first = json_out(invoke("eval", "ad", "--json"))
    assert math.isfinite(first["perplexity"]) and first["perplexity"] > 1
    ok(invoke("train", "--resume", "ad", "--steps", "4"))
    assert runs.load_run("ad").meta["metrics"]["step"] == 10


def test_adaptive_run_predicts_explains_and_samples(adaptive_run):
    """predict's table and explain read the same exact distribution: explain's P(old | the) is predict's
    p at T 1 for "old" after "the"; the table's p at T is the distribution at T renormalised."""
    # explain reads the text after a newline; predict is given the same context, the whole vocabulary shown
    table = json_out(invoke("predict", "ad", "\nthe", "--top", "5000", "--json"))
    rows = {r["token"]: r for r in table["next"]}
    assert len(rows) == runs.load_run("ad").meta["vocab_size"] > 1001  # the head and a cluster
    assert math.fsum(r["prob_at_1"] for r in rows.values()) == pytest.approx(1.0, abs=1e-6)
    assert math.fsum(r["prob"] for r in rows.values()) == pytest.approx(1.0, abs=1e-6)
    for r in rows.values():
        assert r["prob_at_1"] == pytest.approx(math.exp(r["log_prob"]), rel=1e-9)
    explained = json_out(invoke("explain", "ad", "the old", "--json"))
    old = explained["tokens"][1]
    assert old["token"] == "old"
    assert old["prob"] == pytest.approx(rows["old"]["prob_at_1"], rel=1e-5)
    assert old["bits"] == pytest.approx(-math.log2(old["prob"]), rel=1e-9)
    sample = ok(invoke("sample", "ad", "--length", "20", "--seed", "3"))
    assert len(sample.stdout.split()) >= 5


def test_adaptive_run_gradients_and_params(adaptive_run):
    reach = json_out(invoke("gradients", "ad", "--json"))
    assert len(reach["norms"]) == len(reach["k"]) and all(math.isfinite(n) and n > 0 for n in reach["norms"])
    params = json_out(invoke("params", "ad", "--json"))
    assert params["parameters"] == runs.load_run("ad").meta["metrics"]["parameters"]


def test_adaptive_bundle_round_trip_gives_the_same_perplexity(adaptive_run, tmp_path):
    bundle = tmp_path / "ad.safetensors"
    ok(invoke("export", "ad", bundle))
    ok(invoke("import", bundle, "--name", "ad2"))
    assert runs.load_run("ad2").meta["model"]["softmax"] == "adaptive"
    a = json_out(invoke("eval", "ad", "--json", "--text", adaptive_run))
    b = json_out(invoke("eval", "ad2", "--json", "--text", adaptive_run))
    assert a["perplexity"] == pytest.approx(b["perplexity"], rel=1e-9)


def test_a_char_run_with_the_adaptive_softmax_reads_its_neurons(english_file):
    ok(invoke("train", english_file, "--model", "lstm", "--softmax", "adaptive", *TINY, "--steps", "5",
              "--name", "ch"))
    found = json_out(invoke("neurons", "ch", "The cat (said) 'hi'. Then it sat.", "--json"))
    assert found["run"] == "ch" and found["units"] == 16 and len(found["activations"]) > 0
    sample = ok(invoke("sample", "ch", "--length", "40", "--seed", "1"))
    assert len(sample.stdout.strip()) >= 10
