"""The thread policy: forced counts, the cores free at start-up, and the tuner that follows the load."""

from __future__ import annotations

import re

import pytest

from lmtui import threads
from lmtui.threads import Choice, CpuSample, ThreadTuner


@pytest.fixture
def four_cores(monkeypatch):
    monkeypatch.setattr(threads, "cores", lambda: 4)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv(threads.KEEP_CORES_ENV, raising=False)


def test_others_busy_subtracts_this_process_and_needs_a_long_enough_window():
    before = CpuSample(wall=10.0, busy=100.0, own=5.0)
    after = CpuSample(wall=12.0, busy=104.0, own=6.0)  # 4 busy core-seconds in 2 s, 1 of them ours
    assert threads.others_busy(before, after) == pytest.approx(1.5)
    assert threads.others_busy(before, CpuSample(10.1, 101.0, 5.0)) is None  # too short to tell
    assert threads.others_busy(CpuSample(10.0, None, 5.0), after) is None  # no /proc/stat


def test_fitting_threads_leaves_the_cores_others_use():
    assert threads.fitting_threads(0.0, 2) == 2
    assert threads.fitting_threads(0.2, 2) == 2  # a little background work still leaves both
    assert threads.fitting_threads(0.67, 2) == 1  # a busy process squeezed by our two threads
    assert threads.fitting_threads(1.0, 2) == 1
    assert threads.fitting_threads(5.0, 2) == 1  # never none
    assert threads.fitting_threads(1.0, 4) == 3


def test_forced_counts_win_and_say_so(four_cores, monkeypatch):
    assert threads.choose(3, None) == Choice(3, "--threads 3", False)
    assert threads.choose(64, None).threads == 4  # no more than the cores
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert threads.choose(None, None) == Choice(2, "OMP_NUM_THREADS 2", False)
    assert threads.choose(1, None).why == "--threads 1"  # the option wins over the environment


def test_the_start_follows_the_cores_free_over_start_up(four_cores, monkeypatch):
    start = CpuSample(wall=0.0, busy=0.0, own=0.0)
    # over 2 s of start-up others kept 2 cores busy (5 core-seconds in all, 1 of them ours)
    monkeypatch.setattr(CpuSample, "now", classmethod(lambda cls: CpuSample(2.0, 5.0, 1.0)))
    choice = threads.choose(None, start)
    assert choice.threads == 2 and choice.adaptive and "2 of 4 cores free" in choice.why
    monkeypatch.setenv(threads.KEEP_CORES_ENV, "1")  # the app's child: at most 3, whatever is free
    monkeypatch.setattr(CpuSample, "now", classmethod(lambda cls: CpuSample(2.0, 1.0, 1.0)))
    choice = threads.choose(None, start)
    assert choice.threads == 3 and "one kept for the app" in choice.why


class FakeLoad:
    """A clock and /proc/stat driven by the test: ``others`` cores busy, this process using ``own``."""

    def __init__(self) -> None:
        self.wall = self.busy = self.own_total = 0.0
        self.others, self.own = 0.0, 1.0

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.busy += (self.others + self.own) * seconds
        self.own_total += self.own * seconds

    def sample(self) -> CpuSample:
        return CpuSample(self.wall, self.busy, self.own_total)


def run_steps(tuner: ThreadTuner, load: FakeLoad, seconds: float, step: float | None = None) -> None:
    """Train ``seconds`` of steps taking ``step`` seconds each (default: faster with more threads)."""
    end = load.wall + seconds
    while load.wall < end:
        took = step if step is not None else 0.1 / tuner.threads
        load.advance(took)
        tuner.step_done(took)


def test_the_tuner_drops_threads_when_others_take_cores_and_raises_them_when_they_leave(four_cores):
    load, counts = FakeLoad(), []
    tuner = ThreadTuner(Choice(4, "", True), counts.append, load.sample, total=4, most=4)
    run_steps(tuner, load, 3.0)
    assert tuner.threads == 4 and counts == []  # a quiet machine keeps every core
    load.others = 2.0
    run_steps(tuner, load, 1.5)
    assert tuner.threads == 2 and counts == [2]  # at once, at the next check
    assert "other programs took 2.0 of 4 cores" in tuner.changes[-1]
    load.others = 0.0
    run_steps(tuner, load, 10.0)
    assert tuner.threads == 4 and counts == [2, 3, 4]  # one at a time, each after two free checks


def test_more_threads_that_turn_out_slower_are_undone_and_not_retried_at_once(four_cores):
    load, counts = FakeLoad(), []
    tuner = ThreadTuner(Choice(1, "", True), counts.append, load.sample, total=2, most=2)
    # cores look free, but two threads make every step three times slower (say, another VM's steal)
    end = load.wall + 20.0
    while load.wall < end:
        took = 0.01 * (3 if tuner.threads == 2 else 1)
        load.advance(took)
        tuner.step_done(took)
    assert counts[:2] == [2, 1] and "2 threads were slower than 1" in tuner.changes[1]
    assert len(counts) == 2  # held at one for HOLD_AFTER_UNDO seconds, longer than this run
    assert tuner.threads == 1


def test_a_forced_count_is_never_changed(four_cores):
    load, counts = FakeLoad(), []
    tuner = ThreadTuner(Choice(4, "--threads 4", False), counts.append, load.sample, total=4, most=4)
    load.others = 3.0
    run_steps(tuner, load, 5.0)
    assert counts == [] and tuner.threads == 4


def test_training_follows_the_load_and_says_so(english_file, model_cfg, train_cfg, monkeypatch):
    """Wired into training: with no forced count, two threads on a quiet 2-core machine, one as soon as
    another program takes a core; each change is a note on the run's events."""
    import torch

    from lmtui.events import Note, Started
    from lmtui.training import Job, train

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "cores", lambda: 2)
    load = FakeLoad()
    calls = {"n": 0}

    def now() -> CpuSample:  # every sample is 0.3 s later; from the 10th on, another program takes a core
        calls["n"] += 1
        if calls["n"] == 10:
            load.others = 1.0
        load.advance(0.3)
        return load.sample()

    monkeypatch.setattr(CpuSample, "now", classmethod(lambda cls: now()))
    before = torch.get_num_threads()
    try:
        events = list(train(Job(str(english_file), model_cfg("rnn"), train_cfg(steps=40), name="load")))
        after = torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    started = events[0]
    assert isinstance(started, Started) and started.compute.endswith("2 threads")
    assert "2 of 2 cores free; adjusted to the load" in started.threads_why
    notes = [e.message for e in events if isinstance(e, Note) and e.message.startswith("threads")]
    assert notes and re.fullmatch(r"threads 2 → 1: other programs took [\d.]+ of 2 cores", notes[0])
    assert after == 1


def test_training_never_imports_torch_compile(english_file, tmp_path):
    """torch's AdamW imported torch._dynamo at its first use (1.4 s of a 2-core machine's start-up, for a
    compiler lmtui never uses): training, resume included, runs without it."""
    import subprocess
    import sys

    code = f"""
import sys
from lmtui.models import ModelConfig
from lmtui.training import Job, TrainConfig, train
cfg = ModelConfig(model="lstm", embed=8, hidden=16)
tcfg = TrainConfig(steps=3, max_seconds=None, batch_size=4, seq_len=8, eval_every=2, device="cpu")
list(train(Job({str(english_file)!r}, cfg, tcfg, name="nodynamo")))
list(train(Job({str(english_file)!r}, cfg, tcfg, name="nodynamo", resume=True)))
print("torch._dynamo" in sys.modules)
"""
    env = {**__import__("os").environ, "LMTUI_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "False", out.stderr[-2000:]
