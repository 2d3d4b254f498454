"""The command line, end to end: every command, JSON output, clean one-line errors, signals and resume."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lmtui import runs
from lmtui.cli import main
from lmtui.corpus import corpora_dir
from lmtui.events import Finished, Started, Step, parse_event

REPO = Path(__file__).resolve().parent.parent
TINY = ["--embed", "8", "--hidden", "16", "--seq-len", "16", "--batch-size", "4", "--device", "cpu"]


def invoke(*args, input: str | None = None) -> Result:
    # a wide "terminal", so rich tables keep names on one line
    return CliRunner(env={"COLUMNS": "200"}).invoke(main, [str(a) for a in args], input=input)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
    return result


def clean_error(result: Result, fragment: str = "", code: int = 1) -> str:
    """A failure must be one line on stderr, with the given exit status, and never a traceback."""
    assert result.exit_code == code, f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip() and not aside(line)]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert fragment in lines[0], lines[0]
    return lines[0]


def aside(line: str) -> bool:
    """A line on stderr beside the result: a note, or training's progress line ("step 5  loss 3.656 …")."""
    return line.startswith("note:") or (line.startswith("step ") and "tok/s" in line)


def json_out(result: Result) -> dict:
    ok(result)
    return json.loads(result.stdout)


# -- help and listing


def test_help_for_every_command():
    result = ok(invoke("--help"))
    assert "Usage:" in result.output
    names = set(main.commands)
    assert {"corpora", "train", "sample", "predict", "eval", "runs", "delete", "export-arpa"} <= names
    for name in sorted(names):
        out = ok(invoke(name, "--help")).output
        assert "Usage:" in out and name in out
        first_line = (main.commands[name].help or "").strip().splitlines()[0]
        assert first_line.split()[0] in out
    assert "--model" in ok(invoke("train", "-h")).output


def test_version():
    assert "0.1.0" in ok(invoke("--version")).output


@pytest.mark.skipif(
    not (corpora_dir() / "manifest.json").is_file(), reason="corpora/manifest.json not built yet"
)
def test_corpora_json():
    data = json_out(invoke("corpora", "--json"))
    by_name = {c["name"]: c for c in data["corpora"]}
    assert {"speeches", "scripts", "paint-colours"} <= set(by_name)
    for c in by_name.values():
        assert c["bytes"] > 100_000 and c["unit"] in ("text", "lines") and c["level"] in ("char", "word")
    assert by_name["paint-colours"]["unit"] == "lines"
    assert "scripts" in ok(invoke("corpora")).stdout


# -- train


def test_train_lstm_json(english_file):
    result = invoke(
        "train",
        english_file,
        "--model",
        "lstm",
        "--steps",
        30,
        "--eval-every",
        15,
        *TINY,
        "--name",
        "cli-lstm",
        "--json",
    )
    data = json_out(result)  # stdout holds exactly one JSON object
    assert data["run"] == "cli-lstm" and data["reason"] == "steps" and data["step"] == 30
    assert data["val_ppl"] == pytest.approx(math.exp(data["val_loss"]), rel=1e-9)
    assert math.isfinite(data["test_ppl"]) and data["test_ppl"] > 1
    assert data["train_tokens"] + data["val_tokens"] + data["test_tokens"] == len(english_file.read_text())
    assert data["metrics"]["parameters"] > 0 and data["model"]["hidden"] == 16
    run = runs.load_run("cli-lstm")
    assert data["val_loss"] < math.log(run.meta["vocab_size"])  # better than guessing uniformly
    assert run.meta["train"]["max_seconds"] is None  # --steps alone means exactly that many steps
    assert run.metrics["val_ppl"] == pytest.approx(data["val_ppl"])


def test_train_events_jsonl(english_file):
    result = ok(
        invoke(
            "train",
            english_file,
            "--model",
            "gru",
            "--steps",
            20,
            "--eval-every",
            10,
            *TINY,
            "--name",
            "cli-events",
            "--events",
            "jsonl",
        )
    )
    lines = result.stdout.splitlines()
    events = [parse_event(line) for line in lines]
    assert all(e is not None for e in events), [
        line for line, e in zip(lines, events, strict=True) if e is None
    ]
    assert isinstance(events[0], Started) and events[0].run == "cli-events"
    assert isinstance(events[-1], Finished) and events[-1].reason == "steps" and events[-1].step == 20
    assert [e.kind for e in events].count("eval") == 2
    assert any(isinstance(e, Step) for e in events)


