"""A short text at word level: evaluations come every pass, and a time budget ends early once the validation
loss has stopped improving (the run keeps its best weights), instead of training on for minutes past them."""

from __future__ import annotations

import json

from test_cli import invoke, ok

from lmtui import runs
from lmtui.timing import PATIENCE_EVALS, PATIENCE_PASSES


def test_a_short_word_text_is_evaluated_each_pass_and_stops_early(english_file):
    # ~3,600 words: one pass is a few steps of the word preset's 32 x 32 tokens; the budget is a ceiling
    # the run is not expected to reach (it ends by its validation loss, whatever the machine's speed)
    result = ok(invoke("train", english_file, "--level", "word", "--max-seconds", "900", "--name", "short"))
    assert "stopped early: the validation loss had not improved" in result.output
    assert "(overfit)" in result.output and runs.load_run("short").status == "done"
    lines = ok(invoke("train", english_file, "--level", "word", "--max-seconds", "900", "--name", "again",
                      "--events", "jsonl")).stdout.splitlines()
    events = [json.loads(line) for line in lines if line.startswith("{")]
    assert events[-1]["event"] == "finished" and events[-1]["reason"] == "overfit"
    run = runs.load_run("again")
    metrics = run.meta["metrics"]
    evals = [e for e in events if e["event"] == "eval" and e.get("scope") == "slice"]
    train_tokens = metrics["train_tokens"]
    per_pass = max(1, (train_tokens // run.meta["train"]["batch_size"]) // run.meta["train"]["seq_len"])
    assert evals[0]["step"] <= 2 * per_pass  # the first evaluation within two passes, not after many
    best = min(evals, key=lambda e: e["val_loss"])
    after = [e for e in evals if e["step"] > best["step"]]
    assert len(after) >= PATIENCE_EVALS and metrics["step"] - best["step"] >= PATIENCE_PASSES * per_pass
    assert metrics["best_step"] == best["step"]
    assert metrics["val_loss"] <= min(e["val_loss"] for e in evals[-3:])  # the best weights were scored


def test_a_budget_in_steps_is_trained_to_the_end(english_file):
    ok(invoke("train", english_file, "--level", "word", "--steps", "150", "--name", "steps"))
    assert runs.load_run("steps").meta["metrics"]["step"] == 150
