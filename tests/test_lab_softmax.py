"""The softmax made visible (issue 19, "still not touchable"): log p -> probabilities -> temperature, in
`lmtui predict` and in the numbers the next-token panel shows."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from lab_util import invoke, json_out, ok

from lmtui.runs import load_run
from lmtui.sampling import predict_next


def softmax(z: np.ndarray, t: float) -> np.ndarray:
    e = np.exp((z - z.max()) / t)
    return e / e.sum()


@pytest.mark.parametrize("name", ["lstm-run", "ngram-run"])
@pytest.mark.parametrize("t", [0.5, 1.0, 2.0])
def test_every_shown_probability_is_the_softmax_of_the_shown_log_probs(trained_runs: Path, name: str,
                                                                       t: float) -> None:
    """With every token shown, a student recomputes each p at T from the log p column alone."""
    run = load_run(name)
    tok = run.tokenizer()
    preds = predict_next(run.load_model(), tok, "the ", len(tok), t)
    z = np.array([p.log_prob for p in preds])
    assert len(preds) == len(tok)
    np.testing.assert_allclose([p.prob for p in preds], softmax(z, t), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose([p.model_prob for p in preds], np.exp(z), rtol=1e-9)
    assert np.exp(z).sum() == pytest.approx(1.0)


def test_predict_shows_log_p_and_both_temperatures(trained_runs: Path) -> None:
    vocab = len(load_run("lstm-run").tokenizer())
    data = json_out(invoke("predict", "lstm-run", "the ", "--top", vocab, "--temperature", "0.5", "--json"))
    assert data["temperature"] == 0.5
    z = np.array([n["log_prob"] for n in data["next"]])
    np.testing.assert_allclose([n["prob"] for n in data["next"]], softmax(z, 0.5), rtol=1e-9)
    np.testing.assert_allclose([n["prob_at_1"] for n in data["next"]], np.exp(z), rtol=1e-9)
    top = data["next"][0]
    assert top["prob"] > top["prob_at_1"]  # a temperature below 1 sharpens: the top token gains

    shown = ok(invoke("predict", "lstm-run", "the ", "--top", "3", "-t", "0.5"))
    header = shown.stdout.splitlines()[0].split("\t")
    assert header == ["token", "log p", "log p / 0.5", "p at T 0.5", "p at T 1"]
    first = shown.stdout.splitlines()[1].split("\t")
    assert float(first[1]) == pytest.approx(top["log_prob"], abs=5e-4)
    assert float(first[2]) == pytest.approx(top["log_prob"] / 0.5, abs=5e-4)
    assert float(first[3]) == pytest.approx(top["prob"], abs=5e-5)
    assert "softmax: p = exp(z / T)" in shown.stderr and "logits" in shown.stderr


def test_predict_refuses_a_temperature_no_softmax_can_use(trained_runs: Path) -> None:
    result = invoke("predict", "lstm-run", "the ", "--temperature", "-1")
    assert result.exit_code == 2 and "temperature" in result.output and "Traceback" not in result.output


def test_an_ngram_log_prob_of_minus_infinity_is_null_in_json(trained_runs: Path) -> None:
    vocab = len(load_run("ngram-run").tokenizer())
    data = json_out(invoke("predict", "ngram-run", "the ", "--top", vocab, "--json"))
    for n in data["next"]:
        assert n["log_prob"] is None or math.isfinite(n["log_prob"])