def test_train_display_mode(english_file):
    result = ok(
        invoke(
            "train",
            english_file,
            "--model",
            "rnn",
            "--steps",
            10,
            "--eval-every",
            5,
            *TINY,
            "--name",
            "cli-show",
        )
    )
    assert "cli-show" in result.output and "validation perplexity" in result.output


def test_train_ngram_json_and_export_arpa(english_file, tmp_path):
    data = json_out(
        invoke("train", english_file, "--model", "ngram", "--order", 3, "--name", "cli-ng", "--json")
    )
    assert data["run"] == "cli-ng" and data["val_ppl"] > 1 and math.isfinite(data["val_ppl"])
    assert data["model"]["model"] == "ngram" and data["model"]["order"] == 3
    out = tmp_path / "model.arpa"
    ok(invoke("export-arpa", "cli-ng", out))
    text = out.read_text(encoding="utf-8")
    assert text.startswith("\\data\\\n")
    assert "\\3-grams:" in text and text.rstrip().endswith("\\end\\")


def test_export_arpa_errors(english_file, tmp_path):
    ok(
        invoke(
            "train", english_file, "--model", "ngram", "--order", 2, "--smoothing", "add-k", "--name", "addk"
        )
    )
    clean_error(invoke("export-arpa", "addk", tmp_path / "a.arpa"), "kn and backoff")
    ok(invoke("train", english_file, "--model", "ngram", "--order", 2, "--name", "kn2"))
    clean_error(invoke("export-arpa", "kn2", tmp_path / "no" / "such" / "dir" / "a.arpa"), "cannot write")


def test_export_arpa_of_neural_run_is_an_error(trained_runs, tmp_path):
    clean_error(invoke("export-arpa", "lstm-run", tmp_path / "x.arpa"), "n-gram")
    assert not (tmp_path / "x.arpa").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--model", "lstm", "--order", "3"], "--order"),
        (["--model", "ngram", "--hidden", "8"], "--hidden"),
        (["--model", "ngram", "--steps", "5"], "--steps"),
        (["--model", "gru", "--smoothing", "kn"], "--smoothing"),
        (["--model", "window", "--order", "4"], "--context"),
        (["--model", "lstm", "--context", "3"], "--context"),
        (["--model", "window", "--layers", "2"], "--layers"),
        (["--model", "ngram", "--tie-weights"], "--tie-weights"),
    ],
)
def test_contradicting_options(english_file, args, fragment):
    clean_error(invoke("train", english_file, *args, "--name", "clash"), fragment, code=2)
    assert not runs.exists("clash")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--steps", "0"], "--steps"),
        (["--lr", "-1"], "--lr"),
        (["--dropout", "1.5"], "--dropout"),
        (["--k1", "99"], "--k1"),
        (["--embed", "8", "--hidden", "16", "--tie-weights"], "--tie-weights"),
    ],
)
def test_bad_values_are_clean_errors(english_file, args, fragment):
    clean_error(invoke("train", english_file, "--model", "lstm", *args, "--name", "bad"), fragment, code=2)
    assert not runs.exists("bad")


def test_existing_name_is_an_error(trained_runs, english_file):
    before = (trained_runs / "lstm-run" / "run.json").read_bytes()
    clean_error(invoke("train", english_file, "--steps", 5, *TINY, "--name", "lstm-run"), "already exists")
    assert (trained_runs / "lstm-run" / "run.json").read_bytes() == before


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", "-x", "x" * 65])
def test_invalid_name_is_an_error(english_file, lmtui_home, name):
    clean_error(invoke("train", english_file, "--steps", 5, *TINY, "--name", name), "invalid run name")
    assert not (lmtui_home / "escape").exists() and not (lmtui_home / "runs").exists()


