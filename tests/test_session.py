"""A training session's timing and control: evaluations and checkpoints by time, quick stops that leave the
full evaluation pending (and ``lmtui eval`` that completes it), ``--max-seconds`` as the session's budget,
control over stdin, SIGHUP and lost outputs, and the headless progress lines."""

from __future__ import annotations

import io
import json
import math
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli import TINY, invoke, json_out, ok
from test_interrupts import Reader, _env, _popen, _train_cmd, checkpoint_step

from lmtui import runs, timing
from lmtui.control import Output, Signals, control_from_stdin
from lmtui.events import Checkpoint, Eval, Finished, Sample, Step
from lmtui.training import Control, Job, train


def slow_steps(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Every optimisation step takes at least ``seconds`` (a slow model, as a word RNN on a CPU is)."""
    import lmtui.neural_training as training

    real = training._restart_some

    def slow(*args, **kwargs):
        time.sleep(seconds)
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "_restart_some", slow)


def virtual_clock(monkeypatch: pytest.MonkeyPatch, step_seconds: float) -> None:
    """``time.perf_counter`` (the session's clock) moves only with the optimisation steps, each taking
    ``step_seconds``: start-up, evaluations and everything else take no time, however busy the machine is.
    So a test of the schedule by time gets the same schedule on every machine (a slow model's, here)."""
    import lmtui.neural_training as training

    base, moved = time.perf_counter(), [0.0]
    monkeypatch.setattr(time, "perf_counter", lambda: base + moved[0])
    real = training._restart_some

    def step_done(*args, **kwargs):
        moved[0] += step_seconds
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "_restart_some", step_done)


# -- the schedule, as numbers


def test_eval_gap_and_slice_are_bounded():
    assert timing.eval_gap(None) == timing.MAX_EVAL_GAP
    assert timing.eval_gap(60) == 6.0 and timing.eval_gap(3) == timing.MIN_EVAL_GAP
    assert timing.eval_gap(10_000) == timing.MAX_EVAL_GAP
    assert timing.slice_tokens(1e9, 6.0, 5000) == 5000  # never more than the split
    assert timing.slice_tokens(1.0, 6.0, 50_000) == timing.MIN_SLICE  # never a uselessly noisy few
    assert timing.slice_tokens(100_000, 5.0, 10**6) == int(100_000 * 5.0 * timing.SLICE_SHARE)
    assert timing.spacing(5.0, 0.1) == 5.0  # cheap evaluations keep the gap
    assert timing.spacing(5.0, 1.2) == pytest.approx(1.2 / timing.MAX_EVAL_SHARE)  # costly ones stay a share


def test_session_keeps_room_for_the_final_evaluation_or_leaves_it_pending():
    session = timing.Session(60.0)
    assert not session.full_fits(1000)  # nothing measured yet: no promise
    session.eval_rate, session.eval_cost = 10_000.0, 0.5
    cost = session.final_cost(50_000)
    assert cost is not None and session.full_fits(50_000)
    assert session.training_deadline(50_000) == pytest.approx(60.0 - 0.5 - cost)
    session.eval_rate = 100.0  # a full evaluation would eat the budget: train on, leave it pending
    assert not session.full_fits(50_000) and session.training_deadline(50_000) == pytest.approx(59.5)
    assert timing.Session(None).full_fits(10**9) and timing.Session(None).training_deadline(5) is None
    late = timing.Session(10.0, started=time.perf_counter() - 11.0)  # training overran its deadline
    late.eval_rate = 10_000.0
    assert late.full_fits(10_000) and not late.full_fits_now(10_000)  # so the full evaluation waits
    # at the end only the time left counts: a cost over its share (nothing was reserved for it) that the
    # time left still holds is done, and one a little over the budget (END_SLACK) too
    early = timing.Session(3.0)
    early.eval_rate = 10_000.0
    assert not early.full_fits(10_000) and early.full_fits_now(10_000)


# -- evaluations and checkpoints by time


def test_a_slow_model_still_evaluates_often_on_a_fixed_slice(english_file, model_cfg, train_cfg, monkeypatch):
    monkeypatch.setattr(timing, "MIN_EVAL_GAP", 0.05)
    virtual_clock(monkeypatch, 0.03)  # a 4 s session of 0.03 s steps, on any machine
    budget = 4.0
    cfg = train_cfg(steps=None, max_seconds=budget, eval_every=10**6)
    job = Job(str(english_file), model_cfg("gru"), cfg, name="slow")
    events = list(train(job))
    evals = [e for e in events if isinstance(e, Eval)]
    assert 9 <= len(evals) <= 12, len(evals)  # ~10 by time, plus the last step's; eval_every alone: one
    assert {e.scope for e in evals} == {"slice"}
    assert len({e.tokens for e in evals}) == 1 and 0 < evals[0].tokens <= len(english_file.read_text()) // 10
    assert len([e for e in events if isinstance(e, Sample)]) == len(evals)  # "what it writes now" each time
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.reason == "time" and not finished.eval_pending
    assert finished.val_ppl is not None  # the whole split, scored at the end
    meta = runs.load_run("slow").meta
    assert meta["metrics"]["eval_slice_tokens"] == evals[0].tokens
    assert meta["metrics"]["best_val_loss"] == min(e.val_loss for e in evals)  # best chosen on the slice


def test_checkpoints_come_by_time_between_evaluations(english_file, model_cfg, train_cfg, monkeypatch):
    slow_steps(monkeypatch, 0.03)
    job = Job(str(english_file), model_cfg("lstm"),
              train_cfg(steps=40, eval_every=10**6, checkpoint_every=0.2), name="ck")  # fmt: skip
    events = list(train(job))
    timed = [e for e in events if isinstance(e, Checkpoint) and e.step < 40]
    assert len(timed) >= 3 and not any(isinstance(e, Eval) and e.step < 40 for e in events)
    assert [e.step for e in timed] == sorted({e.step for e in timed})


def test_sigkill_after_a_timed_checkpoint_leaves_a_resumable_run(english_file, child_env):
    env = _env(child_env)
    cmd = _train_cmd(english_file, "timed", "--eval-every", "1000000", "--checkpoint-every", "0.5")
    proc = _popen(cmd, env)
    try:
        seen = Reader(proc).until(lambda e: isinstance(e, Checkpoint) and e.step > 0)
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not any(isinstance(e, Eval) for e in seen)  # saved by time, not by an evaluation
    step = checkpoint_step("timed")
    assert step >= seen[-1].step
    resumed = subprocess.run(
        [sys.executable, "-m", "lmtui", "train", "--resume", "timed", "--steps", str(step + 2),
         "--events", "jsonl"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout.splitlines()[0])["start_step"] == step


# -- quick stop and the pending evaluation


def _stopped_run(english_file: Path, model_cfg, train_cfg, name: str) -> list:
    control = Control()
    events = []
    for event in train(Job(str(english_file), model_cfg("gru"), train_cfg(steps=500, eval_every=1000), name),
                       control):  # fmt: skip
        events.append(event)
        if isinstance(event, Step) and event.step >= 3:
            control.stop = True  # what S in the app, SIGTERM or a "stop" line do
    return events


def test_a_stop_saves_and_leaves_the_full_evaluation_pending(english_file, model_cfg, train_cfg):
    events = _stopped_run(english_file, model_cfg, train_cfg, "stop")
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.reason == "stopped" and finished.eval_pending
    assert finished.val_ppl is None and finished.test_ppl is None
    assert not any(isinstance(e, Eval) for e in events)  # no evaluation on the way out: a quick stop
    assert isinstance(events[-2], Checkpoint) and events[-2].step == finished.step
    assert (runs.run_path("stop") / "model.safetensors").is_file()  # something to sample from already
    ok(invoke("sample", "stop", "--length", 5, "--seed", 1))
    run = runs.load_run("stop")
    assert run.meta["status"] == "stopped" and run.meta["eval_pending"] is True
    assert run.summary()["eval_pending"] and run.summary()["val_ppl"] is None
    assert run.summary()["parameters"] > 0  # the size is known at once
    assert checkpoint_step("stop") == finished.step
    row = next(line for line in ok(invoke("runs")).output.splitlines() if "stop" in line)
    assert row.count("pending") == 2  # validation and test perplexity, in the runs table

    result = json_out(invoke("eval", "stop", "--json"))  # what the app runs on demand
    assert result["stored"] is True and result["val_perplexity"] > 1 and result["perplexity"] > 1
    run = runs.load_run("stop")
    assert "eval_pending" not in run.meta and run.meta["status"] == "stopped"  # still resumable
    assert run.metrics["val_ppl"] == pytest.approx(result["val_perplexity"])
    assert run.metrics["test_ppl"] == pytest.approx(result["perplexity"])
    again = json_out(invoke("eval", "stop", "--json"))
    assert again["stored"] is False and again["perplexity"] == pytest.approx(result["perplexity"])


# -- --max-seconds is the session


def test_the_closing_line_says_where_the_session_went(english_file):
    result = ok(invoke("train", english_file, "--model", "gru", "--max-seconds", 3, *TINY, "--name", "sess"))
    last = [line for line in result.output.splitlines() if line.strip()][-1]
    assert " s start, " in last and " s training, " in last and last.endswith(" s evaluation")
    data = json_out(invoke("train", english_file, "--model", "gru", "--max-seconds", 2, *TINY, "--json"))
    parts = data["startup_seconds"] + data["training_seconds"] + data["eval_seconds"]
    assert math.isclose(parts, data["session_seconds"]) and data["reason"] == "time"


def test_headless_progress_lines_and_no_blank_line_after_an_ngram(english_file, monkeypatch):
    import lmtui.display as display

    monkeypatch.setattr(display, "HEADLESS_EVERY", 0.0)
    slow_steps(monkeypatch, 0.03)  # a step event every 0.2 s: a few of them
    result = ok(invoke("train", english_file, "--model", "gru", "--steps", 30, *TINY))
    progress = [line for line in result.output.splitlines() if line.startswith("step ") and "tok/s" in line]
    assert len(progress) >= 2 and progress[-1].endswith("%")  # step, loss, tok/s, elapsed, share done
    ngram = ok(invoke("train", english_file, "--model", "ngram"))
    assert "\n\n" not in ngram.output and "one counting pass" in ngram.output


def test_the_live_bar_ends_full(english_file, model_cfg, train_cfg):
    from rich.console import Console

    from lmtui.display import TrainDisplay

    display = TrainDisplay(Control(), console=Console(file=io.StringIO(), force_terminal=True, width=100))
    assert display.live
    events = list(train(Job(str(english_file), model_cfg("gru"), train_cfg(steps=5), name="bar")))
    for event in events:
        display.show(event)
    display.close()
    assert events[-1].reason == "steps" and display.progress.tasks[0].completed == 1.0


# -- control: stdin, signals, lost outputs


def test_stdin_lines_drive_the_control_flags():
    control = Control()
    control_from_stdin(control, io.StringIO("pause\n")).join(5)
    assert control.stop and control.reason == "stopped"  # the end of stdin: the parent is gone
    control = Control()
    control_from_stdin(control, io.StringIO("pause\nresume\n  STOP \n")).join(5)
    assert control.stop and not control.paused


def test_signals_work_on_a_platform_without_sighup_or_sigusr(monkeypatch):
    for name in ("SIGHUP", "SIGUSR1", "SIGUSR2"):
        monkeypatch.delattr(signal, name)
    control = Control()
    with Signals(control):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
    assert control.stop and control.reason == "stopped"
    assert signal.getsignal(signal.SIGTERM) is not None


def test_a_lost_output_stops_training_like_ctrl_c():
    read, write = os.pipe()
    os.close(read)
    stream = os.fdopen(write, "w")
    control = Control()
    out = Output(control, stream)
    out.write("x" * 100_000 + "\n")  # more than a pipe holds: the write reaches the closed end
    assert out.lost and control.stop and control.reason == "interrupted"
    out.write("more\n")  # nowhere, quietly
    stream.close()  # the null device took the fd: flushing what was left does not fail


def test_stdin_control_of_a_real_child(english_file, child_env):
    cmd = _train_cmd(english_file, "piped", "--eval-every", "1000000", "--control", "stdin")
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env(child_env))  # fmt: skip
    try:
        reader = Reader(proc)
        reader.until(lambda e: isinstance(e, Step) and e.step >= 2)
        proc.stdin.write("pause\n")
        proc.stdin.flush()
        # paused: the steps stop (a running child reports one every 0.2 s). However long the child takes to
        # read the line on a busy machine, a whole second without a step must come, then another.
        deadline = time.monotonic() + 60
        while [e for e in reader.drain(1.0) if isinstance(e, Step)]:
            assert time.monotonic() < deadline, "the child still steps a minute after the pause line"
        assert not [e for e in reader.drain(1.0) if isinstance(e, Step)]  # still paused
        proc.stdin.close()  # the app is gone: stop and save, even while paused
        events = reader.until(lambda e: isinstance(e, Finished))
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and events[-1].reason == "stopped" and events[-1].eval_pending
    assert runs.load_run("piped").meta["status"] == "stopped"


@pytest.mark.parametrize("events", [True, False], ids=["jsonl", "display"])
def test_a_closed_stdout_is_like_ctrl_c(english_file, child_env, events):
    cmd = _train_cmd(english_file, "headed", "--eval-every", "1000000")
    if not events:
        cmd = [a for a in cmd if a not in ("--events", "jsonl")]  # the plain lines for a pipe
    proc = _popen(cmd, _env(child_env))
    try:
        assert "headed" in proc.stdout.readline()  # `| head -1`
        proc.stdout.close()
        proc.wait(timeout=60)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err and "Exception ignored" not in err, err
    assert runs.load_run("headed").meta["status"] == "interrupted"
    assert checkpoint_step("headed") > 0


def test_sighup_with_a_closed_terminal_saves_and_exits(english_file, child_env):
    cmd = _train_cmd(english_file, "hup", "--eval-every", "1000000")
    cmd = [a for a in cmd if a not in ("--events", "jsonl")]
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=_env(child_env),
                            start_new_session=True)  # fmt: skip
    os.close(slave)
    try:
        seen, deadline = b"", time.monotonic() + 90
        while b"tok/s" not in seen and time.monotonic() < deadline:  # the live bar is drawing
            seen += os.read(master, 4096)
        assert b"tok/s" in seen, seen
        os.close(master)  # the window closes ...
        proc.send_signal(signal.SIGHUP)  # ... and the terminal hangs up
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    meta = runs.load_run("hup").meta
    assert meta["status"] == "stopped" and meta["eval_pending"] is True
    assert checkpoint_step("hup") > 0


def test_the_session_clock_starts_with_the_process():
    """--max-seconds counts from the command's start: a process that has lived a second says so (a lower
    bound, which holds however busy the machine is)."""
    code = "import time; time.sleep(1.0); from lmtui.timing import process_age; print(process_age())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    age = float(out)
    assert 0.95 <= age < 600


def test_tokens_per_second_are_the_training_steps_own(english_file, model_cfg, train_cfg, monkeypatch):
    """Each Step's tokens/s is the tokens read since the last Step over the seconds spent in training steps
    since then: a slow evaluation in between no longer drags the next rate down."""
    from lmtui.neural_training import NeuralTraining

    evaluate = NeuralTraining.evaluate

    def slow_evaluation(self):
        time.sleep(0.3)  # an evaluation far slower than the steps around it
        yield from evaluate(self)

    monkeypatch.setattr(NeuralTraining, "evaluate", slow_evaluation)
    job = Job(str(english_file), model_cfg("lstm"), train_cfg(steps=60, eval_every=10), name="r")
    events = list(train(job))
    steps = [e for e in events if isinstance(e, Step) and e.tokens]
    assert sum(isinstance(e, Eval) for e in events) >= 5 and len(steps) >= 5
    for before, after in zip(steps, steps[1:], strict=False):
        if after.tokens > before.tokens:
            expected = (after.tokens - before.tokens) / (after.step_seconds - before.step_seconds)
            assert after.tokens_per_s == pytest.approx(expected, rel=1e-6)
