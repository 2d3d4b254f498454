"""How training computes: bfloat16 autocast (weights stay float32) and the number of CPU threads."""

from __future__ import annotations

import json

import pytest
import torch

from lmtui import runs, threads
from lmtui.errors import OptionError
from lmtui.events import Eval, Finished
from lmtui.training import Job, fast_bf16, mixed_precision, train
from lmtui.tui.trainer_process import resume_argv, train_argv


def events_of(job: Job) -> list:
    return list(train(job))


def test_bf16_context_computes_products_in_bfloat16():
    layer = torch.nn.Linear(8, 4)
    with mixed_precision("bf16", "cpu")():
        assert layer(torch.ones(2, 8)).dtype == torch.bfloat16
    with mixed_precision("fp32", "cpu")():
        assert layer(torch.ones(2, 8)).dtype == torch.float32


def test_auto_precision_follows_the_hardware(monkeypatch):
    layer = torch.nn.Linear(8, 4)
    for fast, dtype in ((True, torch.bfloat16), (False, torch.float32)):
        monkeypatch.setattr("lmtui.training.fast_bf16", lambda device, fast=fast: fast)
        with mixed_precision("auto", "cpu")():
            assert layer(torch.ones(2, 8)).dtype == dtype
    assert fast_bf16("mps") is False


def test_bad_precision_is_an_option_error():
    with pytest.raises(OptionError, match="precision"):
        mixed_precision("fp8", "cpu")
    with pytest.raises(OptionError, match="fp32"):
        mixed_precision("bf16", "mps")


@pytest.mark.parametrize("kind", ["lstm", "gru", "window"])
def test_bf16_training_learns_saves_float32_and_resumes(kind, english_file, model_cfg, train_cfg):
    cfg = model_cfg(kind)
    events = events_of(Job(str(english_file), cfg, train_cfg(steps=40, eval_every=20, precision="bf16"), "b"))
    assert events[0].compute == "bf16, 1 thread"  # what the run line shows (OMP_NUM_THREADS=1 in tests)
    assert events[0].threads_why == "OMP_NUM_THREADS 1"
    evals = [e for e in events if isinstance(e, Eval)]
    assert evals[-1].val_loss < evals[0].val_loss
    fp32 = events_of(Job(str(english_file), cfg, train_cfg(steps=40, eval_every=20), name="f"))
    assert events[-1].val_loss != fp32[-1].val_loss  # the bfloat16 path really ran
    assert abs(events[-1].val_loss - fp32[-1].val_loss) < 0.2  # and learned about as much
    tensors, metadata = runs.read_tensors(runs.run_path("b") / "last.safetensors")
    assert {str(t.dtype) for t in tensors.values() if t.dtype.kind == "f"} == {"float32"}
    assert json.loads(metadata["lmtui"])["step"] == 40
    more = events_of(Job(str(english_file), cfg, train_cfg(steps=20, threads=2), "b", resume=True))
    assert more[0].compute == "fp32, 2 threads" and more[0].threads_why == "--threads 2"
    assert isinstance(more[-1], Finished) and more[-1].step == 60 and more[-1].reason == "steps"


def test_the_apps_training_child_keeps_a_core_for_the_ui(monkeypatch, model_cfg, train_cfg):
    """The child chooses its threads itself (never a fixed --threads), told to leave one core to the app."""
    import asyncio

    from lmtui.tui import trainer_process

    for argv in (train_argv("scripts", model_cfg("lstm"), train_cfg()), resume_argv("some-run")):
        assert "--threads" not in argv
    seen: dict[str, str] = {}

    async def fake_exec(*argv, env=None, **kwargs):
        seen.update(env)
        raise OSError("not started in this test")

    monkeypatch.setattr(trainer_process.asyncio, "create_subprocess_exec", fake_exec)
    with pytest.raises(OSError):
        asyncio.run(trainer_process.TrainerProcess(["x"], None).start())  # type: ignore[arg-type]
    assert seen[threads.KEEP_CORES_ENV] == "1"
