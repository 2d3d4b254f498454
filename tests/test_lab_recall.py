"""What vanishing gradients cost (issue 19, "still not touchable"): the recall corpus's last letters, scored
by gap, with models whose memory is known by construction, and through `lmtui recall`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from lab_util import invoke, json_out, ok, one_line_error

from lmtui.lab.recall import CHANCE, recall_by_gap, recall_positions
from lmtui.models import ModelConfig
from lmtui.tokens import CharTokenizer

LINES = ["q1=q", "b22=b", "k123456=k", "z" + "7" * 12 + "=z", "c" + "1" * 25 + "=c", "d" + "2" * 33 + "=d"]
TEXT = "\n".join(LINES * 6) + "\n"


def test_recall_positions_by_hand() -> None:
    text = "a12=a\nnot a line\nb1=c\nx9=x\n"
    # b1=c does not recall: left out
    assert recall_positions(text) == [(4, 2), (len("a12=a\nnot a line\nb1=c\n") + 3, 1)]


class Remembers:
    """A model that recalls a line's letter when its gap is at most ``reach`` (else guesses uniformly)."""

    def __init__(self, tok: CharTokenizer, reach: float) -> None:
        self.tok, self.reach = tok, reach
        self.config = ModelConfig(model="ngram", level="char")  # read token by token, as n-grams are

    def _logp(self, text: str) -> np.ndarray:
        line = text.rsplit("\n", 1)[-1]
        logp = np.full(len(self.tok), -np.inf)
        letters = [self.tok.encode(c)[0] for c in "abcdefghijklmnopqrstuvwxyz" if c in self.tok.vocab]
        if line.endswith("=") and len(line) - 2 <= self.reach:
            logp[self.tok.encode(line[0])[0]] = 0.0
        else:
            logp[:] = math.log(1 / len(self.tok))
            logp[letters] = -CHANCE  # letters at chance, as a model that forgot them would give
        return logp

    def start(self, ids: np.ndarray) -> tuple[str, np.ndarray]:
        text = self.tok.decode(list(ids))
        return text, self._logp(text)

    def advance(self, state: str, token: int) -> tuple[str, np.ndarray]:
        text = state + self.tok.decode([token])
        return text, self._logp(text)


def test_a_model_that_remembers_everything_recalls_every_gap() -> None:
    tok = CharTokenizer.build(TEXT + "abcdefghijklmnopqrstuvwxyz")
    rows = recall_by_gap(Remembers(tok, math.inf), tok, TEXT)
    assert [(r.low, r.high) for r in rows] == [(1, 5), (6, 10), (11, 20), (21, 30), (31, 40)]
    assert [r.lines for r in rows] == [12, 6, 6, 6, 6]
    assert all(r.loss == pytest.approx(0.0) and r.accuracy == 1.0 for r in rows)


def test_a_model_that_forgets_after_ten_is_at_chance_past_it() -> None:
    tok = CharTokenizer.build(TEXT + "abcdefghijklmnopqrstuvwxyz")
    rows = {r.low: r for r in recall_by_gap(Remembers(tok, 10), tok, TEXT)}
    assert rows[1].accuracy == rows[6].accuracy == 1.0
    for low in (11, 21, 31):
        assert rows[low].loss == pytest.approx(CHANCE)  # ln 26: a uniform guess among the letters
        assert rows[low].accuracy < 0.5


def test_a_word_run_or_a_text_without_recall_lines_is_refused(trained_runs: Path) -> None:
    line = one_line_error(invoke("recall", "lstm-run"), "no recall lines")
    assert "lstm-run" in line and "lmtui train recall" in line


@pytest.fixture
def recall_run(tmp_path: Path, model_cfg, train_cfg) -> str:
    from lmtui.training import Job, train

    path = tmp_path / "recall.txt"
    path.write_text(TEXT * 20, encoding="utf-8")
    list(train(Job(str(path), model_cfg("lstm"), train_cfg(steps=10, eval_every=5), name="tiny-recall")))
    return "tiny-recall"


def test_recall_through_the_command_line(recall_run: str) -> None:
    data = json_out(invoke("recall", recall_run, "--json"))
    assert data["model"] == "lstm" and data["seq_len"] == 16
    assert data["chance_loss"] == pytest.approx(math.log(26))
    assert [r["low"] for r in data["by_gap"]] == [1, 6, 11, 21, 31]
    assert all(r["lines"] > 0 and 0 <= r["accuracy"] <= 1 and r["loss"] > 0 for r in data["by_gap"])
    out = ok(invoke("recall", recall_run)).stdout
    assert "gap (digits)" in out and "31-40" in out and "ln 26 = 3.26" in out
    assert "lower loss is better" in out
    assert "--seq-len 16 (k2)" in out