def test_threads_are_not_carried_into_a_resume(english_file, monkeypatch):
    """A run trained with --threads 1 and resumed without it chooses again (here: the environment's 2)."""
    first = ("--steps", 4, "--threads", 1, "--precision", "fp32", "--name", "t")
    ok(invoke("train", english_file, *TINY, *first))
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    result = ok(invoke("train", "--resume", "t", "--steps", 2, "--events", "jsonl"))
    started = parse_event(result.stdout.splitlines()[0])
    assert isinstance(started, Started)
    n = min(2, len(os.sched_getaffinity(0)))
    assert started.compute == f"fp32, {n} thread" + "s" * (n > 1)
    assert started.threads_why == "OMP_NUM_THREADS 2"
    pinned = ok(invoke("train", "--resume", "t", "--steps", 2, "--threads", 1, "--events", "jsonl"))
    pinned_started = parse_event(pinned.stdout.splitlines()[0])
    assert pinned_started.compute == "fp32, 1 thread" and pinned_started.threads_why == "--threads 1"


def test_resume_with_fixed_options_is_an_error(trained_runs):
    clean_error(invoke("train", "--resume", "lstm-run", "--model", "gru"), "--model", code=2)
    clean_error(invoke("train", "--resume", "lstm-run", "--hidden", "32"), "--hidden", code=2)


def test_train_without_corpus_is_an_error():
    clean_error(invoke("train"), "corpus", code=2)


def test_missing_path_is_an_error(tmp_path):
    clean_error(invoke("train", tmp_path / "no-such.txt", "--steps", 5), "no such file")


def test_binary_file_is_an_error(tmp_path):
    path = tmp_path / "blob.txt"
    path.write_bytes(bytes(range(256)) * 20)
    clean_error(invoke("train", path, "--steps", 5), "binary")


def test_non_utf8_file_is_an_error_and_encoding_fixes_it(tmp_path, english_text):
    path = tmp_path / "latin.txt"
    path.write_bytes(english_text.replace("the", "thé").encode("latin-1"))
    clean_error(invoke("train", path, "--model", "ngram", "--name", "lat"), "--encoding")
    data = json_out(
        invoke("train", path, "--model", "ngram", "--level", "char", "--name", "lat", "--encoding", "latin-1",
               "--json")
    )
    assert data["run"] == "lat"
    assert "é" in runs.load_run("lat").tokenizer().vocab


def test_damaged_utf16_file_is_a_clean_error(tmp_path):
    """A file with a UTF-16 BOM that is not valid UTF-16 once escaped as a UnicodeDecodeError traceback."""
    path = tmp_path / "damaged16.txt"
    path.write_bytes(b"\xff\xfeA\x00B")
    clean_error(invoke("train", path, "--model", "ngram"))


def test_empty_file_is_an_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("  \n\n", encoding="utf-8")
    clean_error(invoke("train", path, "--model", "ngram"), "no text")


def test_text_too_short_for_seq_len_is_an_error(short_file):
    clean_error(
        invoke("train", short_file, "--model", "lstm", "--steps", 5, "--seq-len", "5000"), "--seq-len"
    )
    assert runs.list_runs() == []


def test_jsonl_failure_is_reported_as_an_event(short_file):
    result = invoke("train", short_file, "--model", "lstm", "--seq-len", "5000", "--events", "jsonl")
    clean_error(result, "--seq-len")
    events = [parse_event(line) for line in result.stdout.splitlines()]
    assert len(events) == 1 and events[0].kind == "failed" and "--seq-len" in events[0].message


def test_default_name_for_a_file_starting_with_underscore(tmp_path, english_text):
    """unique_name once kept the leading '_' and made a name validate_name refused."""
    path = tmp_path / "_notes.txt"
    path.write_text(english_text, encoding="utf-8")
    ok(invoke("train", path, "--model", "ngram", "--json"))


# -- sample, predict, eval


def test_sample_with_seed_is_reproducible(trained_runs):
    a = ok(invoke("sample", "lstm-run", "--seed", 1, "--length", 60)).stdout
    b = ok(invoke("sample", "lstm-run", "--seed", 1, "--length", 60)).stdout
    c = ok(invoke("sample", "lstm-run", "--seed", 2, "--length", 60)).stdout
    assert a == b and a != c
    assert len(a.rstrip("\n")) >= 50


