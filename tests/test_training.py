"""The training loop: learning, events, checkpoints, resume, stopping, failures and bad settings."""

from __future__ import annotations

import copy
import errno
import json
import math
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import lmtui.training_state as training_state
from lmtui import runs
from lmtui.control import StopNow
from lmtui.errors import LmtuiError, OptionError
from lmtui.events import Checkpoint, Eval, Finished, NgramCounts, Note, Sample, Started, Step
from lmtui.models import ModelConfig, estimate_parameters, model_class
from lmtui.training import Control, Job, TrainConfig, prepare_data, train, validate

KINDS = ["window", "rnn", "lstm", "gru"]


def run_job(job: Job, control: Control | None = None, stop_at_eval: int | None = None) -> list:
    """All events of a training job; ``stop_at_eval`` sets ``control.stop`` when that step's Eval arrives."""
    control = control or Control()
    events = []
    for event in train(job, control):
        events.append(event)
        if stop_at_eval is not None and isinstance(event, Eval) and event.step == stop_at_eval:
            control.stop = True
    return events


def of(events: list, kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


def checkpoint_meta(path: Path) -> dict:
    _, metadata = runs.read_tensors(path)
    return json.loads(metadata["lmtui"])


# -- learning and events


@pytest.mark.parametrize("kind", KINDS)
def test_short_run_lowers_validation_loss(kind, english_file, model_cfg, train_cfg):
    events = run_job(Job(str(english_file), model_cfg(kind), train_cfg(steps=60, eval_every=10), name=kind))
    started, finished = events[0], events[-1]
    evals = of(events, Eval)
    assert [e.step for e in evals] == [10, 20, 30, 40, 50, 60]
    uniform = math.log(started.vocab_size)
    assert evals[0].val_loss < uniform  # it learned something in 10 steps
    assert evals[-1].val_loss < evals[0].val_loss - 0.3
    assert finished.val_loss < uniform - 0.8
    # the kept model is the best one seen
    assert finished.val_loss == pytest.approx(min(e.val_loss for e in evals), rel=1e-6)


def test_events_stream_in_order(english_file, model_cfg, train_cfg):
    cfg = model_cfg("gru")
    events = run_job(Job(str(english_file), cfg, train_cfg(steps=30, eval_every=10), name="order"))
    assert isinstance(events[0], Started)
    assert isinstance(events[-1], Finished)
    assert len(of(events, Started)) == 1 and len(of(events, Finished)) == 1
    started, finished = events[0], events[-1]
    assert started.run == "order" and started.model == "gru" and started.level == "char"
    assert started.start_step == 0 and started.max_steps == 30 and started.device == "cpu"
    assert started.parameters == estimate_parameters(cfg, started.vocab_size)
    steps = [e.step for e in of(events, Step)]
    assert steps == sorted(steps) and len(set(steps)) == len(steps) and steps[0] == 1 and steps[-1] == 30
    for e in of(events, Step):
        assert math.isfinite(e.train_loss) and e.grad_norm >= 0 and e.lr > 0 and 0 < e.progress <= 1
    for i, e in enumerate(events):
        if isinstance(e, Eval):
            assert e.val_ppl == pytest.approx(math.exp(e.val_loss), rel=1e-9)
            assert e.bits_per_char is not None and e.bits_per_char > 0
            checkpoint, sample = events[i + 1], events[i + 2]
            assert (
                isinstance(checkpoint, Checkpoint) and checkpoint.step == e.step and checkpoint.best == e.best
            )
            assert Path(checkpoint.path) == runs.run_path("order") / "last.safetensors"
            assert isinstance(sample, Sample) and sample.step == e.step and sample.text
            assert any(isinstance(p, Step) and p.step == e.step for p in events[:i])
    assert finished.reason == "steps" and finished.step == 30
    assert finished.val_ppl == pytest.approx(math.exp(finished.val_loss))
    assert finished.test_ppl == pytest.approx(math.exp(finished.test_loss))
    assert finished.train_tokens == started.train_tokens and finished.val_tokens == started.val_tokens
    assert finished.test_tokens > 0


def test_checkpoints_and_metrics_written(english_file, model_cfg, train_cfg):
    events = run_job(
        Job(str(english_file), model_cfg("lstm"), train_cfg(steps=20, eval_every=10), name="files")
    )
    finished = events[-1]
    run = runs.load_run("files")
    assert (run.path / "model.safetensors").is_file()
    assert (run.path / "last.safetensors").is_file()
    assert checkpoint_meta(run.path / "last.safetensors")["step"] == 20
    m = run.metrics
    assert m["step"] == 20 and run.meta["status"] == "done"
    assert m["val_loss"] == pytest.approx(finished.val_loss) and m["val_ppl"] == pytest.approx(
        finished.val_ppl
    )
    assert m["test_ppl"] == pytest.approx(finished.test_ppl)
    assert m["best_step"] in (10, 20) and m["best_val_loss"] == pytest.approx(m["val_loss"])
    assert m["parameters"] == estimate_parameters(run.model_config, run.meta["vocab_size"])
    assert m["train_tokens"] + m["val_tokens"] + m["test_tokens"] == len(english_file.read_text())
    # model.safetensors scores the validation split exactly as recorded
    data = prepare_data(str(english_file), "char", TrainConfig(), run.tokenizer())
    assert run.load_model().cross_entropy(data.val) == pytest.approx(m["val_loss"], rel=1e-6)
    history = run.history()
    assert [h["step"] for h in history if h["event"] == "eval"] == [10, 20]
    assert any(h["event"] == "step" for h in history)


def test_word_level_training(english_file, model_cfg, train_cfg):
    events = run_job(
        Job(
            str(english_file),
            model_cfg("lstm", level="word"),
            train_cfg(steps=20, seq_len=8, batch_size=4, eval_every=10),
            name="words",
        )
    )
    started, finished = events[0], events[-1]
    assert started.level == "word" and 50 < started.vocab_size < 200
    assert finished.val_loss < math.log(started.vocab_size)
    assert runs.load_run("words").tokenizer().level == "word"


# -- resume


def test_resume_restores_optimizer_position_and_matches_an_uninterrupted_run(
    english_file, model_cfg, train_cfg, monkeypatch
):
    saved: dict[int, tuple[dict, dict]] = {}
    loaded: dict[str, object] = {}
    real_save, real_load = training_state.save_checkpoint, training_state.load_checkpoint

    def spy_save(path, net, opt, step, *args, **kwargs):
        saved[step] = (copy.deepcopy(opt.state_dict()), {k: v.clone() for k, v in net.state_dict().items()})
        return real_save(path, net, opt, step, *args, **kwargs)

    def spy_load(path, net, opt, device):
        resumed = real_load(path, net, opt, device)
        loaded["opt"] = copy.deepcopy(opt.state_dict())
        return resumed

    monkeypatch.setattr(training_state, "save_checkpoint", spy_save)
    monkeypatch.setattr(training_state, "load_checkpoint", spy_load)
    cfg, tcfg = model_cfg("lstm"), train_cfg(steps=20, eval_every=10)

    first = run_job(Job(str(english_file), cfg, tcfg, name="split"), stop_at_eval=10)
    assert first[-1].reason == "stopped" and first[-1].step == 10
    assert runs.load_run("split").meta["status"] == "stopped"

    # the checkpoint file holds exactly the optimizer and weights of step 10
    path = runs.run_path("split") / "last.safetensors"
    net = model_class("lstm")(cfg, first[0].vocab_size).net
    opt = torch.optim.AdamW(  # laid out as training lays it out: decayed matrices, undecayed vectors
        [
            {"params": [p for p in net.parameters() if p.dim() >= 2]},
            {"params": [p for p in net.parameters() if p.dim() < 2]},
        ],
        lr=1.0,
    )
    resumed = training_state.load_checkpoint(path, net, opt, "cpu")
    assert resumed.step == 10 and resumed.batch == 8 and resumed.position == 10 * 16
    assert isinstance(resumed.state, tuple) and resumed.state[0].shape == (1, 8, 24)
    want_opt, want_net = saved[10]
    for key, value in net.state_dict().items():
        assert torch.equal(value, want_net[key]), key
    got = opt.state_dict()["state"]
    assert set(got) == set(want_opt["state"]) and len(got) == len(list(net.parameters()))
    for index, slots in want_opt["state"].items():
        assert set(slots) == {"step", "exp_avg", "exp_avg_sq"}
        for slot, value in slots.items():
            assert torch.equal(got[index][slot], value), (index, slot)
    assert float(want_opt["state"][0]["step"]) == 10

    second = run_job(Job(str(english_file), cfg, tcfg, name="split", resume=True))
    assert isinstance(second[0], Started) and second[0].start_step == 10
    assert [e.step for e in of(second, Step)][0] == 11
    assert second[-1].step == 20 and second[-1].reason == "steps"
    for index, slots in want_opt["state"].items():  # what the resumed optimizer started from
        for slot, value in slots.items():
            assert torch.equal(loaded["opt"]["state"][index][slot], value), (index, slot)

    # training 10 + 10 steps gives the same weights as 20 steps straight
    straight = run_job(Job(str(english_file), cfg, tcfg, name="straight"))
    assert straight[-1].step == 20
    a, _ = runs.read_tensors(runs.run_path("split") / "last.safetensors")
    b, _ = runs.read_tensors(runs.run_path("straight") / "last.safetensors")
    for key in (k for k in b if k.startswith(("model.", "opt."))):
        np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-7, err_msg=key)
    assert second[-1].val_loss == pytest.approx(straight[-1].val_loss, rel=1e-5)


