"""Bad input through the command line: a one-line error saying what to do, or a sensible result with a note.

Complements test_cli.py / test_corpus.py / test_training.py, which cover the first cases of each kind.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from test_cli import TINY, clean_error, invoke, json_out, ok

from lmtui import corpus, runs
from lmtui.events import Note, parse_event
from lmtui.tokens import WordTokenizer

NGRAM = ["--model", "ngram", "--order", "2"]

# -- paths, folders, empty and binary files


def test_missing_path_for_import_and_eval_text(trained_runs, tmp_path):
    clean_error(invoke("import", tmp_path / "nope.safetensors"), "no such file")
    clean_error(invoke("eval", "ngram-run", "--text", tmp_path / "nope"), "no such file")


@pytest.mark.parametrize(
    "contents", [{}, {"notes.md": "# hello\n", "data.csv": "a,b\n"}], ids=["empty", "no-txt"]
)
def test_folder_without_text_files(tmp_path, contents):
    folder = tmp_path / "texts"
    folder.mkdir()
    for name, text in contents.items():
        (folder / name).write_text(text, encoding="utf-8")
    clean_error(invoke("train", folder, *NGRAM, "--name", "f"), "no .txt files")
    assert not runs.exists("f")


@pytest.mark.parametrize(
    "content", [b"", b" \t\r\n\n  \r\n", b"\xef\xbb\xbf"], ids=["zero-bytes", "blank", "bom"]
)
def test_empty_or_whitespace_file(tmp_path, content):
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    clean_error(invoke("train", path, *NGRAM), "no text")
    clean_error(invoke("train", path, "--model", "lstm", "--steps", 2, *TINY), "no text")


def test_folder_of_blank_files_is_empty(tmp_path):
    folder = tmp_path / "blank"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.txt").write_text("\n  \n", encoding="utf-8")
    clean_error(invoke("train", folder, *NGRAM), "no text")


def test_binary_file_in_a_folder_is_named(tmp_path, english_text):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a.txt").write_text(english_text, encoding="utf-8")
    (folder / "b.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    line = clean_error(invoke("train", folder, *NGRAM), "binary")
    assert "b.txt" in line


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_device_file_is_refused_not_read_forever():
    t0 = time.perf_counter()
    clean_error(invoke("train", "/dev/zero", *NGRAM), "not a regular file")
    assert time.perf_counter() - t0 < 10


# -- encodings and line endings


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_utf16_with_bom_trains(tmp_path, english_text, codec):
    path = tmp_path / "sixteen.txt"
    text = english_text.replace("the", "thé")
    data = text.encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    path.write_bytes(data)
    result = json_out(invoke("train", path, *NGRAM, "--level", "char", "--name", "u16", "--json"))
    assert result["train_tokens"] + result["val_tokens"] + result["test_tokens"] == len(text)
    vocab = runs.load_run("u16").tokenizer().vocab
    assert "é" in vocab and "\ufeff" not in vocab and "\x00" not in vocab


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_cr_and_crlf_line_endings_train_like_lf(tmp_path, english_text, newline):
    path = tmp_path / "dos.txt"
    path.write_bytes(english_text.replace("\n", newline).encode("utf-8"))
    unix = tmp_path / "unix.txt"
    unix.write_text(english_text, encoding="utf-8")
    a = json_out(invoke("train", path, *NGRAM, "--name", "dos", "--json"))
    b = json_out(invoke("train", unix, *NGRAM, "--name", "unix", "--json"))
    assert "\r" not in runs.load_run("dos").tokenizer().vocab
    assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-12)


def test_latin1_text_for_eval_names_the_option_and_it_works(trained_runs, tmp_path):
    path = tmp_path / "other.txt"
    path.write_bytes("The café by the river, the naïve king.\n".encode("latin-1") * 5)
    clean_error(invoke("eval", "ngram-run", "--text", path), "--encoding latin-1")
    data = json_out(invoke("eval", "ngram-run", "--text", path, "--encoding", "latin-1", "--json"))
    assert data["tokens"] == len(path.read_bytes()) and data["unk_rate"] > 0


def test_unknown_encoding_name(tmp_path, english_file):
    clean_error(invoke("train", english_file, *NGRAM, "--encoding", "klingon-8"), "unknown encoding", code=2)


# -- texts that are too small, or odd


def test_text_too_small_to_split_through_the_cli(tmp_path):
    path = tmp_path / "two.txt"
    path.write_text("ab", encoding="utf-8")
    clean_error(invoke("train", path, *NGRAM, "--name", "two"), "too small")
    clean_error(invoke("train", path, "--model", "gru", "--steps", 2, *TINY, "--name", "two"), "too small")
    assert runs.list_runs() == []


def test_text_too_small_for_one_batch_trains_with_a_note(short_file):
    result = invoke(
        "train", short_file, "--model", "rnn", "--steps", 3, "--eval-every", 3, *TINY[:-4], "--batch-size",
        500, "--device", "cpu", "--name", "small", "--events", "jsonl",
    )  # fmt: skip
    events = [parse_event(line) for line in ok(result).stdout.splitlines()]
    notes = [e for e in events if isinstance(e, Note)]
    assert len(notes) == 1 and "batch size lowered from 500" in notes[0].message
    assert events[-1].kind == "finished" and events[-1].step == 3


@pytest.mark.parametrize("trailing", ["\n", ""], ids=["newline", "no-newline"])
@pytest.mark.parametrize("model", ["ngram", "lstm"])
def test_a_single_repeated_character_trains(tmp_path, trailing, model):
    """With a final newline, the split once moved both cuts onto it and left nothing to validate on."""
    path = tmp_path / "aaa.txt"
    path.write_text("a" * 3000 + trailing, encoding="utf-8")
    lstm = ["--model", "lstm", "--steps", 4, "--eval-every", 2, *TINY]
    args = [*NGRAM, "--level", "char"] if model == "ngram" else lstm
    data = json_out(invoke("train", path, *args, "--name", "rep", "--json"))
    assert data["val_tokens"] >= 2 and 1 <= data["val_ppl"] < (1.5 if model == "ngram" else 4)
    sample = json_out(invoke("sample", "rep", "--length", 20, "--seed", 1, "--json"))["samples"][0]
    assert set(sample) <= {"a", "\n", "\ufffd"}


def test_a_single_repeated_word_trains_at_word_level(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("buffalo " * 2000 + "\n", encoding="utf-8")
    data = json_out(invoke("train", path, *NGRAM, "--level", "word", "--name", "buf", "--json"))
    assert data["val_tokens"] >= 2 and np.isfinite(data["val_ppl"])
    assert runs.load_run("buf").tokenizer().vocab[:2] == ["<unk>", "buffalo"]


def test_huge_word_vocabulary_is_capped_fast_and_trains(tmp_path):
    """A million distinct random words: the vocabulary keeps the --max-vocab most frequent, with a note."""
    rng = np.random.default_rng(0)
    words = np.frombuffer(rng.bytes(1_000_000 * 5).hex().encode(), dtype="S10")  # 40 random bits per word
    common = b"the cat sat " * 20_000  # a few frequent words (in the training split) that make the cut
    path = tmp_path / "huge.txt"
    path.write_bytes(common + b" " + b" ".join(words) + b"\n")
    t0 = time.perf_counter()
    result = ok(
        invoke(
            "train",
            path,
            *NGRAM,
            "--level",
            "word",
            "--max-vocab",
            5000,
            "--name",
            "huge",
            "--events",
            "jsonl",
        )
    )
    seconds = time.perf_counter() - t0
    events = [parse_event(line) for line in result.stdout.splitlines()]
    assert events[0].kind == "started" and events[0].vocab_size == 5001
    notes = [e.message for e in events if isinstance(e, Note)]
    assert len(notes) == 1 and "read as <unk>" in notes[0] and "--max-vocab 5000" in notes[0]
    assert events[-1].kind == "finished" and np.isfinite(events[-1].val_ppl)
    vocab = runs.load_run("huge").tokenizer().vocab
    assert {"the", "cat", "sat"} <= set(vocab[1:4])
    assert seconds < 60, seconds  # ~10 s on a loaded 2-core machine; was dominated by sorting every word


def test_word_vocabulary_cap_matches_the_full_ranking():
    """The fast path for huge vocabularies keeps exactly what ranking every word would keep."""
    rng = np.random.default_rng(3)
    text = " ".join(f"w{int(i)}" for i in rng.zipf(1.3, 20_000) % 3000)
    for max_vocab in (1, 7, 50, 500, 10_000):
        for min_count in (1, 2, 5):
            tok = WordTokenizer.build(text, max_vocab=max_vocab, min_count=min_count)
            counts: dict[str, int] = {}
            for w in text.split():
                counts[w] = counts.get(w, 0) + 1
            ranked = sorted((c for c in counts.items() if c[1] >= min_count), key=lambda c: (-c[1], c[0]))
            assert tok.vocab[1:] == [w for w, _ in ranked[:max_vocab]], (max_vocab, min_count)


# -- files larger than memory allows


def test_file_over_max_bytes_is_refused_early_saying_what_to_do(tmp_path, english_file, monkeypatch):
    monkeypatch.setattr(corpus, "MAX_BYTES", 5000)
    line = clean_error(invoke("train", english_file, *NGRAM, "--name", "big"), "at most")
    assert "4.9 KiB" in line and "part of it" in line and "head -c 5000" in line
    assert not runs.exists("big")


def test_folder_over_max_bytes_in_total_is_refused(tmp_path, english_text, monkeypatch):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(4):
        (folder / f"{i}.txt").write_text(english_text[:4000], encoding="utf-8")
    monkeypatch.setattr(corpus, "MAX_BYTES", 10_000)  # each file fits, all four do not
    clean_error(invoke("train", folder, *NGRAM), "fewer of them")


# -- prime text the model never saw


@pytest.fixture
def word_run(english_file) -> str:
    ok(invoke("train", english_file, *NGRAM, "--level", "word", "--name", "words"))
    return "words"


def test_prime_of_only_unseen_words(word_run):
    result = ok(invoke("sample", word_run, "--prime", "zyzzyva quixotic", "--length", 12, "--seed", 1))
    assert "zyzzyva" in result.stderr and "quixotic" in result.stderr and "<unk>" in result.stderr
    assert result.stdout.startswith("zyzzyva quixotic")
    data = json_out(invoke("sample", word_run, "--prime", "zyzzyva", "--length", 12, "--json"))
    assert data["unknown"] == ["zyzzyva"] and data["samples"][0]
    pred = json_out(invoke("predict", word_run, "zyzzyva quixotic", "--json"))
    assert pred["unknown"] == ["quixotic", "zyzzyva"] and len(pred["next"]) == 10


@pytest.mark.parametrize("run", ["ngram-run", "lstm-run"])
def test_prime_of_only_unseen_characters(trained_runs, run):
    result = ok(invoke("sample", run, "--prime", "⚓☃ж", "--length", 15, "--seed", 2))
    assert "⚓" in result.stderr and result.stdout.startswith("⚓☃ж")
    assert len(result.stdout.rstrip("\n")) >= 3 + 10
    pred = json_out(invoke("predict", run, "☃☃", "--json"))
    assert sum(p["prob"] for p in pred["next"]) <= 1 + 1e-9


# -- sampling settings


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--temperature", "-inf"], "temperature"),
        (["--temperature", "-0.001"], "temperature"),
        (["--top-k", "-3"], "top-k"),
        (["--top-p", "-0.5"], "top-p"),
        (["--top-p", "1.0001"], "top-p"),
        (["--top-p", "nan"], "top-p"),
        (["--length", "-5"], "length"),
    ],
)
def test_more_bad_sample_settings(trained_runs, args, fragment):
    clean_error(invoke("sample", "ngram-run", *args), fragment, code=2)


def test_predict_and_count_must_be_positive(trained_runs):
    for args in (["predict", "ngram-run", "a", "--top", "-1"], ["sample", "ngram-run", "--count", "-2"]):
        result = invoke(*args)
        assert result.exit_code == 2 and "Traceback" not in result.output


# -- run names


@pytest.mark.parametrize("name", ["../ngram-run", "a/b", "..", "/etc", ".hidden"])
@pytest.mark.parametrize("command", ["sample", "eval", "delete", "export"])
def test_bad_names_never_reach_outside_the_runs_folder(trained_runs, tmp_path, name, command):
    extra = {"delete": ["--yes"], "export": [tmp_path / "x.safetensors"]}.get(command, [])
    clean_error(invoke(command, name, *extra), "invalid run name")
    assert sorted(p.name for p in trained_runs.iterdir()) == ["lstm-run", "ngram-run"]


def test_import_under_an_existing_or_invalid_name(trained_runs, tmp_path):
    bundle = tmp_path / "b.safetensors"
    ok(invoke("export", "ngram-run", bundle))
    clean_error(invoke("import", bundle), "already exists")
    clean_error(invoke("import", bundle, "--name", "lstm-run"), "already exists")
    clean_error(invoke("import", bundle, "--name", "../up"), "invalid run name")
    ok(invoke("import", bundle, "--name", "copy"))


# -- options that contradict each other


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--model", "ngram", "--json", "--events", "jsonl"], "choose one"),
        (["--model", "ngram", "--k", "0.5"], "--k"),
        (["--model", "ngram", "--smoothing", "backoff", "--k", "0.5"], "--k"),
        (["--model", "ngram", "--level", "char", "--max-vocab", "50"], "--max-vocab"),
        (["--model", "lstm", "--min-count", "2"], "--min-count"),  # the file's level is char
        (["--model", "rnn", "--seq-len", "8", "--k1", "9"], "--k1"),
    ],
)
def test_more_contradicting_options(english_file, args, fragment):
    clean_error(invoke("train", english_file, *args, "--name", "clash"), fragment, code=2)
    assert not runs.exists("clash")


def test_k_with_add_k_and_max_vocab_with_words_are_fine(english_file):
    ok(invoke("train", english_file, *NGRAM, "--smoothing", "add-k", "--k", "0.5", "--name", "addk"))
    ok(invoke("train", english_file, *NGRAM, "--level", "word", "--max-vocab", "100", "--name", "w100"))
    assert runs.load_run("w100").meta["vocab_size"] == 101


@pytest.mark.parametrize(
    "args",
    [["--lr", "0.1"], ["--batch-size", "2"], ["--seq-len", "4"], ["--max-vocab", "9"], ["--seed", "3"]],
)
def test_resume_refuses_settings_it_would_ignore(trained_runs, args):
    before = (trained_runs / "lstm-run" / "run.json").read_bytes()
    clean_error(invoke("train", "--resume", "lstm-run", *args), f"drop {args[0]}", code=2)
    assert (trained_runs / "lstm-run" / "run.json").read_bytes() == before