def test_sample_json_and_count(trained_runs):
    data = json_out(invoke("sample", "lstm-run", "--seed", 3, "--length", 40, "--count", 2, "--json"))
    assert data["run"] == "lstm-run" and len(data["samples"]) == 2
    assert all(len(s) == 40 for s in data["samples"]) and data["samples"][0] != data["samples"][1]
    again = json_out(invoke("sample", "lstm-run", "--seed", 3, "--length", 40, "--count", 2, "--json"))
    assert again["samples"] == data["samples"]
    greedy = json_out(invoke("sample", "lstm-run", "-t", 0, "--length", 30, "--prime", "The", "--json"))
    greedy2 = json_out(invoke("sample", "lstm-run", "-t", 0, "--length", 30, "--prime", "The", "--json"))
    assert greedy["samples"] == greedy2["samples"]


def test_sample_prime_with_unknown_characters(trained_runs):
    result = ok(invoke("sample", "lstm-run", "--seed", 1, "--length", 20, "--prime", "Zß⚓ The"))
    assert "⚓" in result.stderr and "<unk>" in result.stderr
    assert result.stdout.startswith("Zß⚓ The")
    data = json_out(invoke("sample", "lstm-run", "--seed", 1, "--length", 20, "--prime", "⚓", "--json"))
    assert "⚓" in data["unknown"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--temperature", "-1"], "temperature"),
        (["--temperature", "nan"], "temperature"),
        (["--temperature", "inf"], "temperature"),
        (["--top-p", "1.5"], "top-p"),
        (["--top-p", "0"], "top-p"),
        (["--length", "0"], "length"),
        (["--top-k", "0"], "top-k"),
        (["--stop-lines", "0"], "stop-lines"),
    ],
)
def test_sample_bad_settings_are_clean_errors(trained_runs, args, fragment):
    clean_error(invoke("sample", "lstm-run", *args), fragment, code=2)


def test_sample_count_zero_is_a_usage_error(trained_runs):
    result = invoke("sample", "lstm-run", "--count", 0)
    assert result.exit_code == 2 and "Traceback" not in result.output and "--count" in result.stderr


def test_sample_from_an_ngram_run(trained_runs):
    data = json_out(invoke("sample", "ngram-run", "--seed", 4, "--length", 50, "--top-k", 5, "--json"))
    assert len(data["samples"][0]) == 50
    again = json_out(invoke("sample", "ngram-run", "--seed", 4, "--length", 50, "--top-k", 5, "--json"))
    assert again["samples"] == data["samples"]
    lines = json_out(
        invoke("sample", "ngram-run", "--seed", 4, "--length", 5000, "--stop-lines", 2, "--json")
    )
    assert lines["samples"][0].count("\n") == 2 and lines["samples"][0].endswith("\n")


def test_predict_json(trained_runs):
    data = json_out(invoke("predict", "lstm-run", "The old sail", "--json"))
    assert data["run"] == "lstm-run" and data["context"] == "The old sail" and data["unknown"] == []
    probs = [n["prob"] for n in data["next"]]
    assert len(probs) == 10 and probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-9
    top3 = json_out(invoke("predict", "lstm-run", "The old sail", "--top", 3, "--json"))
    assert top3["next"] == data["next"][:3]
    assert "p at T 1" in ok(invoke("predict", "lstm-run", "The")).stdout  # sample's T beside the model's own


def test_predict_with_undecodable_argument(trained_runs):
    """Non-UTF-8 bytes in argv arrive as lone surrogates; encoding them once raised UnicodeEncodeError."""
    ok(invoke("predict", "lstm-run", "ab\udcff"))


def test_eval_json_on_test_split_matches_training_metrics(trained_runs):
    data = json_out(invoke("eval", "lstm-run", "--json"))
    run = runs.load_run("lstm-run")
    assert data["text"] == "test split" and data["tokens"] == run.metrics["test_tokens"]
    assert data["perplexity"] == pytest.approx(run.metrics["test_ppl"], rel=1e-6)
    assert data["perplexity"] == pytest.approx(math.exp(data["loss"]))
    assert data["unk_rate"] == 0.0 or data["unk_rate"] < 0.05


