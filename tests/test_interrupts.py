"""Interrupted and failing training: signals, kill -9 (even mid-write), NaN losses and full disks.

test_cli.py covers Ctrl+C -> checkpoint -> --resume; test_training.py the engine side of NaN and ENOSPC.
"""

from __future__ import annotations

import errno
import json
import math
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from test_cli import TINY, clean_error, invoke, json_out, ok

from lmtui import runs
from lmtui.errors import LmtuiError
from lmtui.events import Checkpoint, Eval, Finished, Started, Step, parse_event
from lmtui.training import Control, Job, train

REPO = Path(__file__).resolve().parent.parent


def history_steps(name: str, kind: str = "step") -> list[int]:
    return [h["step"] for h in runs.load_run(name).history() if h.get("event") == kind]


def checkpoint_step(name: str) -> int:
    _, meta = runs.read_tensors(runs.run_path(name) / "last.safetensors")
    return json.loads(meta["lmtui"])["step"]


# -- in process: an interrupted run's curve carries on


def test_interrupted_run_resumes_with_its_curve_and_data_position(english_file, model_cfg, train_cfg):
    control = Control()
    job = Job(str(english_file), model_cfg("gru"), train_cfg(steps=500, eval_every=1000), name="ctrl-c")
    events = []
    for event in train(job, control):
        events.append(event)
        if isinstance(event, Step) and event.step >= 3:
            control.stop, control.reason = True, "interrupted"  # what the SIGINT handler does
    stop = events[-1].step
    assert events[-1].reason == "interrupted" and stop >= 3
    assert runs.load_run("ctrl-c").meta["status"] == "interrupted"
    _, meta = runs.read_tensors(runs.run_path("ctrl-c") / "last.safetensors")
    assert json.loads(meta["lmtui"])["position"] == stop * 16  # one window of --seq-len per step
    more = train_cfg(steps=stop + 3, eval_every=1000)
    resumed = list(train(Job(str(english_file), job.model, more, "ctrl-c", True)))
    assert resumed[0].start_step == stop and resumed[-1].step > stop
    steps = history_steps("ctrl-c")
    assert steps == sorted(set(steps)) and stop in steps and max(steps) <= resumed[-1].step
    assert [s for s in steps if s > stop][0] == stop + 1  # carries on after the interrupted step
    assert history_steps("ctrl-c", "eval") == [resumed[-1].step]  # a stop saves without evaluating


# -- a real training process, killed


def _env(child_env: dict[str, str]) -> dict[str, str]:
    return {
        **child_env,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), child_env.get("PYTHONPATH")])),
    }


def _train_cmd(english_file: Path, name: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "lmtui", "train", str(english_file), "--model", "lstm", "--steps", "100000",
        *TINY, "--name", name, "--events", "jsonl", *extra,
    ]  # fmt: skip


class Reader:
    """Events from a child's stdout, read on a thread so a test can wait with a timeout."""

    def __init__(self, proc: subprocess.Popen):
        self.proc, self.lines = proc, queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def until(self, done, timeout: float = 90) -> list:
        events, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            events.append(parse_event(line))
            assert events[-1] is not None, line
            if done(events[-1]):
                return events
        raise AssertionError(f"not seen in time; got {events[-3:]}; stderr: {self._stderr()}")

    def drain(self, seconds: float) -> list:
        events, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.05)
            except queue.Empty:
                continue
            if line is not None:
                events.append(parse_event(line))
        return events

    def _stderr(self) -> str:
        return self.proc.stderr.read() if self.proc.poll() is not None else "(still running)"


def _popen(cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)