def test_resume_errors(english_file, model_cfg, train_cfg):
    with pytest.raises(LmtuiError, match="needs the name"):
        run_job(Job(str(english_file), model_cfg("lstm"), train_cfg(), resume=True))
    with pytest.raises(LmtuiError, match="no run named"):
        run_job(Job(str(english_file), model_cfg("lstm"), train_cfg(), name="ghost", resume=True))
    run_job(
        Job(str(english_file), ModelConfig(model="ngram", level="char", order=2), train_cfg(), name="counts")
    )
    with pytest.raises(LmtuiError, match="nothing to resume"):
        run_job(Job(str(english_file), ModelConfig(model="ngram"), train_cfg(), name="counts", resume=True))


def test_existing_name_is_refused(english_file, model_cfg, train_cfg):
    run_job(Job(str(english_file), model_cfg("rnn"), train_cfg(steps=5, eval_every=5), name="taken"))
    before = (runs.run_path("taken") / "run.json").read_bytes()
    with pytest.raises(LmtuiError, match="already exists"):
        run_job(Job(str(english_file), model_cfg("rnn"), train_cfg(steps=5), name="taken"))
    assert (runs.run_path("taken") / "run.json").read_bytes() == before


def test_default_names_are_unique(english_file, model_cfg, train_cfg):
    a = run_job(Job(str(english_file), model_cfg("rnn"), train_cfg(steps=3, eval_every=3)))
    b = run_job(Job(str(english_file), model_cfg("rnn"), train_cfg(steps=3, eval_every=3)))
    assert a[0].run == "english-rnn-char" and b[0].run == "english-rnn-char-2"