def test_eval_other_text(trained_runs, tmp_path):
    path = tmp_path / "other.txt"
    path.write_text("The king walked to the river before the rain came.\n" * 5 + "Zzz ⚓\n", encoding="utf-8")
    data = json_out(invoke("eval", "lstm-run", "--text", path, "--json"))
    assert data["text"] == str(path) and data["tokens"] == len(path.read_text(encoding="utf-8"))
    assert data["unk_rate"] > 0 and math.isfinite(data["loss"])
    human = ok(invoke("eval", "lstm-run", "--text", path)).stdout
    assert "perplexity" in human and "lstm-run" in human
    clean_error(invoke("eval", "lstm-run", "--text", tmp_path / "nope.txt"), "no such file")


def test_eval_ngram_run(trained_runs):
    data = json_out(invoke("eval", "ngram-run", "--json"))
    assert data["perplexity"] == pytest.approx(runs.load_run("ngram-run").metrics["test_ppl"], rel=1e-6)


# -- runs, delete, unknown runs


def test_runs_json_and_table(trained_runs, lmtui_home):
    data = json_out(invoke("runs", "--json"))
    assert data["runs_dir"] == str(lmtui_home / "runs")
    rows = {r["name"]: r for r in data["runs"]}
    assert set(rows) == {"lstm-run", "ngram-run"}
    assert rows["lstm-run"]["model"] == "lstm" and rows["ngram-run"]["model"] == "ngram"
    assert rows["lstm-run"]["val_ppl"] > 1
    table = ok(invoke("runs")).stdout
    assert "lstm-run" in table and "ngram-run" in table


def test_runs_when_empty():
    assert json_out(invoke("runs", "--json"))["runs"] == []
    assert "no runs yet" in ok(invoke("runs")).stdout


def test_delete(trained_runs, monkeypatch):
    monkeypatch.setattr("lmtui.cli.interactive", lambda: True)  # a person answers at a terminal
    result = invoke("delete", "lstm-run", input="n\n")
    assert result.exit_code == 1 and runs.exists("lstm-run")
    assert "nothing deleted" in result.stderr and "Aborted" not in result.output
    ok(invoke("delete", "lstm-run", input="y\n"))
    assert not runs.exists("lstm-run")
    assert "deleted ngram-run" in ok(invoke("delete", "ngram-run", "--yes")).stdout
    assert not (trained_runs / "ngram-run").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["sample", "ghost"],
        ["predict", "ghost", "x"],
        ["eval", "ghost"],
        ["delete", "ghost", "--yes"],
        ["export-arpa", "ghost", "out.arpa"],
        ["train", "--resume", "ghost"],
    ],
    ids=lambda a: a[0] if a[0] != "train" else "resume",
)
def test_unknown_run_is_a_clean_error(trained_runs, args):
    clean_error(invoke(*args), "ghost")


def test_an_unknown_run_names_the_closest_runs(trained_runs):
    meta = (trained_runs / "ngram-run" / "run.json").read_bytes()
    for i in range(12):  # more runs than a list of the first few would show
        (trained_runs / f"aaa-{i:02d}").mkdir()
        (trained_runs / f"aaa-{i:02d}" / "run.json").write_bytes(meta)
    line = clean_error(invoke("sample", "ngram-rnu"), "no run named 'ngram-rnu'")
    assert "closest: ngram-run" in line and "aaa-" not in line and "lists all 14" in line
    assert "closest: lstm-run" in clean_error(invoke("eval", "lstm"))  # a name it is part of
    assert "none is close; `lmtui runs` lists all 14" in clean_error(invoke("predict", "zzzzzz", "x"))
    for i in range(12):
        (trained_runs / f"aaa-{i:02d}" / "run.json").unlink()
    assert "(runs: lstm-run, ngram-run)" in clean_error(invoke("predict", "zzzzzz", "x"))  # a few: all


