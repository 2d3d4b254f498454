"""Text from standard input (`cat novel.txt | lmtui train -`) and from pipes (`train <(…)`)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

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


# -- a time budget covers the wait for piped text (issue 17)

TINY_LSTM = ["--model", "lstm", "--embed", 8, "--hidden", 8, "--seq-len", 8, "--batch-size", 2]
TINY_LSTM += ["--device", "cpu"]


def _train_child(args: list, env: dict[str, str], stdin) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "lmtui", "train", "-", *map(str, TINY_LSTM), *map(str, args)],
        env=env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.skipif(sys.platform == "win32", reason="select() on pipes is POSIX")
def test_stdin_that_sends_nothing_ends_at_the_time_budget(child_env):
    """`sleep 30 | lmtui train - --max-seconds 3`: one line, exit 1, no run; long before the writer ends."""
    read_end, write_end = os.pipe()  # a writer that never writes (and never closes while the test runs)
    try:
        child = _train_child(["--max-seconds", 3, "--name", "late"], child_env, read_end)
        os.close(read_end)
        out, err = child.communicate(timeout=30)
    finally:
        os.close(write_end)
    assert child.returncode == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("Error: no text arrived on standard input") and "--max-seconds" in lines[0]
    assert not runs.exists("late") and not runs.runs_dir().exists()


@pytest.mark.skipif(sys.platform == "win32", reason="select() on pipes is POSIX")
def test_stdin_that_has_not_ended_at_the_time_budget_says_how_much_came(child_env):
    child = _train_child(["--max-seconds", 2, "--events", "jsonl"], child_env, subprocess.PIPE)
    child.stdin.write("a first line of text\n")
    child.stdin.flush()
    try:
        child.wait(timeout=30)  # stdin stays open: the text never ends
        out, err = child.stdout.read(), child.stderr.read()
    finally:
        child.stdin.close()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == 1, err
    assert json.loads(out)["event"] == "failed" and "21 bytes but not ended" in json.loads(out)["message"]
    assert not runs.runs_dir().exists()


def test_a_pipe_that_sends_after_a_second_still_trains(english_text, child_env):
    args = ["--max-seconds", 20, "--steps", 2, "--name", "slowpipe", "--json"]
    child = _train_child(args, child_env, subprocess.PIPE)
    time.sleep(1.0)
    out, err = child.communicate(english_text, timeout=120)
    assert child.returncode == 0, err
    assert json.loads(out)["run"] == "slowpipe" and runs.load_run("slowpipe").meta["corpus"]["spec"] == "-"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_ends_the_wait_for_stdin(child_env, sig):
    """With no time budget (--steps alone) the wait is open-ended, and Ctrl+C or SIGTERM still end it."""
    read_end, write_end = os.pipe()
    try:
        child = _train_child(["--steps", 2, "--name", "waits"], child_env, read_end)
        os.close(read_end)
        time.sleep(3.0)  # well into the wait: lmtui starts reading within a second, even on a busy machine
        child.send_signal(getattr(signal, sig))
        out, err = child.communicate(timeout=30)
    finally:
        os.close(write_end)
    assert child.returncode == 130, err
    assert "Traceback" not in err and not runs.runs_dir().exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_read_stream_deadline_on_a_named_pipe(tmp_path):
    """In-process: a writer that connects and never writes meets the deadline; without one, its text."""
    import threading

    fifo = tmp_path / "slow.fifo"
    os.mkfifo(fifo)
    info = corpus.find_corpus(str(fifo))
    done = threading.Event()

    def writer(text: str | None) -> None:
        with open(fifo, "w", encoding="utf-8") as f:
            if text is None:
                done.wait(10)
            else:
                time.sleep(0.3)
                f.write(text)

    thread = threading.Thread(target=writer, args=(None,))
    thread.start()
    t0 = time.perf_counter()
    with pytest.raises(corpus.StreamTimeout, match="no text arrived"):
        corpus.read_stream(info, deadline=time.perf_counter() + 0.5)
    assert time.perf_counter() - t0 < 5
    done.set()
    thread.join()
    thread = threading.Thread(target=writer, args=("words and more words\n",))
    thread.start()
    assert corpus.read_stream(info, deadline=time.perf_counter() + 30) == "words and more words\n"
    thread.join()
