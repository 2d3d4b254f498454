"""Text from standard input (`cat novel.txt | lmtui train -`) and from pipes (`train <(…)`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from test_cli import clean_error, invoke, json_out

from lmtui import corpus, runs

NGRAM = ["--model", "ngram", "--order", "2"]


def test_train_from_stdin_and_eval_it_again(english_text):
    trained = json_out(invoke("train", "-", *NGRAM, "--name", "piped", "--json", input=english_text))
    meta = runs.load_run("piped").meta
    assert meta["corpus"]["name"] == "stdin" and meta["corpus"]["spec"] == corpus.STDIN
    again = json_out(invoke("eval", "piped", "--json", input=english_text))  # the same text piped in again
    assert again["perplexity"] == pytest.approx(trained["test_ppl"], rel=1e-9)


def test_stdin_has_the_usual_checks(monkeypatch, english_text):
    clean_error(invoke("train", "-", *NGRAM, input=""), "holds no text")
    clean_error(invoke("train", "-", *NGRAM, input="\x00\x01binary"), "standard input looks like a binary")
    monkeypatch.setattr(corpus, "MAX_BYTES", 1000)
    clean_error(invoke("train", "-", *NGRAM, "--name", "big", input=english_text), "more than 1000 bytes")
    assert not runs.exists("big")


def test_stdin_with_an_encoding(english_text):
    data = ("café\n" + english_text).encode("latin-1")
    ok = invoke("train", "-", *NGRAM, "--level", "char", "--encoding", "latin-1", "--name", "l1", input=data)
    assert ok.exit_code == 0, ok.output
    assert "é" in runs.load_run("l1").tokenizer().vocab
    line = clean_error(invoke("train", "-", *NGRAM, input=data), "not UTF-8")
    assert "standard input" in line


@pytest.mark.skipif(not shutil.which("bash") or not os.path.isdir("/dev/fd"), reason="needs bash and /dev/fd")
def test_train_from_process_substitution(english_file, child_env):
    command = f'"{sys.executable}" -m lmtui train <(cat "{english_file}") --model ngram --name sub --json'
    result = subprocess.run(
        ["bash", "-c", command], env=child_env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["run"] == "sub"
    meta = json.loads((runs.runs_dir() / "sub" / "run.json").read_text())
    assert meta["corpus"]["spec"] == corpus.STDIN and meta["corpus"]["name"] == "pipe"


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_eval_and_resume_of_a_piped_run_from_a_terminal_say_what_to_do(english_text, child_env):
    import pty

    ok = invoke(
        "train",
        "-",
        "--model",
        "lstm",
        "--steps",
        2,
        "--embed",
        8,
        "--hidden",
        8,
        "--seq-len",
        8,
        "--batch-size",
        2,
        "--device",
        "cpu",
        "--name",
        "p",
        input=english_text,
    )
    assert ok.exit_code == 0, ok.output
    leader, follower = pty.openpty()
    try:
        for args in (["eval", "p"], ["train", "--resume", "p"]):
            result = subprocess.run(
                [sys.executable, "-m", "lmtui", *args],
                env=child_env,
                stdin=follower,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 2, result.stderr
            assert result.stderr.strip().splitlines() == [result.stderr.strip()]
            assert "pipe the same text in again" in result.stderr and f"lmtui {args[0]}" in result.stderr
    finally:
        os.close(leader)
        os.close(follower)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_without_a_writer_is_an_error_not_a_hang(tmp_path):
    fifo = tmp_path / "text.fifo"
    os.mkfifo(fifo)
    clean_error(invoke("train", fifo, *NGRAM, "--name", "f"), "holds no text")
    assert not runs.exists("f")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_with_a_writer_trains(tmp_path, english_text, child_env):
    fifo = tmp_path / "text.fifo"
    os.mkfifo(fifo)
    child = subprocess.Popen(
        [sys.executable, "-m", "lmtui", "train", str(fifo), *NGRAM, "--name", "fifo", "--json"],
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with open(fifo, "w", encoding="utf-8") as writer:  # opens once the trainer reads
        writer.write(english_text)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert json.loads(out)["run"] == "fifo"


@pytest.mark.skipif(not shutil.which("bash") or not os.path.isdir("/dev/fd"), reason="needs bash and /dev/fd")
def test_a_slow_pipe_is_read_to_its_end(english_file, child_env):
    """Text arriving in pieces, with pauses, is all read (a pipe gives what one read returns)."""
    producer = f'(head -c 3000 "{english_file}"; sleep 0.5; tail -c +3001 "{english_file}")'
    command = f'"{sys.executable}" -m lmtui train <{producer} --model ngram --level char --name slow --json'
    result = subprocess.run(
        ["bash", "-c", command], env=child_env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    total = data["train_tokens"] + data["val_tokens"] + data["test_tokens"]
    assert total == len(english_file.read_text(encoding="utf-8"))


def test_eval_text_from_stdin(trained_runs, english_text):
    piped = json_out(invoke("eval", "ngram-run", "--text", "-", "--json", input=english_text))
    assert piped["text"] == "-" and piped["chars"] == len(english_text) and piped["perplexity"] > 1