def test_delete_without_a_terminal_asks_for_yes(trained_runs):
    """`echo y | lmtui delete X`: piped input is no answer; the line says what to do instead."""
    for answer in ("n\n", "y\n", ""):
        line = clean_error(invoke("delete", "lstm-run", input=answer))
        assert line == "Error: stdin is not a terminal: add --yes to delete without asking"
    assert runs.exists("lstm-run")
    clean_error(invoke("delete", "--group", "cmp1", input="y\n"), "no comparison named")
    ok(invoke("delete", "lstm-run", "--yes"))
    assert not runs.exists("lstm-run")


# -- eval: is this the text the run was trained on?


def test_eval_says_when_the_text_is_not_the_one_trained_on(english_file):
    ok(invoke("train", english_file, "--model", "ngram", "--order", 2, "--name", "h"))
    digest = runs.load_run("h").meta["corpus"]["sha256"]
    assert len(digest) == 64 and int(digest, 16) >= 0
    same = invoke("eval", "h", "--json")
    assert json_out(same)["training_text"] == "same" and same.stderr == ""
    changed_text = english_file.read_text(encoding="utf-8").replace("river", "ocean")
    english_file.write_text(changed_text, encoding="utf-8")
    changed = invoke("eval", "h", "--json")
    assert json_out(changed)["training_text"] == "different"  # still scored: a note, not an error
    assert "note: this text is not the one h was trained on" in changed.stderr
    assert "not the one" in ok(invoke("eval", "h")).stderr
    other = json_out(invoke("eval", "h", "--text", english_file, "--json"))  # your own text: no note
    assert other["training_text"] == "different"


def test_eval_with_the_training_text_as_text_says_so(english_file):
    ok(invoke("train", english_file, "--model", "ngram", "--order", 2, "--name", "h"))
    result = invoke("eval", "h", "--text", english_file)
    assert "includes the training split" in ok(result).stderr


def test_eval_of_a_piped_run_tells_another_pipe(english_file, child_env):
    text = english_file.read_text(encoding="utf-8")
    ok(invoke("train", "-", "--model", "ngram", "--order", 2, "--name", "p", input=text))
    assert json_out(invoke("eval", "p", "--json", input=text))["training_text"] == "same"
    other = invoke("eval", "p", "--json", input=text.replace("the", "a"))
    assert json_out(other)["training_text"] == "different" and "another text was piped in" in other.stderr


def test_eval_of_an_older_run_without_a_digest(trained_runs):
    meta = json.loads((trained_runs / "ngram-run" / "run.json").read_text(encoding="utf-8"))
    meta["corpus"].pop("sha256", None)
    (trained_runs / "ngram-run" / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    result = invoke("eval", "ngram-run", "--json")
    assert json_out(result)["training_text"] == "unknown" and result.stderr == ""


@pytest.mark.parametrize("digest", ["abc", "A" * 64, "g" * 64, 7])
def test_a_damaged_digest_is_one_line_naming_the_field(trained_runs, digest):
    path = trained_runs / "ngram-run" / "run.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["corpus"]["sha256"] = digest
    path.write_text(json.dumps(meta), encoding="utf-8")
    assert "corpus.sha256" in clean_error(invoke("eval", "ngram-run"))


def test_damaged_run_is_a_clean_error(trained_runs):
    (trained_runs / "lstm-run" / "model.safetensors").write_bytes(b"\x80\x04garbage")
    clean_error(invoke("sample", "lstm-run"), "safetensors")
    (trained_runs / "lstm-run" / "run.json").write_text("{", encoding="utf-8")
    clean_error(invoke("predict", "lstm-run", "x"), "damaged")


# -- the real console entry: Ctrl+C saves a checkpoint, --resume carries on


def _read_events(proc: subprocess.Popen, until, deadline: float) -> list:
    events = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        event = parse_event(line)
        assert event is not None, line
        events.append(event)
        if until(event):
            break
    return events


def test_sigint_saves_a_resumable_checkpoint(english_file, child_env):
    env = {**child_env, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), child_env.get("PYTHONPATH")]))}
    cmd = [
        sys.executable,
        "-m",
        "lmtui",
        "train",
        str(english_file),
        "--model",
        "lstm",
        "--steps",
        "100000",
        "--eval-every",
        "100000",
        *TINY,
        "--name",
        "sig",
        "--events",
        "jsonl",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        events = _read_events(proc, lambda e: isinstance(e, Step) and e.step >= 3, time.monotonic() + 90)
        assert events and isinstance(events[0], Started)
        assert isinstance(events[-1], Step), proc.stderr.read() if proc.poll() is not None else events
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    events += [parse_event(line) for line in out.splitlines()]
    assert all(e is not None for e in events)
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.reason == "interrupted"
    assert finished.step >= 3
    assert any(e.kind == "checkpoint" and e.step == finished.step for e in events)
    run = runs.load_run("sig")
    assert run.meta["status"] == "interrupted"
    _, meta = runs.read_tensors(run.path / "last.safetensors")
    assert json.loads(meta["lmtui"])["step"] == finished.step

    more = finished.step + 4
    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "lmtui",
            "train",
            "--resume",
            "sig",
            "--steps",
            str(more),
            "--events",
            "jsonl",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    events = [parse_event(line) for line in resumed.stdout.splitlines()]
    assert all(e is not None for e in events)
    assert isinstance(events[0], Started) and events[0].start_step == finished.step
    assert [e.step for e in events if isinstance(e, Step)][0] == finished.step + 1
    assert isinstance(events[-1], Finished) and events[-1].reason == "steps" and events[-1].step == more
    assert runs.load_run("sig").meta["status"] == "done"


# -- the app's training child, started ahead of its job: `lmtui trainer` (hidden; lmtui/warm.py)


def _trainer(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lmtui", "trainer"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)


def _child_env(child_env: dict[str, str]) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(REPO), child_env.get("PYTHONPATH")]))
    return {**child_env, "PYTHONPATH": path}


