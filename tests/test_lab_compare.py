"""`compare`: one table of models trained on the same split, vocabulary and budget (Markdown, CSV, JSON);
what each budget bought (steps, tokens, seconds in training steps), every figure on the test text, and the
comparison's runs kept as one group."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest
from lab_util import invoke, json_out, ok, one_line_error

from lmtui import runs
from lmtui.corpus import split_text
from lmtui.lab.compare import Comparison, Row, budget_to_reach, parse_models, run_comparison, verdict
from lmtui.training import Control


def row(label: str, bpc: float, curve=(), steps: int | None = 200, seconds: float = 1.0) -> Row:
    tokens = 4000 if steps is None else steps * 32
    return Row(label, label, 10, 40, steps, tokens, seconds, 2**bpc, bpc, 2**bpc, 0.0, list(curve))


def test_compare_gives_every_model_the_same_steps_and_says_what_they_bought(english_file, tmp_path):
    out = tmp_path / "cmp"
    data = json_out(invoke("compare", english_file, "--models", "1gram,3gram,rnn,window", "--steps", "3",
                           "--out", out, "--json"))
    assert [r["label"] for r in data["rows"]] == ["1gram", "3gram", "rnn", "window"]
    assert data["group"] == "cmp1" and data["split"] == "test" and data["budget"] == "3 steps"
    names = [r["run"] for r in data["rows"]]
    assert names == ["cmp1-english-1gram", "cmp1-english-3gram", "cmp1-english-rnn", "cmp1-english-window"]
    loaded = [runs.load_run(n) for n in names]
    assert {r.meta["group"] for r in loaded} == {"cmp1"}
    assert len({tuple(r.tokenizer().vocab) for r in loaded}) == 1  # one vocabulary for every row
    test_chars = len(split_text(english_file.read_text(encoding="utf-8")).test)
    for r, run in zip(data["rows"], loaded, strict=True):
        m = run.metrics
        assert r["test_ppl"] == pytest.approx(m["test_ppl"]) and r["parameters"] == m["parameters"] > 0
        bits = m["test_loss"] * (m["test_tokens"] - 1) / test_chars / math.log(2)
        assert r["test_bits_per_char"] == pytest.approx(bits)  # on the test text too, not the validation
        assert 0 < r["train_seconds"] <= m["train_seconds"]  # seconds in steps: evaluations are not in it
        if r["label"].endswith("gram"):
            assert r["steps"] is None and r["tokens"] == m["train_tokens"]  # one pass over the training text
        else:  # the same steps for each; tokens read = steps x batch x seq-len (k1)
            train = run.meta["train"]
            assert r["steps"] == m["step"] == 3
            assert r["tokens"] == 3 * train["batch_size"] * train["seq_len"]
            evals = [e for e in run.history() if e.get("event") == "eval"]
            assert [bpc for _, bpc in r["val_curve"]] == [e["bits_per_char"] for e in evals]
            assert all(0 < t <= r["train_seconds"] for t, _ in r["val_curve"])  # against training seconds
    assert loaded[0].model_config.order == 1 and loaded[1].model_config.order == 3
    assert data["rows"][1]["test_ppl"] < data["rows"][0]["test_ppl"]  # a trigram beats a unigram
    md = (out / "compare.md").read_text(encoding="utf-8")
    assert "scored on the test text" in md.splitlines()[0] and "3 steps each" in md.splitlines()[0]
    assert "| model | params | bytes | steps | tokens | train s | test ppl |" in md and data["verdict"] in md
    table = list(csv.DictReader(io.StringIO((out / "compare.csv").read_text(encoding="utf-8"))))
    assert [r["model"] for r in table] == ["1gram", "3gram", "rnn", "window"]
    assert [r["steps"] for r in table] == ["", "", "3", "3"]
    assert [int(r["tokens"]) for r in table] == [r["tokens"] for r in data["rows"]]
    assert float(table[1]["test_ppl"]) == pytest.approx(data["rows"][1]["test_ppl"], rel=1e-4)
    assert json.loads((out / "compare.json").read_text(encoding="utf-8"))["verdict"] == data["verdict"]
    bits = [r["test_bits_per_char"] for r in data["rows"]]
    ngram_wins = min(bits[:2]) < min(bits[2:])
    assert ("n-grams win" in data["verdict"]) == ngram_wins
    assert "took 3 steps" in data["verdict"]  # says what the budget bought


def test_progress_moves_by_work_done_and_never_back(english_file):
    lines = ok(invoke("compare", english_file, "--models", "2gram,rnn,1gram", "--steps", "4", "--events",
                      "jsonl")).stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert events[0] == {"event": "group", "group": "cmp1",
                         "runs": ["cmp1-english-2gram", "cmp1-english-rnn", "cmp1-english-1gram"]}
    assert events[1]["event"] == "model" and events[-1]["event"] == "done"
    assert events[-1]["result"]["rows"][0]["label"] == "2gram"
    overall = [e["overall"] for e in events if "overall" in e]
    assert overall == sorted(overall) and overall[0] == 0 and overall[-1] == pytest.approx(1)
    rows = [e for e in events if e["event"] == "row"]
    assert 0 < rows[0]["overall"] < 0.1  # an n-gram's share is small: it only counts
    rnn = [e["overall"] for e in events if e["event"] == "progress" and e["label"] == "rnn"]
    assert len(rnn) >= 2 and rnn[0] < rnn[-1]  # within a neural model, its steps move the bar
    assert rows[1]["overall"] > 0.9  # the neural model was most of the work


def test_compare_human_table_and_option_names(english_file):
    human = ok(invoke("compare", english_file, "--models", "2gram,1gram"))
    assert "2gram" in human.stdout and "bits/char" in human.stdout and "Best: 2gram" in human.stdout
    assert "scored on the test text" in human.stdout
    ok(invoke("compare", english_file, "--models", "1gram", "--seconds", "1"))  # the old name still works
    one_line_error(invoke("compare", english_file, "--models", "1gram", "--seconds", "1", "--max-seconds",
                          "2"), "--max-seconds")
    help_text = ok(invoke("compare", "--help")).stdout
    assert "--max-seconds" in help_text and "--steps" in help_text and "--seconds " not in help_text
    assert "[default: char]" in help_text and "delete --group" in help_text


def test_a_stop_leaves_the_model_in_training_stopped_and_keeps_the_finished(english_file):
    control = Control()
    events = []
    for ev in run_comparison(str(english_file), ["1gram", "rnn", "2gram"], None, control=control,
                             steps=2000):
        events.append(ev)
        if ev["event"] == "progress" and ev["label"] == "rnn":
            control.reason, control.stop = "stopped", True  # what a stop line on stdin does
    result = events[-1]["result"]
    assert result.stopped == "rnn" and result.stopped_run == "cmp1-english-rnn"
    assert [r.label for r in result.rows] == ["1gram"]
    assert "stopped while training rnn" in result.verdict
    stopped = runs.load_run("cmp1-english-rnn")
    assert stopped.status == "stopped" and stopped.meta["group"] == "cmp1"
    assert stopped.metrics["step"] < 2000
    assert not runs.exists("cmp1-english-2gram")  # the models after it were not started


@pytest.mark.parametrize(
    ("when", "stopped", "rows"), [("model", "1gram", []), ("progress", "rnn", ["1gram"])]
)
def test_a_stop_between_models_or_while_one_starts(english_file, when, stopped, rows):
    control = Control()
    events = []
    for ev in run_comparison(str(english_file), ["1gram", "rnn"], None, control=control, steps=5):
        events.append(ev)
        if ev["event"] == when:  # as it starts (StopNow), or as the n-gram has counted (it ends first)
            control.reason, control.stop = "stopped", True
    result = events[-1]["result"]
    assert result.stopped == stopped and result.stopped_run == ""
    assert [r.label for r in result.rows] == rows
    assert f"stopped before {stopped} began" in result.verdict
    assert [r.name for r in runs.list_runs()] == [f"cmp1-english-{label}" for label in rows]
    assert all(r.status == "done" for r in runs.list_runs())


def test_a_comparison_is_one_group_that_never_takes_a_users_name(english_file):
    # the user's own runs, one named as a comparison's run would be, one as a comparison
    ok(invoke("train", english_file, "--model", "ngram", "--order", "2", "--name", "cmp1-english-1gram"))
    ok(invoke("train", english_file, "--model", "ngram", "--order", "2", "--name", "cmp4"))
    ok(invoke("train", english_file, "--model", "ngram", "--order", "3", "--name", "mine"))
    before = {n: runs.load_run(n).meta["created"] for n in ("cmp1-english-1gram", "cmp4", "mine")}
    data = json_out(invoke("compare", english_file, "--models", "1gram,2gram", "--json"))
    assert data["group"] == "cmp5"  # past every name cmpN or cmpN-…
    assert [r["run"] for r in data["rows"]] == ["cmp5-english-1gram", "cmp5-english-2gram"]
    for name, created in before.items():
        run = runs.load_run(name)
        assert run.meta["created"] == created and "group" not in run.meta
    second = json_out(invoke("compare", english_file, "--models", "1gram", "--json"))["group"]
    assert second == "cmp6"
    listed = json_out(invoke("runs", "--json"))["runs"]
    assert {r["name"]: r["group"] for r in listed if r["group"]} == {
        "cmp5-english-1gram": "cmp5", "cmp5-english-2gram": "cmp5", "cmp6-english-1gram": "cmp6"}
    table = ok(invoke("runs")).stdout.splitlines()
    assert table[0].split("\t")[-1] == "group"
    assert [line.split("\t")[-1] for line in table[1:] if line.startswith("cmp5-")] == ["cmp5", "cmp5"]

    one_line_error(invoke("delete", "--group", "cmp9", "--yes"), "no comparison named 'cmp9'")
    deleted = json_out(invoke("delete", "--group", "cmp5", "--yes", "--json"))
    assert deleted == {"deleted": ["cmp5-english-1gram", "cmp5-english-2gram"], "group": "cmp5"}
    left = {r["name"] for r in json_out(invoke("runs", "--json"))["runs"]}
    assert left == {"cmp1-english-1gram", "cmp4", "mine", "cmp6-english-1gram"}  # nothing else went
    assert "deleted comparison cmp6" in ok(invoke("delete", "cmp6", "--yes")).stdout  # no run of that name
    ok(invoke("delete", "cmp4", "--yes"))  # a run's own name: that run
    assert {r["name"] for r in json_out(invoke("runs", "--json"))["runs"]} == {"cmp1-english-1gram", "mine"}


@pytest.mark.parametrize(("group", "fragment"), [(5, "group has the wrong type"), ("../x", "group is not")])
def test_a_damaged_group_is_one_line_naming_the_field(trained_runs: Path, group, fragment):
    path = trained_runs / "ngram-run" / "run.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**meta, "group": group}), encoding="utf-8")
    line = one_line_error(invoke("sample", "ngram-run", "--length", "5"), fragment)
    assert "run.json" in line


def test_an_exported_run_leaves_its_group_behind(trained_runs: Path, tmp_path: Path):
    path = trained_runs / "ngram-run" / "run.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**meta, "group": "cmp2"}), encoding="utf-8")
    ok(invoke("export", "ngram-run", tmp_path / "b.safetensors"))
    ok(invoke("import", tmp_path / "b.safetensors", "--name", "theirs"))
    assert "group" not in runs.load_run("theirs").meta


def test_verdict_says_what_the_budget_bought_and_where_the_order_flips():
    # the LSTM's curve falls as 3 - 0.25 ln t; from its end at 10 s, 1 bit/char is reached at e^8 s
    curve = [(t, 3 - 0.25 * math.log(t)) for t in range(1, 11)]
    lstm = row("lstm", 3 - 0.25 * math.log(10), curve, seconds=10.0)
    c = Comparison("x", "char", 10, [row("5gram", 1.0, steps=None), lstm], train_tokens=8000)
    text = verdict(c)
    assert "n-grams win on the test text" in text and "5gram" in text and "more than 1,000 s" in text
    assert "took 200 steps and read 6,400 tokens (80.0% of one pass over the training text)" in text
    fast = [(t, 3 - math.log(t)) for t in range(1, 11)]
    lstm = row("lstm", 3 - math.log(10), fast, seconds=10)
    c = Comparison("x", "char", 10, [row("5gram", 0.5, steps=None), lstm])
    assert f"about {math.exp(2.5):,.0f} s of training steps" in verdict(c) and "lower bound" in verdict(c)
    young = row("lstm", 3 - math.log(10), fast, steps=20, seconds=10)  # too few steps to extrapolate
    assert "--max-seconds 40" in verdict(Comparison("x", "char", 10, [row("5gram", 0.5, steps=None), young]))
    c = Comparison("x", "char", 10, [row("5gram", 2.0, steps=None), row("gru", 1.5)])
    assert "neural models win" in verdict(c) and "gru" in verdict(c)
    c = Comparison("x", "char", 10, [row("5gram", 1.0, steps=None), row("rnn", 2.0, seconds=10)])
    assert "--max-seconds 40" in verdict(c)  # no curve to extrapolate: says to train longer


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
    one_line_error(invoke("compare", english_file, "--max-seconds", "-1"), "--max-seconds")
    one_line_error(invoke("compare", english_file.parent / "nope.txt", "--models", "1gram"), "nope.txt")


def test_word_level_bits_per_char_charge_every_unk_word_its_spelling(english_file, tmp_path):
    """A word model predicts a rare word as one cheap <unk>: its bits/char would beat a char model's for free.
    compare's word rows charge each scored <unk> word the bits of spelling it (lab.scoring.unk_spelling)."""
    from lmtui.lab.scoring import unk_spelling

    text = tmp_path / "rare.txt"  # the English text, with a word seen nowhere else in every line
    lines = english_file.read_text(encoding="utf-8").splitlines()
    text.write_text("".join(f"{line} zq{i}x\n" for i, line in enumerate(lines * 3)), encoding="utf-8")
    data = json_out(invoke("compare", text, "--level", "word", "--models", "2gram", "--steps", "2", "--json"))
    assert "<unk> word spelled out" in data["title"]
    r = data["rows"][0]
    run = runs.load_run(r["run"])
    m = run.metrics
    test = split_text(text.read_text(encoding="utf-8")).test
    spelling = unk_spelling(run.tokenizer(), test)
    assert m["test_unk_rate"] > 0 and spelling.bits > 0  # the text has words outside the vocabulary
    plain = m["test_loss"] * (m["test_tokens"] - 1) / len(test) / math.log(2)
    assert r["test_bits_per_char"] == pytest.approx(plain + spelling.bits / len(test))
