"""The fixed-window model's problem in numbers (issue 19, "still not touchable"): parameters that grow with
the window, none shared across positions; `lmtui params`."""

from __future__ import annotations

from pathlib import Path

import pytest
from lab_util import invoke, json_out, ok, one_line_error

from lmtui.lab.window import by_window, window_line, window_parts
from lmtui.models import ModelConfig
from lmtui.models.neural import WindowModel


@pytest.mark.parametrize("context", [1, 3, 8])
def test_the_parts_are_the_built_model_s_own(context: int) -> None:
    config = ModelConfig(model="window", embed=5, hidden=7, context=context)
    parts = window_parts(config, 11)
    net = WindowModel(config, 11).net
    assert parts.total == WindowModel(config, 11).num_parameters()
    assert parts.embedding == net.emb.weight.numel()
    assert parts.hidden == net.hidden.weight.numel() + net.hidden.bias.numel()
    assert parts.per_position * context == net.hidden.weight.numel()  # a block per position, nothing shared


def test_each_position_adds_its_own_block() -> None:
    config = ModelConfig(model="window", embed=16, hidden=128, context=6)
    sizes = dict(by_window(config, 80, (2, 4, 8)))
    assert set(sizes) == {2, 4, 6, 8}  # its own window too
    assert sizes[4] - sizes[2] == sizes[8] - sizes[6] == 2 * 16 * 128
    twelve = sizes[8] + 4 * 2048
    assert window_line(config, 80) == f"6 positions × 2,048 unshared weights; window 12: {twelve:,}"


@pytest.fixture
def window_run(english_file: Path, model_cfg, train_cfg) -> str:
    from lmtui.training import Job, train

    list(train(Job(str(english_file), model_cfg("window", context=4), train_cfg(steps=3), name="win")))
    return "win"


def test_params_of_a_window_run(window_run: str) -> None:
    data = json_out(invoke("params", window_run, "--context", "2,16", "--json"))
    assert data["context"] == 4 and data["shared_across_steps"] is False
    assert data["per_position"] == 12 * 24 and data["hidden"] == 4 * 12 * 24 + 24
    assert [r["context"] for r in data["by_window"]] == [2, 4, 16]
    out = ok(invoke("params", window_run)).stdout
    assert "4 positions × 12 × 24" in out and "none is shared across positions" in out
    assert "4 (this run)" in out


def test_params_of_a_recurrent_run_says_its_weights_serve_every_step(trained_runs: Path) -> None:
    out = ok(invoke("params", "lstm-run")).stdout
    assert "the same at any context length" in out and "window 8:" in out
    data = json_out(invoke("params", "lstm-run", "--json"))
    assert data["shared_across_steps"] is True and data["parameters"] > 0


def test_params_refuses_an_ngram_run_and_a_bad_window_list(trained_runs: Path) -> None:
    one_line_error(invoke("params", "ngram-run"), "stores counts, not parameters")
    result = invoke("params", "lstm-run", "--context", "4,x")
    assert result.exit_code == 2 and "comma-separated" in result.output