# -- truncated BPTT variants


@pytest.mark.parametrize("kind", ["lstm", "window"])
def test_k1_smaller_than_k2_trains(kind, english_file, model_cfg, train_cfg):
    events = run_job(
        Job(
            str(english_file),
            model_cfg(kind),
            train_cfg(steps=60, k1=4, seq_len=16, eval_every=20),
            name=f"k1-{kind}",
        )
    )
    evals = of(events, Eval)
    assert [e.step for e in evals] == [20, 40, 60]
    assert evals[-1].val_loss < evals[0].val_loss
    assert events[-1].val_loss < math.log(events[0].vocab_size) - 0.5
    assert checkpoint_meta(runs.run_path(f"k1-{kind}") / "last.safetensors")["position"] % 4 == 0


# -- stopping


def test_control_stop_stops_and_saves(english_file, model_cfg, train_cfg):
    control = Control()
    events = []
    for event in train(
        Job(str(english_file), model_cfg("gru"), train_cfg(steps=500, eval_every=100), name="halt"), control
    ):
        events.append(event)
        if isinstance(event, Step):
            control.stop = True
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.reason == "stopped"
    assert finished.step < 10
    run = runs.load_run("halt")
    assert run.meta["status"] == "stopped"
    assert checkpoint_meta(run.path / "last.safetensors")["step"] == finished.step
    assert run.load_model().cross_entropy(np.arange(20, dtype=np.int32) % 10) > 0


def test_a_stop_during_start_up_ends_at_once_and_makes_no_run(english_file, model_cfg, train_cfg):
    """Reading the text and loading torch write nothing: a stop there ends the session before any run
    folder exists (StopNow, which the CLI turns into one line and exit status 130)."""
    with pytest.raises(StopNow):
        run_job(Job(str(english_file), model_cfg("rnn"), train_cfg(), name="zero"), Control(stop=True))
    assert not runs.exists("zero")