def test_sigkill_leaves_a_resumable_checkpoint(english_file, child_env):
    env = _env(child_env)
    proc = _popen(_train_cmd(english_file, "killed", "--eval-every", "2"), env)
    try:
        seen = Reader(proc).until(lambda e: isinstance(e, Checkpoint) and e.step >= 6)
        time.sleep(0.1)  # most likely mid-step or mid-write: any moment must do
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    last = max(e.step for e in seen if isinstance(e, Checkpoint))
    killed = runs.load_run("killed")
    assert killed.meta["status"] == "training"  # it never got to say otherwise,
    assert killed.status == "interrupted" and killed.resumable  # but the lock died with it
    assert checkpoint_step("killed") >= last
    before = checkpoint_step("killed")

    resumed = subprocess.run(
        [sys.executable, "-m", "lmtui", "train", "--resume", "killed", "--steps", str(before + 3),
         "--events", "jsonl"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    events = [parse_event(line) for line in resumed.stdout.splitlines()]
    assert isinstance(events[0], Started) and events[0].start_step == before >= last
    assert [e.step for e in events if isinstance(e, Step)][0] == before + 1
    assert isinstance(events[-1], Finished) and events[-1].step > before
    steps = history_steps("killed")  # steps logged after the checkpoint, before the kill, were dropped
    assert steps == sorted(set(steps)) and max(steps) <= events[-1].step
    assert [s for s in steps if s > before][0] == before + 1
    assert not [p for p in runs.run_path("killed").iterdir() if p.name.endswith(".tmp")]


KILL_MID_WRITE = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    import safetensors.numpy
    real = safetensors.numpy.save_file
    calls = {"n": 0}
    def dying(tensors, filename, metadata=None):
        if ".last.safetensors." in filename:
            calls["n"] += 1
            if calls["n"] == 2:  # the second checkpoint: write half of it, then die like kill -9
                real(tensors, filename, metadata=metadata)
                data = Path(filename).read_bytes()
                Path(filename).write_bytes(data[: len(data) // 2])
                os._exit(137)
        return real(tensors, filename, metadata=metadata)
    safetensors.numpy.save_file = dying
    from lmtui.cli import main
    main(sys.argv[1:])
    """
)


def test_kill_in_the_middle_of_a_checkpoint_write(english_file, child_env, train_cfg):
    cmd = _train_cmd(english_file, "midwrite", "--eval-every", "3")
    cmd[1:3] = ["-c", KILL_MID_WRITE]  # python -c SCRIPT train ...
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(child_env), cwd=REPO, timeout=120)
    assert done.returncode == 137, done.stderr
    folder = runs.run_path("midwrite")
    leftovers = [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".last.safetensors.")  # the half file
    assert checkpoint_step("midwrite") == 3  # the previous checkpoint, whole
    assert [r.name for r in runs.list_runs()] == ["midwrite"]  # the temp file is no run and no checkpoint
    data = json_out(invoke("sample", "midwrite", "--length", 10, "--json"))
    assert len(data["samples"][0]) == 10

    cfg = runs.load_run("midwrite").model_config
    job = Job(str(english_file), cfg, train_cfg(steps=2, eval_every=100), "midwrite", True)
    events = list(train(job))
    assert events[0].start_step == 3 and events[-1].step > 3
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]  # cleaned on resume


# -- signals the TUI sends


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="no SIGUSR1/SIGUSR2 on this platform")
def test_sigusr1_pauses_sigusr2_resumes_sigterm_stops(english_file, child_env):
    proc = _popen(_train_cmd(english_file, "sigs", "--eval-every", "100000"), _env(child_env))
    try:
        reader = Reader(proc)
        reader.until(lambda e: isinstance(e, Step) and e.step >= 2)
        proc.send_signal(signal.SIGUSR1)
        reader.drain(0.6)  # a step already under way may still report
        assert not [e for e in reader.drain(1.2) if isinstance(e, Step)]  # paused: nothing arrives
        proc.send_signal(signal.SIGUSR2)
        resumed = reader.until(lambda e: isinstance(e, Step), timeout=30)
        assert resumed[-1].step >= 2
        proc.send_signal(signal.SIGTERM)
        rest = reader.until(lambda e: isinstance(e, Finished), timeout=60)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    finished = rest[-1]
    assert finished.reason == "stopped"
    assert any(isinstance(e, Checkpoint) and e.step == finished.step for e in rest)
    assert runs.load_run("sigs").meta["status"] == "stopped"
    assert checkpoint_step("sigs") == finished.step


# -- failures: NaN, full disk


def _poison_after(monkeypatch: pytest.MonkeyPatch, calls_ok: int) -> None:
    from torch.nn import functional as F

    real = F.cross_entropy
    calls = {"n": 0}

    def poisoned(logits, target, *args, **kwargs):
        out = real(logits, target, *args, **kwargs)
        if logits.requires_grad:
            calls["n"] += 1
            if calls["n"] > calls_ok:
                return out * float("inf")
        return out

    monkeypatch.setattr(F, "cross_entropy", poisoned)


def test_nan_loss_through_the_cli_fails_the_run_but_keeps_it_usable(english_file):
    args = [
        "train",
        english_file,
        "--model",
        "lstm",
        "--steps",
        20,
        "--eval-every",
        4,
        *TINY,
        "--name",
        "inf",
    ]
    with pytest.MonkeyPatch.context() as mp:  # (monkeypatch.undo() would also undo LMTUI_HOME)
        _poison_after(mp, 6)
        result = invoke(*args, "--events", "jsonl")
    line = clean_error(result, "became")
    assert "step 7" in line and "last good checkpoint" in line
    events = [parse_event(x) for x in result.stdout.splitlines()]
    assert events[-1].kind == "failed" and "step 7" in events[-1].message
    rows = {r["name"]: r for r in json_out(invoke("runs", "--json"))["runs"]}
    assert rows["inf"]["status"] == "failed"
    assert "failed" in ok(invoke("runs")).stdout
    assert len(json_out(invoke("sample", "inf", "--length", 15, "--json"))["samples"][0]) == 15
    assert checkpoint_step("inf") == 4
    assert math.isfinite(json_out(invoke("eval", "inf", "--json"))["loss"])


def test_nan_validation_loss_is_caught_before_it_is_saved(english_file, model_cfg, train_cfg, monkeypatch):
    from lmtui.models.neural import NeuralModel

    real = NeuralModel.cross_entropy
    evals = {"n": 0}

    def flaky(self, tokens):
        evals["n"] += 1
        return float("nan") if evals["n"] == 4 else real(self, tokens)  # calls 1-2 time a probe

    monkeypatch.setattr(NeuralModel, "cross_entropy", flaky)
    events = []
    job = Job(str(english_file), model_cfg("rnn"), train_cfg(steps=20, eval_every=3), name="nanval")
    with pytest.raises(LmtuiError) as exc:
        events.extend(train(job))
    assert "validation loss became nan at step 6" in str(exc.value) and "\n" not in str(exc.value)
    assert [e.step for e in events if isinstance(e, Eval)] == [3]
    assert checkpoint_step("nanval") == 3  # the step-6 weights were never written
    assert runs.load_run("nanval").meta["status"] == "failed"


def test_full_disk_through_the_cli_is_one_line_and_keeps_the_checkpoint(english_file):
    ok(
        invoke(
            "train", english_file, "--model", "gru", "--steps", 4, "--eval-every", 2, *TINY, "--name", "full"
        )
    )
    before = (runs.run_path("full") / "last.safetensors").read_bytes()
    import safetensors.numpy

    def no_space(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"\0" * 10)
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(safetensors.numpy, "save_file", no_space)
        line = clean_error(invoke("train", "--resume", "full", "--steps", 8), "No space left on device")
    assert "previous version is kept" in line
    assert (runs.run_path("full") / "last.safetensors").read_bytes() == before
    assert not [p for p in runs.run_path("full").iterdir() if p.name.endswith(".tmp")]
    assert len(json_out(invoke("sample", "full", "--length", 5, "--json"))["samples"][0]) == 5


# -- a stop while training is still starting


def test_a_stop_line_during_start_up_ends_the_child_at_once_without_a_run(english_file, child_env):
    """The app's S during start-up: the child reads "stop" before it has loaded torch or read the text, and
    ends with one line and status 130, leaving no run behind (nothing was trained, nothing is lost)."""
    argv = [sys.executable, "-m", "lmtui", "train", str(english_file), *map(str, TINY), "--steps", "50",
            "--name", "early", "--events", "jsonl", "--control", "stdin"]  # fmt: skip
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=child_env)  # fmt: skip
    out, err = proc.communicate("stop\n", timeout=240)
    assert proc.returncode == 130, err
    assert "stopped before training began: no run was made for it" in err
    assert "Traceback" not in err
    assert not any(parse_event(line) for line in out.splitlines() if '"step"' in line)
    assert not runs.exists("early")
