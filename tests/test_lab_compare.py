"""`compare`: one table of models trained on the same split and vocabulary, written as Markdown and CSV."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from lab_util import invoke, json_out, ok, one_line_error

from lmtui import runs
from lmtui.lab.compare import Comparison, Row, budget_to_reach, parse_models, verdict


def row(label: str, bpc: float, curve=()) -> Row:
    return Row(label, label, 10, 40, 1.0, 2**bpc, 2**bpc, bpc, 2**bpc, 0.0, list(curve))


def test_compare_small_corpus_tiny_budget(english_file, tmp_path):
    out = tmp_path / "cmp"
    data = json_out(invoke("compare", english_file, "--models", "1gram,3gram,rnn", "--seconds", "1",
                           "--out", out, "--json"))
    assert [r["label"] for r in data["rows"]] == ["1gram", "3gram", "rnn"]
    names = [r["run"] for r in data["rows"]]
    assert names == ["english-1gram-char", "english-3gram-char", "english-rnn-char"]
    loaded = [runs.load_run(n) for n in names]
    assert len({tuple(r.tokenizer().vocab) for r in loaded}) == 1  # one vocabulary for every row
    for r, run in zip(data["rows"], loaded, strict=True):
        assert r["val_ppl"] == pytest.approx(run.metrics["val_ppl"])
        assert r["bits_per_char"] == pytest.approx(run.metrics["bits_per_char"])
        assert r["parameters"] == run.metrics["parameters"] > 0
    assert loaded[0].model_config.order == 1 and loaded[1].model_config.order == 3
    assert data["rows"][1]["val_ppl"] < data["rows"][0]["val_ppl"]  # a trigram beats a unigram
    assert loaded[2].metrics["train_seconds"] < 5
    rnn_evals = [e for e in loaded[2].history() if e.get("event") == "eval"]
    assert data["rows"][2]["val_curve"] == [[e["elapsed"], e["bits_per_char"]] for e in rnn_evals]
    assert rnn_evals and data["rows"][0]["val_curve"] == []  # validation curves: the neural rows'
    md = (out / "compare.md").read_text(encoding="utf-8")
    assert "| model | parameters |" in md and "| 3gram |" in md and data["verdict"] in md
    table = list(csv.DictReader(io.StringIO((out / "compare.csv").read_text(encoding="utf-8"))))
    assert [r["model"] for r in table] == ["1gram", "3gram", "rnn"]
    assert float(table[1]["val_ppl"]) == pytest.approx(data["rows"][1]["val_ppl"], rel=1e-4)
    assert json.loads((out / "compare.json").read_text(encoding="utf-8"))["verdict"] == data["verdict"]
    ngram_wins = data["rows"][1]["bits_per_char"] < data["rows"][2]["bits_per_char"]
    assert ("n-grams win" in data["verdict"]) == ngram_wins


def test_compare_human_and_events(english_file):
    human = ok(invoke("compare", english_file, "--models", "2gram,1gram"))
    assert "2gram" in human.stdout and "bits/char" in human.stdout and "Best: 2gram" in human.stdout
    lines = ok(invoke("compare", english_file, "--models", "2gram", "--events", "jsonl")).stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert events[0]["event"] == "model" and events[-1]["event"] == "done"
    assert events[-1]["result"]["rows"][0]["label"] == "2gram"


def test_verdict_says_when_ngrams_win_and_what_budget_would_change_it():
    # the LSTM's curve falls as 3 - 0.25 ln t; from its end at 10 s, 1 bit/char is reached at e^8 s
    curve = [(t, 3 - 0.25 * math.log(t)) for t in range(1, 11)]
    c = Comparison("x", "char", 10, [row("5gram", 1.0), row("lstm", 3 - 0.25 * math.log(10), curve)])
    text = verdict(c)
    assert "n-grams win" in text and "5gram" in text and "more than 1000 s" in text
    fast = [(t, 3 - math.log(t)) for t in range(1, 11)]
    c = Comparison("x", "char", 10, [row("5gram", 0.5), row("lstm", 3 - math.log(10), fast)])
    assert f"at least ~{math.exp(2.5):,.0f} s" in verdict(c) and "lower bound" in verdict(c)
    c = Comparison("x", "char", 10, [row("5gram", 2.0), row("gru", 1.5)])
    assert "neural models win" in verdict(c) and "gru" in verdict(c)
    c = Comparison("x", "char", 10, [row("5gram", 1.0), row("rnn", 2.0)])
    assert "--seconds 40" in verdict(c)  # no curve to extrapolate: says to train longer


def test_budget_to_reach_fits_log_time():
    curve = [(t, 4 - 0.5 * math.log(t)) for t in range(1, 41)]
    assert budget_to_reach(curve, 1.0) == pytest.approx(math.exp(6), rel=1e-6)
    assert budget_to_reach([(t, 2.0) for t in range(1, 20)], 1.0) is None  # flat: no honest estimate
    assert budget_to_reach(curve[:2], 1.0) is None


def test_parse_models_and_cli_errors(english_file):
    assert parse_models("1gram, lstm,1gram") == ["1gram", "lstm"]
    with pytest.raises(ValueError, match="unknown model '7gram'"):
        parse_models("7gram")
    one_line_error(invoke("compare", english_file, "--models", "bert"), "unknown model 'bert'")
    one_line_error(invoke("compare", english_file, "--seconds", "nan"), "--seconds")
    one_line_error(invoke("compare", english_file.parent / "nope.txt", "--models", "1gram"), "nope.txt")
