"""Exploding gradients named as such (issue 19, "still not touchable"): a note when the norm explodes, a
failure that says so when the loss diverges, and the spike kept on the curve up to it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from test_cli import TINY, clean_error, invoke, ok

from lmtui import runs
from lmtui.divergence import Diverged, NormWatch, diverged_loss
from lmtui.events import Failed, Note, Step, parse_event
from lmtui.training import Job, train

# -- the rule, on numbers


def test_the_first_norm_a_hundred_times_the_first_steps_is_named_once() -> None:
    watch = NormWatch(vocab=80, clip=0.0)
    notes = [watch.check(step, 4.0, norm) for step, norm in enumerate([0.5, 0.7, 3.0, 40.0, 60.0, 70.0], 1)]
    assert notes[:4] == [None] * 4  # 40 is 80 times the first 0.5: not yet
    assert notes[4] is not None and notes[4].startswith("exploding gradients at step 5:")  # 60: 120 times
    assert notes[5] is None and watch.check(7, 4.0, 500.0) is None  # named once a session


def test_the_note_gives_the_step_the_ratio_and_the_norms_before_it() -> None:
    watch = NormWatch(vocab=80, clip=0.0)
    for step, norm in enumerate([0.5, 0.6, 0.55], 1):
        assert watch.check(step, 4.0, norm) is None
    note = watch.check(4, 4.0, 80.0)
    assert note is not None
    assert note.startswith("exploding gradients at step 4: |g| = 80, 160 times the session's first 0.5")
    assert "|g| at steps 1-4: 0.5, 0.6, 0.55, 80" in note and "nothing caps it (--clip 0)" in note
    clipped = NormWatch(vocab=80, clip=1.0)
    clipped.check(1, 4.0, 0.5)
    assert "clipped to 1 before the update" in (clipped.check(2, 4.0, 60.0) or "")


def test_a_loss_far_past_a_uniform_guess_diverges_naming_the_explosion() -> None:
    limit = diverged_loss(80)
    assert limit == pytest.approx(10 * math.log(80))
    watch = NormWatch(vocab=80, clip=0.0)
    watch.check(1, 4.4, 0.5)
    watch.check(2, 10.0, 9000.0)
    with pytest.raises(Diverged) as exc:
        watch.check(3, limit + 1, 20.0)
    message = str(exc.value)
    assert exc.value.step == 3 and "\n" not in message
    assert message.startswith("exploding gradients: the loss rose to")
    assert "at step 3" in message and "training diverged" in message
    assert "the largest, 9,000 at step 2, is 18,000 times the session's first 0.5" in message
    assert "last good checkpoint is kept" in message and "--clip 1" in message


@pytest.mark.parametrize("loss, norm, said", [(math.nan, 0.4, "the loss became nan"),
                                              (3.0, math.inf, "the gradient norm became inf")])
def test_a_number_that_is_no_number_stops_it_and_says_which(loss: float, norm: float, said: str) -> None:
    watch = NormWatch(vocab=80, clip=1.0)
    watch.check(1, 4.4, 0.5)
    with pytest.raises(Diverged) as exc:
        watch.check(2, loss, norm)
    message = str(exc.value)
    assert said in message and "at step 2" in message and "|g| at steps 1-2: 0.5" in message
    assert "(try a lower --lr)" in message  # with clipping on, clipping is not the fix to offer
    assert message.startswith("exploding") == (norm == math.inf)


def test_a_tiny_vocabulary_gets_room_above_its_small_ln_v() -> None:
    assert diverged_loss(2) == pytest.approx(math.log(2) + 10)


# -- in training: the note, the failure, and the curve up to them


def _scale_gradients(monkeypatch: pytest.MonkeyPatch, at: set[int], factor: float, loss_too: bool = False
                     ) -> None:
    """Training's loss at the steps ``at``: the same value with ``factor`` times the gradient (or both
    scaled, with ``loss_too``). Scoring (no gradient) is untouched."""
    from torch.nn import functional as F

    real = F.cross_entropy
    calls = {"n": 0}

    def scaled(logits, target, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        out = real(logits, target, *args, **kwargs)
        if not logits.requires_grad:
            return out
        calls["n"] += 1
        if calls["n"] not in at:
            return out
        return out * factor if loss_too else out * factor - out.detach() * (factor - 1)

    monkeypatch.setattr(F, "cross_entropy", scaled)


def test_an_exploded_norm_is_noted_and_its_step_drawn(english_file: Path, model_cfg, train_cfg,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _scale_gradients(monkeypatch, {6}, 1e4)
    cfg = train_cfg(steps=12, clip=0.0, eval_every=100)
    job = Job(str(english_file), model_cfg("rnn"), cfg, name="spike")
    events = list(train(job))
    notes = [e for e in events if isinstance(e, Note) and e.message.startswith("exploding gradients")]
    assert len(notes) == 1 and "at step 6:" in notes[0].message
    i = events.index(notes[0])
    spike = [e for e in events[:i] if isinstance(e, Step)][-1]
    assert spike.step == 6  # the spike's own step comes before its note, between two timed Step events
    first = next(e for e in events if isinstance(e, Step))
    assert spike.grad_norm > 100 * first.grad_norm
    assert runs.load_run("spike").meta["status"] == "done"  # a note, not a failure: the loss never diverged
    assert 6 in [h["step"] for h in runs.load_run("spike").history() if h.get("event") == "step"]


def test_a_diverged_run_fails_naming_the_explosion_with_its_curve_kept(
    english_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _scale_gradients(monkeypatch, {7}, 1e5, loss_too=True)
    args = ["train", english_file, "--model", "rnn", "--steps", 20, "--clip", 0, "--eval-every", 4, *TINY,
            "--precision", "fp32", "--name", "boom", "--events", "jsonl"]
    result = invoke(*args)
    line = clean_error(result, "exploding gradients: the loss rose to")
    assert "at step 7" in line and "training diverged" in line and "|g| at steps 2-7" in line
    events = [e for e in map(parse_event, result.stdout.splitlines()) if e is not None]
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.step == 7 and failed.message.startswith("exploding")
    steps = [e for e in events if isinstance(e, Step)]
    assert steps[-1].step == 7 and steps[-1].grad_norm > 1e3 * steps[0].grad_norm  # the spike, drawn
    assert [s.step for s in steps] == sorted({s.step for s in steps})
    meta = runs.load_run("boom").meta
    assert meta["status"] == "failed" and meta["error"].startswith("exploding gradients")
    assert 7 in [h["step"] for h in runs.load_run("boom").history() if h.get("event") == "step"]
    assert "failed" in ok(invoke("runs")).stdout


def test_a_spike_then_a_divergence_draw_each_step_once(english_file: Path, model_cfg, train_cfg,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The explosion's note puts its steps on the curve; the failure two steps later adds only the ones
    after them: no step twice, whatever the timed Step events did in between."""
    from torch.nn import functional as F

    real = F.cross_entropy
    calls = {"n": 0}

    def blow(logits, target, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        out = real(logits, target, *args, **kwargs)
        if not logits.requires_grad:
            return out
        calls["n"] += 1
        if calls["n"] == 5:
            return out * 1e4 - out.detach() * (1e4 - 1)  # the gradient explodes, the loss stays
        return out * 1e3 if calls["n"] == 7 else out  # then the loss diverges

    monkeypatch.setattr(F, "cross_entropy", blow)
    events = []
    job = Job(str(english_file), model_cfg("rnn"), train_cfg(steps=12, clip=0.0), name="twice")
    with pytest.raises(Diverged):
        for event in train(job):
            events.append(event)
    steps = [e.step for e in events if isinstance(e, Step)]
    assert len(steps) == len(set(steps)) and steps[-1] == 7 and 5 in steps
    history = [h["step"] for h in runs.load_run("twice").history() if h.get("event") == "step"]
    assert len(history) == len(set(history))