def test_a_stop_once_the_run_exists_still_saves_step_zero(english_file, model_cfg, train_cfg, monkeypatch):
    """A stop that comes after the run folder is made (here: while the model is built) saves step 0."""
    import lmtui.neural_training as nt

    control = Control()
    real_init = nt.NeuralTraining.__init__

    def init_then_stop(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        control.stop = True

    monkeypatch.setattr(nt.NeuralTraining, "__init__", init_then_stop)
    events = run_job(Job(str(english_file), model_cfg("rnn"), train_cfg(), name="zero"), control)
    assert events[-1].reason == "stopped" and events[-1].step == 0
    assert not of(events, Step)
    assert checkpoint_meta(runs.run_path("zero") / "last.safetensors")["step"] == 0
    assert (runs.run_path("zero") / "model.safetensors").is_file()


def test_time_budget_ends_training(english_file, model_cfg, train_cfg):
    t0 = time.perf_counter()
    events = run_job(
        Job(
            str(english_file),
            model_cfg("rnn"),
            train_cfg(steps=None, max_seconds=0.6, eval_every=10**6),
            name="t",
        )
    )
    wall = time.perf_counter() - t0
    finished = events[-1]
    assert finished.reason == "time" and finished.step > 0
    # --max-seconds is the session's: start-up, training and the final evaluation share it, each reported
    parts = finished.startup_seconds + finished.training_seconds + finished.eval_seconds
    assert math.isclose(parts, finished.session_seconds) and finished.session_seconds < wall
    assert finished.training_seconds <= finished.elapsed < wall
    assert all(0 < e.progress <= 1.0 for e in of(events, Step))
    assert runs.load_run("t").meta["status"] == "done"


def test_paused_time_does_not_count(english_file, model_cfg, train_cfg):
    control = Control()
    events = []
    t0 = time.perf_counter()
    job = Job(str(english_file), model_cfg("rnn"), train_cfg(steps=6, eval_every=6), name="pause")
    for event in train(job, control):
        events.append(event)
        if isinstance(event, Step) and event.step == 1:
            control.paused = True
            threading.Timer(0.5, lambda: setattr(control, "paused", False)).start()
    wall = time.perf_counter() - t0
    finished = events[-1]
    assert finished.step == 6 and finished.reason == "steps"
    assert wall >= 0.5
    assert finished.elapsed < wall - 0.4  # the half second spent paused is not training time


# -- failures


def test_nan_loss_raises_and_keeps_last_good_checkpoint(english_file, model_cfg, train_cfg, monkeypatch):
    from torch.nn import functional as F

    real = F.cross_entropy
    calls = {"train": 0}

    def poisoned(logits, target, *args, **kwargs):
        out = real(logits, target, *args, **kwargs)
        if logits.requires_grad:  # training steps only, not the no-grad validation passes
            calls["train"] += 1
            if calls["train"] >= 8:
                return out * float("nan")
        return out

    monkeypatch.setattr(F, "cross_entropy", poisoned)
    events = []
    with pytest.raises(LmtuiError) as exc:
        for event in train(
            Job(str(english_file), model_cfg("lstm"), train_cfg(steps=20, eval_every=5), name="nan")
        ):
            events.append(event)
    message = str(exc.value)
    assert "nan" in message.lower() and "step 8" in message and "\n" not in message
    assert [e.step for e in of(events, Eval)] == [5]
    run = runs.load_run("nan")
    assert run.meta["status"] == "failed"
    tensors, _ = runs.read_tensors(run.path / "last.safetensors")
    assert checkpoint_meta(run.path / "last.safetensors")["step"] == 5
    assert all(np.all(np.isfinite(v)) for k, v in tensors.items() if k.startswith(("model.", "opt.")))
    model = run.load_model()
    assert math.isfinite(model.cross_entropy(np.arange(30, dtype=np.int32) % 10))


def test_exploding_learning_rate_raises(english_file, model_cfg, train_cfg, monkeypatch):
    """validate() caps --lr at 10; past its check, a diverging run still fails cleanly."""
    import lmtui.training

    monkeypatch.setattr(lmtui.training, "validate", lambda *args: None)
    with pytest.raises(LmtuiError, match="became|diverged") as exc:
        run_job(Job(str(english_file), model_cfg("rnn"), train_cfg(lr=1e30, warmup=1, clip=0), name="boom"))
    assert "\n" not in str(exc.value)
    # (read raw: an lr past the cap is one the run schema refuses on load, as the option does)
    assert json.loads((runs.run_path("boom") / "run.json").read_text(encoding="utf-8"))["status"] == "failed"


def test_checkpoint_write_failure_keeps_previous_files(english_file, model_cfg, train_cfg, monkeypatch):
    cfg = model_cfg("lstm")
    run_job(Job(str(english_file), cfg, train_cfg(steps=10, eval_every=5), name="disk"))
    folder = runs.run_path("disk")
    before = {name: (folder / name).read_bytes() for name in ("model.safetensors", "last.safetensors")}

    import safetensors.numpy

    def full_disk(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.MonkeyPatch.context() as mp, pytest.raises(LmtuiError) as exc:
        mp.setattr(safetensors.numpy, "save_file", full_disk)
        run_job(Job(str(english_file), cfg, train_cfg(steps=20, eval_every=5), name="disk", resume=True))
    assert "No space left on device" in str(exc.value) and "previous version is kept" in str(exc.value)
    assert "\n" not in str(exc.value)
    for name, data in before.items():
        assert (folder / name).read_bytes() == data
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert checkpoint_meta(folder / "last.safetensors")["step"] == 10
    run = runs.load_run("disk")
    assert run.meta["status"] == "failed"
    assert math.isfinite(run.load_model().cross_entropy(np.arange(30, dtype=np.int32) % 10))
    # and the run resumes from the intact checkpoint once the disk has room again
    events = run_job(Job(str(english_file), cfg, train_cfg(steps=15, eval_every=5), name="disk", resume=True))
    assert events[0].start_step == 10 and events[-1].step == 15


# -- data that does not fit


def test_text_too_small_for_seq_len(tmp_path, model_cfg, train_cfg):
    path = tmp_path / "tiny.txt"
    path.write_text("abcd efgh\n" * 40, encoding="utf-8")
    with pytest.raises(LmtuiError, match="--seq-len"):
        run_job(Job(str(path), model_cfg("lstm"), train_cfg(seq_len=500), name="tiny"))


def test_text_too_small_to_split(tmp_path, model_cfg, train_cfg):
    path = tmp_path / "two.txt"
    path.write_text("ab", encoding="utf-8")
    with pytest.raises(LmtuiError, match="too small"):
        run_job(Job(str(path), model_cfg("lstm"), train_cfg(), name="two"))
    assert not runs.exists("two")


def test_batch_size_lowered_with_a_note(short_file, model_cfg, train_cfg):
    events = run_job(
        Job(str(short_file), model_cfg("rnn"), train_cfg(batch_size=128, steps=5, eval_every=5), name="short")
    )
    notes = of(events, Note)
    data = prepare_data(str(short_file), "char", TrainConfig())
    expected = (len(data.train) - 1) // 17
    assert expected < 128
    assert len(notes) == 1 and f"from 128 to {expected}" in notes[0].message
    assert events[-1].reason == "steps"
    assert checkpoint_meta(runs.run_path("short") / "last.safetensors")["batch"] == expected


def test_started_comes_first_even_with_a_note(short_file, model_cfg, train_cfg):
    """The batch-size note once came before Started, before a reader knew the run existed."""
    events = run_job(
        Job(
            str(short_file),
            model_cfg("rnn"),
            train_cfg(batch_size=128, steps=2, eval_every=2),
            name="note-order",
        )
    )
    assert of(events, Note)
    assert isinstance(events[0], Started)


# -- n-gram "training"


def test_ngram_job_counts_and_finishes(english_file, train_cfg):
    events = run_job(
        Job(str(english_file), ModelConfig(model="ngram", level="char", order=3), train_cfg(), name="ng")
    )
    assert isinstance(events[0], Started) and isinstance(events[-1], Finished)
    counts = of(events, NgramCounts)
    assert len(counts) == 1 and counts[0].order == 3 and len(counts[0].counts) == 3
    assert events[-1].val_loss < math.log(events[0].vocab_size)
    assert (runs.run_path("ng") / "model.safetensors").is_file()


# -- settings


@pytest.mark.parametrize(
    ("model_over", "train_over", "fragment"),
    [
        ({"level": "byte"}, {}, "--level"),
        ({"order": 0}, {}, "--order"),
        ({"order": 7}, {}, "--order"),
        ({"smoothing": "good-turing"}, {}, "--smoothing"),
        ({"k": 0.0}, {}, "k must be"),
        ({"context": 0}, {}, "--context"),
        ({"embed": 0}, {}, "--embed"),
        ({"hidden": 0}, {}, "--hidden"),
        ({"layers": 0}, {}, "--layers"),
        ({"dropout": 1.0}, {}, "--dropout"),
        ({"dropout": -0.1}, {}, "--dropout"),
        ({"tie_weights": True, "embed": 8, "hidden": 16}, {}, "--tie-weights"),
        ({}, {"steps": 0}, "--steps"),
        ({}, {"max_seconds": 0.0}, "--max-seconds"),
        ({}, {"batch_size": 0}, "--batch-size"),
        ({}, {"seq_len": 0}, "--seq-len"),
        ({}, {"k1": 0}, "--k1"),
        ({}, {"k1": 17, "seq_len": 16}, "--k1"),
        ({}, {"lr": 0.0}, "--lr"),
        ({}, {"lr": float("nan")}, "--lr"),
        ({}, {"lr": float("inf")}, "--lr"),
        ({}, {"clip": -1.0}, "--clip"),
        ({}, {"eval_every": 0}, "--eval-every"),
        ({}, {"max_vocab": 0}, "--max-vocab"),
        ({}, {"min_count": 0}, "--min-count"),
    ],
)
def test_validate_rejects_bad_values(model_over, train_over, fragment, model_cfg, train_cfg, english_file):
    model, tcfg = model_cfg("lstm", **model_over), train_cfg(**train_over)
    with pytest.raises(LmtuiError) as exc:
        validate(model, tcfg)
    assert fragment in str(exc.value)
    assert isinstance(exc.value, OptionError) and exc.value.labelled("Field").startswith("Field ")
    with pytest.raises(LmtuiError):  # train() checks before touching anything
        run_job(Job(str(english_file), model, tcfg, name="invalid"))
    assert not runs.exists("invalid")


def test_validate_accepts_good_values(model_cfg, train_cfg):
    assert (
        validate(model_cfg("lstm", tie_weights=True, embed=24, hidden=24), train_cfg(k1=16, clip=0)) is None
    )
    assert validate(ModelConfig(model="ngram", order=6, smoothing="add-k", k=0.01), TrainConfig()) is None


# -- streams that restart


def test_restart_some_resets_only_the_chosen_streams():
    from lmtui.neural_training import _restart_some

    h, c = torch.ones(2, 64, 3), torch.ones(2, 64, 3)
    state = _restart_some((h, c), np.random.default_rng(0), 0.5, pad=99)
    reset = (state[0][0, :, 0] == 0).numpy()
    assert 0 < reset.sum() < 64  # some streams forget, the others carry on
    for part in state:
        assert torch.all(part[:, reset] == 0) and torch.all(part[:, ~reset] == 1)
    window = torch.zeros(64, 4, dtype=torch.long)
    state = _restart_some(window, np.random.default_rng(0), 0.5, pad=99)
    reset_rows = (state[:, 0] == 99).numpy()
    assert 0 < reset_rows.sum() < 64
    assert torch.all(state[reset_rows] == 99) and torch.all(state[~reset_rows] == 0)
    assert _restart_some(None, np.random.default_rng(0), 0.5, pad=99) is None


def test_a_stop_in_the_middle_of_a_step_drops_that_step_and_saves_the_one_before(
    english_file, model_cfg, train_cfg, monkeypatch
):
    """A stop that cuts into the forward or backward pass (StopNow from the signal handler) loses nothing:
    the weights change only in the optimizer's step, so that step is not taken and the run saves the last."""
    import lmtui.neural_training as nt

    control = Control()
    real_loss, calls = nt.NeuralTraining._loss, {"n": 0}

    def loss_then_stop(self, chunk, state):
        calls["n"] += 1
        if calls["n"] == 5:  # as the handler does: the flag, then StopNow inside the interruptible stretch
            control.stop, control.reason = True, "stopped"
            raise StopNow
        return real_loss(self, chunk, state)

    monkeypatch.setattr(nt.NeuralTraining, "_loss", loss_then_stop)
    events = run_job(Job(str(english_file), model_cfg("lstm"), train_cfg(steps=50), name="mid"), control)
    assert events[-1].reason == "stopped" and events[-1].step == 4
    assert max(e.step for e in of(events, Step)) == 4
    assert checkpoint_meta(runs.run_path("mid") / "last.safetensors")["step"] == 4