def test_trainer_runs_its_job_line_as_lmtui_train_does(english_file, child_env):
    """Ready first; then the job (the arguments of `lmtui train`) gives the same run as the command, and
    --control stdin reads the lines after the job (the stdin stays open here: no early end)."""
    job = [str(english_file), "--model", "lstm", "--steps", "2", *TINY, "--threads", "1", "--seed", "5",
           "--events", "jsonl", "--control", "stdin"]
    proc = _trainer(_child_env(child_env))
    try:
        assert json.loads(proc.stdout.readline()) == {"event": "ready"}
        proc.stdin.write(json.dumps([*job, "--name", "warm"]) + "\n")
        proc.stdin.flush()
        events = _read_events(proc, lambda e: isinstance(e, Finished), time.monotonic() + 120)
        proc.wait(timeout=60)  # with its stdin still open: the job ended by its own steps
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    cold_run = ok(invoke("train", *job[:-2], "--name", "cold"))  # the same job as the command, in-process
    reference = [parse_event(line) for line in cold_run.stdout.splitlines()]
    assert events[0].kind == reference[0].kind == "started" and events[0].run == "warm"
    steps = [(e.step, e.train_loss) for e in events if isinstance(e, Step)]
    assert steps == [(e.step, e.train_loss) for e in reference if isinstance(e, Step)] and steps[-1][0] == 2
    warm, cold = events[-1], reference[-1]
    assert isinstance(warm, Finished) and isinstance(cold, Finished)
    assert (warm.reason, warm.step) == (cold.reason, cold.step) == ("steps", 2)
    assert warm.val_loss == cold.val_loss
    assert runs.load_run("warm").meta["status"] == "done"


def test_trainer_without_a_job_ends_quietly():
    result = ok(invoke("trainer", input=""))  # end of stdin before a job: the app did not need it
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"event": "ready"}]
    assert result.stderr == ""


@pytest.mark.parametrize("line", ['{"corpus": "scripts"}', "scripts --steps 2", '["scripts", 2]'])
def test_trainer_with_a_bad_job_says_one_line(line):
    result = invoke("trainer", input=line + "\n")
    clean_error(result, "job line", code=2)
    lines = result.stdout.splitlines()
    assert json.loads(lines[0]) == {"event": "ready"} and len(lines) == 2
    failed = parse_event(lines[1])
    assert failed is not None and failed.kind == "failed" and "job line" in failed.message
