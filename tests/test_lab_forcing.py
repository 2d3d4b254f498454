"""Teacher forcing against free running (issue 19, "still not touchable"): by hand on models whose answer
is known, on trained runs, and through `lmtui forcing`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from lab_util import invoke, json_out, ok, one_line_error

from lmtui.lab.forcing import starts, teacher_vs_free
from lmtui.models import ModelConfig
from lmtui.runs import load_run


class Unigram:
    """The same distribution after every context: its own tokens cannot mislead it."""

    def __init__(self, probs: list[float]) -> None:
        self.logp = np.log(np.array(probs))
        self.config = ModelConfig(model="ngram")

    def start(self, ids: np.ndarray) -> tuple[None, np.ndarray]:
        return None, self.logp

    def advance(self, state: None, token: int) -> tuple[None, np.ndarray]:
        return None, self.logp


class Counter:
    """Predicts "previous + 1" (mod 4) with probability 0.97: right on a counting text when fed the truth."""

    config = ModelConfig(model="ngram")

    def _logp(self, prev: int) -> np.ndarray:
        p = np.full(5, 0.01)
        p[1 + prev % 4] = 0.97
        return np.log(p)

    def start(self, ids: np.ndarray) -> tuple[int, np.ndarray]:
        return int(ids[-1]), self._logp(int(ids[-1]))

    def advance(self, state: int, token: int) -> tuple[int, np.ndarray]:
        return token, self._logp(token)


COUNTING = np.array([1 + i % 4 for i in range(400)])  # 1 2 3 4 1 2 3 4 …


def test_prefixes_are_evenly_spaced_and_a_short_text_is_said_to_be_one() -> None:
    assert starts(100, 10, 5, 3) == [0, 42, 84]
    assert starts(20, 10, 5, 100) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="too few"):
        starts(12, 10, 5, 3)


def test_a_model_without_memory_loses_nothing_by_reading_its_own_tokens() -> None:
    model = Unigram([0.1, 0.2, 0.3, 0.4])
    ids = np.array([1, 2, 3, 0] * 50)
    result = teacher_vs_free(model, ids, prefix=8, steps=6, count=20)
    np.testing.assert_allclose(result.free, result.teacher)
    assert result.prefixes == 20


def test_greedy_free_running_of_a_right_model_is_the_teacher_s_text() -> None:
    result = teacher_vs_free(Counter(), COUNTING, prefix=4, steps=8, count=10, temperature=0)
    np.testing.assert_allclose(result.free, result.teacher)
    assert result.teacher[0] == pytest.approx(-math.log(0.97))


def test_its_own_mistakes_compound_while_teacher_forcing_never_sees_them() -> None:
    """At temperature 1 the counter slips 3 % of the time and then counts on from its own slip: the true
    token k steps on costs more and more, while the teacher-forced loss stays -ln 0.97 at every k."""
    result = teacher_vs_free(Counter(), COUNTING, prefix=4, steps=32, count=300, seed=3)
    np.testing.assert_allclose(result.teacher, -math.log(0.97))
    assert result.free[0] == pytest.approx(result.teacher[0])  # k = 1: both read the true prefix only
    assert result.free[1] > result.teacher[1]
    assert result.free[31] > result.free[3] > result.free[1]  # the slips add up
    assert result.to_dict()["free_running_mean"] > result.to_dict()["teacher_forced_mean"]


@pytest.mark.parametrize("name", ["lstm-run", "ngram-run"])
def test_trained_runs_agree_at_k_1_and_drift_after(trained_runs: Path, name: str) -> None:
    data = json_out(invoke("forcing", name, "--prefixes", 30, "--ahead", 8, "--json"))
    assert data["k"] == list(range(1, 9)) and data["prefixes"] == 30 and data["prefix_tokens"] == 64
    assert data["teacher_forced"][0] == pytest.approx(data["free_running"][0])
    assert data["free_running_mean"] > data["teacher_forced_mean"]


def test_forcing_names_teacher_forcing_and_free_running(trained_runs: Path) -> None:
    out = ok(invoke("forcing", "ngram-run", "--prefixes", 10, "--ahead", 4)).stdout
    assert "teacher-forced (nats)" in out and "free-running (nats)" in out
    assert "teacher forcing: each token predicted from the true text before it" in out
    help_text = ok(invoke("forcing", "--help")).stdout
    assert "Teacher forcing" in help_text and "Free running" in help_text and "lower is better" in help_text


def test_a_validation_split_too_short_for_the_prefix_is_one_line(trained_runs: Path) -> None:
    val = len(load_run("ngram-run").meta["metrics"].get("val_tokens", 0) * "x")
    line = one_line_error(invoke("forcing", "ngram-run", "--prefix", 4000, "--ahead", 1000), "too few")
    assert "ngram-run" in line and f"{val:,}" in line


@pytest.mark.parametrize("command", ["eval", "runs"])
def test_eval_and_runs_help_say_lower_perplexity_is_better(command: str) -> None:
    text = " ".join(ok(invoke(command, "--help")).stdout.split())
    assert "lower is better" in text or "lower perplexity is better" in text
    if command == "eval":
        assert "teacher-forced" in text and "lmtui forcing" in text
