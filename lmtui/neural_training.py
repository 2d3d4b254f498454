"""One session of training a neural model, as an object whose state is in plain sight.

``NeuralTraining(job, run, data, control, session).events()`` is the loop ``training.train`` runs: it yields
the events the CLI draws and the app reads. Its parts are methods — ``train_step`` (one truncated-BPTT
update), ``evaluate`` (the validation slice, a sample, gradient reach, the best weights), ``checkpoint`` and
``finish`` — and its state is attributes: ``step``, ``pos`` (where the parallel streams are), ``state``
(the hidden state carried between windows), ``best`` (the best slice loss so far). When it evaluates and
stops, and what it reserves for the final evaluation, the clock in :mod:`lmtui.timing` decides; how many
threads it uses, :mod:`lmtui.threads`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from lmtui import memory, runs, threads, training_state
from lmtui.control import StopNow
from lmtui.divergence import Diverged, NormWatch
from lmtui.errors import LmtuiError
from lmtui.events import Checkpoint, Eval, Event, Note, Sample, Step
from lmtui.models import LanguageModel, model_class
from lmtui.models.neural import as_float32, detach_state
from lmtui.timing import (
    PATIENCE_EVALS,
    PATIENCE_PASSES,
    Session,
    eval_gap,
    max_step_seconds,
    slice_tokens,
    spacing,
    step_cap,
)

EMIT_EVERY = 0.2  # seconds between Step events (the curve's resolution)
# Each step, this share of the streams forgets its state, so the model also learns to begin from nothing, as
# it must when sampling starts (otherwise it only ever sees a fresh state once per pass over the text).
RESTART_RATE = 0.01
PROBE_TOKENS = 16_384  # a step of more tokens than this is timed on a part of its batch before it runs
MIN_SAMPLE_SECONDS = 0.5  # what the evaluation's sample may always take, however quick the scoring


def _plain(method: Any) -> Any:
    """A torch optimizer method without its torch.compile wrapper (see :class:`AdamW`)."""
    return getattr(method, "__wrapped__", method)


class AdamW(torch.optim.AdamW):
    """torch's AdamW, called without the wrappers torch puts around it for torch.compile.

    The first call through them imports torch._dynamo: 1.4 s of a 2-core machine's start-up, before the
    first step, for a compiler lmtui never uses. The wrapped methods are torch's own (``__wrapped__``);
    where a torch release has no such attribute, the wrapper itself is used and only start-up is slower. The
    state and its dict are torch's: checkpoints are unchanged.
    """

    add_param_group = _plain(torch.optim.Optimizer.add_param_group)
    zero_grad = _plain(torch.optim.Optimizer.zero_grad)
    state_dict = _plain(torch.optim.Optimizer.state_dict)
    load_state_dict = _plain(torch.optim.Optimizer.load_state_dict)

    def step(self, closure: Any = None) -> Any:
        with torch.no_grad():
            return _plain(torch.optim.AdamW.step)(self, closure)


def make_optimizer(net: torch.nn.Module, lr: float, weight_decay: float) -> AdamW:
    """AdamW with weight decay on the matrices only (biases and norms are not pulled towards zero)."""
    decay = [p for p in net.parameters() if p.dim() >= 2]
    no_decay = [p for p in net.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return AdamW(groups, lr=lr)


class NeuralTraining:
    """Trains one neural run for one session (a fresh run or a resumed one)."""

    def __init__(self, job: Any, run: runs.Run, data: Any, control: Any, session: Session):
        from lmtui import training as tr

        self.job, self.cfg, self.run, self.data = job, job.train, run, data
        self.control, self.session = control, session
        cfg = self.cfg
        self.device = tr.resolve_device(cfg.device)
        self.notes: list[str] = list(data.notes)
        self.compute = tr.resolve_precision(cfg.precision, self.device)
        self.threads, self.threads_why = self._choose_threads()
        self.autocast = tr.mixed_precision(cfg.precision, self.device)
        torch.manual_seed(cfg.seed)
        self.vocab = len(data.tokenizer)
        self.k2 = cfg.seq_len
        self.k1 = cfg.k1 or self.k2
        self.batch = tr.fitting_batch(data, cfg)
        if self.batch < cfg.batch_size:
            self.notes.append(
                f"the text is short: batch size lowered from {cfg.batch_size} to {self.batch} to fit it"
            )
        self.batch = self._fit_memory(self.batch)
        self.model: LanguageModel = model_class(job.model.model)(job.model, self.vocab, self.device)  # type: ignore[call-arg]
        self.net = self.model.net  # type: ignore[attr-defined]
        self.opt = make_optimizer(self.net, cfg.lr, cfg.weight_decay)

        # the training state: where the streams are, what they carry, how far the run has come
        self.step, self.pos, self.state, self.best, self.spent = 0, 0, None, math.inf, 0.0
        self.metrics = run.meta.setdefault("metrics", {})
        if job.resume:
            self._resume()
        else:
            self.net.start_from_unigram(np.bincount(data.train, minlength=self.vocab)[: self.vocab])
        self.start_step = self.step
        # --steps is the run's total, so an interrupted run resumes towards the same target (and ends where an
        # uninterrupted one would); a run that already reached it gets that many more.
        self.target_steps = (
            (cfg.steps if cfg.steps > self.step else self.step + cfg.steps) if cfg.steps else None
        )
        cap = step_cap()  # LMTUI_MAX_STEPS: a session's steps capped, whatever the budget (README's test)
        if cap is not None:
            self.target_steps = min(self.target_steps or self.step + cap, self.step + cap)
        self.final_tokens = len(data.val) + len(data.test)
        self.val_slice: np.ndarray = data.val[:2]  # sized once the first step has shown the pace
        self.gap = eval_gap(None)
        self.loss_value = self.grad_norm = self.lr = math.nan
        self.stream_len = len(data.train) // self.batch
        self.starts = np.arange(self.batch) * self.stream_len

        # the clocks: training seconds exclude pauses; evaluations start every `gap` seconds (start to start)
        self.t_start = 0.0
        self.paused_for = 0.0
        self.train_seconds = 0.0  # seconds spent in training steps alone (compare's budget)
        self.tokens_read = 0  # tokens this session's steps read (batch x k1 each)
        self.last_eval = -1
        self.evals_since_best = 0  # evaluations this session since the best validation loss (early stopping)
        self.last_eval_start = self.last_eval_end = self.last_save = time.perf_counter()
        self.last_emit = 0.0
        self.tokens_since, self.t_since = 0, 0.0
        self.seconds_at_emit = 0.0  # train_seconds at the last Step event
        self.clipped_since = self.steps_since = 0  # steps whose gradient norm went over --clip
        self.last_step: Step | None = None
        self.watch = NormWatch(self.vocab, cfg.clip)  # each step's loss and norm: a blown-up run says so
        self.exploded: str | None = None  # the note for a gradient norm that has just exploded
        self.drawn_to = 0  # the last step unshown_steps put on the curve

    # -- set-up

    def _choose_threads(self) -> tuple[threads.ThreadTuner | None, str]:
        """On the CPU: the thread count to start with (said on the run line, with why) and its tuner."""
        if self.device != "cpu":
            return None, ""
        choice = threads.choose(self.cfg.threads, getattr(self.control, "cpu_at_start", None))
        torch.set_num_threads(choice.threads)
        self.compute += f", {choice.threads} thread" + "s" * (choice.threads > 1)
        return threads.ThreadTuner(choice, torch.set_num_threads), choice.why

    def _fit_memory(self, batch: int) -> int:
        """The batch, lowered until training fits the free memory (refused when one stream cannot)."""
        fits = memory.fitting_batch(self.job.model, self.vocab, batch, self.k2, self.device)
        if fits < batch:
            self.notes.append(
                f"batch size lowered from {batch} to {fits} so that training fits the free memory"
            )
        return fits

    def _resume(self) -> None:
        run, cfg = self.run, self.cfg
        path = run.path / "last.safetensors"
        resumed = training_state.load_checkpoint(path, self.net, self.opt, self.device)
        self.step, self.pos, self.state = resumed.step, resumed.position, resumed.state
        self.spent = resumed.elapsed
        self.best = self.metrics.get("best_val_loss", math.inf)
        stream_len = len(self.data.train) // self.batch
        if resumed.batch != self.batch or not 0 <= self.pos <= stream_len - self.k2 - 1:
            self.pos, self.state = 0, None  # the data layout changed: start the streams again
        runs.trim_history(run, self.step)  # steps logged after this checkpoint (then a crash) are redone
        runs.remove_leftovers(run)
        run.meta["train"].update(
            steps=cfg.steps, max_seconds=cfg.max_seconds, train_seconds=cfg.train_seconds
        )
        run.meta["status"] = "training"
        run.save_meta()

    def _plan_step_size(self) -> None:
        """No single step may outlast its share of the budget: a large batch is timed on a part of it first
        (weights, optimizer and random state untouched) and lowered to fit."""
        budget = self.training_budget()
        if budget is None or self.batch * self.k2 <= PROBE_TOKENS:
            return
        part = max(1, PROBE_TOKENS // self.k2)
        with torch.random.fork_rng(devices=[]):
            t0 = time.perf_counter()
            loss, _ = self._loss(self._chunk(np.arange(part) * self.stream_len, 0), None)
            loss.backward()
            seconds = (time.perf_counter() - t0) * self.batch / part
        self.opt.zero_grad(set_to_none=True)
        most = max_step_seconds(budget)
        if seconds > most:
            fits = max(1, int(self.batch * most / seconds))
            self.notes.append(
                f"batch size lowered from {self.batch} to {fits}: one step of {self.batch} streams would "
                f"take about {seconds:.1f} s of a {budget:.0f} s budget"
            )
            self.batch = fits
            self.stream_len = len(self.data.train) // self.batch
            self.starts = np.arange(self.batch) * self.stream_len
            self.pos, self.state = 0, None

    def _plan_evaluations(self) -> None:
        """After the first step: time the model's scoring, then size the slice and the gap from it."""
        session, data = self.session, self.data
        session.eval_rate = _eval_rate(self.model, data.val)
        deadline = self.training_deadline()
        self.gap = eval_gap(None if deadline is None else deadline - self.elapsed())
        size = self.metrics.get("eval_slice_tokens")  # a resumed run keeps it: its best stays comparable
        if not isinstance(size, int) or size < 2:
            size = slice_tokens(session.eval_rate, self.gap, len(data.val))
            self.metrics["eval_slice_tokens"] = size
        self.val_slice = data.val[: min(size, len(data.val))]
        session.eval_cost = len(self.val_slice) / session.eval_rate  # an estimate until the first evaluation

    # -- clocks

    def elapsed(self) -> float:
        """Training seconds of the whole run: past sessions' and this one's, pauses excluded."""
        if not self.t_start:
            return self.spent
        return self.spent + time.perf_counter() - self.t_start - self.paused_for

    def training_budget(self) -> float | None:
        """Seconds this session may train (its share of --max-seconds, or of compare's ``train_seconds``);
        None: no limit."""
        wall = self.session.training_deadline(self.final_tokens)
        limits = [] if wall is None else [wall - self.session.now() + self.elapsed() - self.spent]
        if self.cfg.train_seconds:
            limits.append(self.cfg.train_seconds - self.train_seconds + self.elapsed() - self.spent)
        return min(limits) if limits else None

    def training_deadline(self) -> float | None:
        """The run's training seconds (``elapsed``) at which this session's training ends."""
        budget = self.training_budget()
        return None if budget is None else self.spent + budget

    def progress(self) -> float:
        deadline = self.training_deadline()
        parts = [
            self.step / self.target_steps if self.target_steps else 0.0,
            self.elapsed() / deadline if deadline and deadline > 0 else 0.0,
        ]
        if self.cfg.train_seconds:
            parts.append(self.train_seconds / self.cfg.train_seconds)
        return min(max(parts), 1.0)

    def stop_reason(self) -> str | None:
        """Why training ends now, or None to go on."""
        if self.control.stop:
            return self.control.reason
        if self.target_steps and self.step >= self.target_steps:
            return "steps"
        if self.target_steps is None and self.overfitting():
            return "overfit"
        if self.step > self.start_step:
            if self.cfg.train_seconds and self.train_seconds >= self.cfg.train_seconds:
                return "time"
            deadline = self.session.training_deadline(self.final_tokens)
            if deadline is not None and self.session.now() >= deadline:
                return "time"
        return None

    def overfitting(self) -> bool:
        """The validation loss has not improved for PATIENCE_EVALS evaluations and PATIENCE_PASSES passes."""
        best_step = self.metrics.get("best_step")
        if self.evals_since_best < PATIENCE_EVALS or not isinstance(best_step, int):
            return False
        return self.step - best_step >= PATIENCE_PASSES * max(1, self.stream_len // self.k1)

    # -- the loop

    def events(self) -> Iterator[Event]:
        from lmtui import training as tr

        yield tr._started(
            self.job, self.run, self.data, self.model, self.step, self.device, self.compute, self.threads_why
        )
        self._plan_step_size()
        yield from (Note(message) for message in self.notes)
        self.t_start = self.session.loop_started = self.t_since = time.perf_counter()
        while True:
            if self.control.paused and not self.control.stop:  # a paused run waits, whatever its budget
                t_pause = time.perf_counter()
                time.sleep(0.05)
                self.paused_for += time.perf_counter() - t_pause
                continue
            reason = self.stop_reason()
            if reason is not None:
                break
            try:
                if not self.train_step():
                    continue  # stopped in the middle: the loop ends at its next check
            except Diverged:
                yield from self.unshown_steps()  # the chart keeps the spike, up to the step that blew up
                raise
            if self.step == self.start_step + 1:
                self.session.first_step = time.perf_counter()
                self._plan_evaluations()
            yield from (Note(change) for change in self._thread_changes())
            if self.exploded:  # the spike goes on the chart now, with the note that names it
                yield from self.unshown_steps()
                yield Note(self.exploded)
                self.exploded = None
            now = time.perf_counter()
            due = self.evaluation_due(now)
            if now - self.last_emit >= EMIT_EVERY or due:
                yield self.step_event(now)
            if due:
                yield from self.evaluate()
            elif now - self.last_save >= self.cfg.checkpoint_every:  # a kill loses at most this much work
                yield self.checkpoint()
        yield from self.finish(reason)

    def _chunk(self, starts: np.ndarray, pos: int) -> torch.Tensor:
        idx = starts[:, None] + pos + np.arange(self.k2 + 1)
        return torch.from_numpy(self.data.train[idx].astype(np.int64)).to(self.device)

    def _loss(self, chunk: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """Cross-entropy of one window, and the state to carry on: gradients flow back k2 steps; the state
        carried on is the one k1 steps in."""
        k1, k2 = self.k1, self.k2
        x, y = chunk[:, :-1], chunk[:, 1:]
        self.net.train()
        with self.autocast():
            h, carry = self.net.features(x[:, :k1], state)
            if k1 < k2:
                rest, _ = self.net.features(x[:, k1:], carry)
                h = torch.cat([h, rest], dim=1)
            logp = self.net.target_log_probs(h[:, k2 - k1 :], y[:, k2 - k1 :])
        return -logp.mean(), carry

    def train_step(self) -> bool:
        """One truncated-BPTT update over every stream (they start again at their heads after a pass).

        The weights change only in the optimizer's step, so a stop during the forward and backward passes
        cuts in at once (a large batch's step can take seconds) and the step is simply not taken: False."""
        cfg = self.cfg
        t0 = time.perf_counter()
        if self.pos + self.k2 + 1 > self.stream_len:
            self.pos, self.state = 0, None
        chunk = self._chunk(self.starts, self.pos)
        self.lr = _lr_at(cfg, self.step, self.progress())
        for group in self.opt.param_groups:
            group["lr"] = self.lr
        try:
            with self.control.interruptible():
                loss, carry = self._loss(chunk, self.state)
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
        except StopNow:
            self.opt.zero_grad(set_to_none=True)
            return False
        max_norm = cfg.clip if cfg.clip > 0 else math.inf
        self.grad_norm = float(torch.nn.utils.clip_grad_norm_(self.net.parameters(), max_norm))
        self.loss_value = float(loss.detach())
        try:  # a NaN loss, or one far past a uniform guess's: stop before the update, naming the norms
            self.exploded = self.watch.check(self.step + 1, self.loss_value, self.grad_norm)
        except Diverged:
            self.opt.zero_grad(set_to_none=True)
            raise
        self.clipped_since += self.grad_norm > max_norm
        self.steps_since += 1
        self.opt.step()
        # seeded by step, so a resumed run restarts the same streams an uninterrupted one would
        restart_rng = np.random.default_rng((cfg.seed, self.step))
        self.state = _restart_some(as_float32(detach_state(carry)), restart_rng, RESTART_RATE, self.vocab)
        self.pos += self.k1
        self.step += 1
        self.tokens_since += self.batch * self.k1
        self.tokens_read += self.batch * self.k1
        seconds = time.perf_counter() - t0
        self.train_seconds += seconds
        if self.threads is not None:
            self.threads.step_done(seconds)
        return True

    def unshown_steps(self) -> Iterator[Step]:
        """The steps the curve has not had yet (Step events come every EMIT_EVERY seconds), the last one the
        step that blew up: a spike between two events is drawn, not skipped."""
        shown = max(self.last_step.step if self.last_step is not None else self.start_step, self.drawn_to)
        rate = self.last_step.tokens_per_s if self.last_step is not None else 0.0
        for step, loss, norm in self.watch.recent:
            if step > shown:
                event = Step(step, loss, norm, self.lr, rate, self.elapsed(), None, self.progress())
                runs.append_event(self.run, event.to_dict())
                self.drawn_to = step
                yield event

    def _thread_changes(self) -> list[str]:
        if self.threads is None or not self.threads.changes:
            return []
        changes, self.threads.changes = self.threads.changes, []
        return changes

    def evaluation_due(self, now: float) -> bool:
        """By steps (--eval-every) or by time: every `gap` seconds, with half a gap of training after each;
        and, under a time budget, after each whole pass over a text so short that a pass comes sooner (a 50
        kB text at word level is a dozen steps: by time alone the first evaluation came after 17 passes, long
        past the best weights), as long as training keeps at least half of the time."""
        by_time = (
            now - self.last_eval_start >= spacing(self.gap, self.session.eval_cost)
            and now - self.last_eval_end >= self.gap / 2
        )
        since = self.step - max(self.last_eval, self.start_step)
        a_pass = max(1, self.stream_len // self.k1)  # steps
        by_pass = (
            self.target_steps is None  # a budget of time: a budget in steps keeps its --eval-every
            and since >= a_pass
            and now - self.last_eval_end >= self.session.eval_cost
        )
        return since >= self.cfg.eval_every or by_time or by_pass

    def step_event(self, now: float) -> Step:
        # tokens/s of the training steps alone: an evaluation, a save or a pause in between made the first
        # rate after it read a fraction of the real one (2.8k tokens/s in a run at 16k)
        rate = self.tokens_since / max(self.train_seconds - self.seconds_at_emit, 1e-9)
        deadline = self.training_deadline()
        eta = _eta(
            self.target_steps,
            self.step,
            self.elapsed(),
            deadline,
            now - self.t_since,
            self.tokens_since,
            self.batch * self.k1,
        )
        clipped = self.clipped_since / self.steps_since if self.cfg.clip > 0 and self.steps_since else None
        self.last_step = Step(
            self.step,
            self.loss_value,
            self.grad_norm,
            self.lr,
            rate,
            self.elapsed(),
            eta,
            self.progress(),
            clipped,
            self.train_seconds,
            self.tokens_read,
        )
        runs.append_event(self.run, self.last_step.to_dict())
        self.last_emit, self.tokens_since, self.t_since = now, 0, now
        self.seconds_at_emit = self.train_seconds
        self.clipped_since = self.steps_since = 0
        return self.last_step

    def evaluate(self) -> Iterator[Event]:
        """Score the validation slice, keep the best weights, save a checkpoint, write a sample and measure
        gradient reach. A stop during the scoring skips the rest (the loop then saves and ends)."""
        from lmtui import training as tr

        t0 = self.last_eval_start = time.perf_counter()
        self.last_eval = self.step
        try:
            with self.control.interruptible():
                val_loss = self.model.cross_entropy(self.val_slice)
        except StopNow:
            return
        scored = time.perf_counter()
        self.session.eval_rate = max(len(self.val_slice) / max(scored - t0, 1e-6), 1.0)
        if not math.isfinite(val_loss):  # checked before anything is saved: the last good files stay
            raise LmtuiError(
                f"the validation loss became {val_loss} at step {self.step}; training stopped and the last "
                f"good checkpoint is kept (try a lower --lr or --clip)"
            )
        is_best = val_loss < self.best
        self.evals_since_best = 0 if is_best else self.evals_since_best + 1
        if is_best:
            self.best = val_loss
            runs.write_tensors(
                self.run.path / "model.safetensors", self.model.tensors(), {"step": str(self.step)}
            )
            self.metrics.update(best_val_loss=val_loss, best_step=self.step)
        self.metrics.update(slice_val_loss=val_loss, slice_val_ppl=math.exp(min(val_loss, 700)))
        self._save_checkpoint()
        data = self.data
        bpc = tr._bits_per_char(val_loss, len(data.val) - 1, data.val_chars)
        ev = Eval(
            self.step,
            val_loss,
            math.exp(min(val_loss, 700)),
            bpc,
            is_best,
            self.elapsed(),
            "slice",
            len(self.val_slice),
        )
        runs.append_event(self.run, ev.to_dict())
        yield ev
        yield Checkpoint(self.step, str(self.run.path / "last.safetensors"), is_best)
        try:
            with self.control.interruptible():
                # no longer than the slice's scoring took (it is sized to the gap between evaluations)
                spend = max(MIN_SAMPLE_SECONDS, scored - t0)
                sample = _sample(self.model, data.tokenizer, self.cfg.sample_length, self.step, spend)
                reach = list(tr._gradient_reach(self.run, self.model, data, self.step, self.k2))
        except StopNow:
            return
        yield Sample(self.step, sample)
        yield from reach
        self.last_eval_end = self.last_save = time.perf_counter()
        self.session.eval_cost = self.last_eval_end - t0

    def _save_checkpoint(self) -> None:
        training_state.save_checkpoint(
            self.run.path / "last.safetensors",
            self.net,
            self.opt,
            self.step,
            self.pos,
            self.batch,
            self.state,
            self.elapsed(),
        )
        self.last_save = time.perf_counter()

    def checkpoint(self) -> Checkpoint:
        """Save what a resume needs (weights, optimizer, streams' position and state, the clock)."""
        self._save_checkpoint()
        return Checkpoint(self.step, str(self.run.path / "last.safetensors"), False)

    def finish(self, reason: str) -> Iterator[Event]:
        """End the session: the curve's last point, then a quick stop (save now, evaluate later) or a last
        evaluation and the closing figures (the whole splits where they fit the budget, else the slice)."""
        from lmtui import training as tr

        last = self.last_step
        if last is not None and last.step != self.step:  # the curve and the bar end where training did
            self.last_step = replace(
                last,
                step=self.step,
                train_loss=self.loss_value,
                grad_norm=self.grad_norm,
                lr=self.lr,
                elapsed=self.elapsed(),
                eta=0.0,
                progress=self.progress(),
                step_seconds=self.train_seconds,
                tokens=self.tokens_read,
            )
            runs.append_event(self.run, self.last_step.to_dict())
            yield self.last_step
        stopped = reason in ("stopped", "interrupted")
        if stopped:
            yield self.checkpoint()
            if not (self.run.path / "model.safetensors").is_file():
                runs.write_tensors(
                    self.run.path / "model.safetensors", self.model.tensors(), {"step": str(self.step)}
                )
        elif self.last_eval != self.step:
            yield from self.evaluate()
        self.session.loop_ended = time.perf_counter()
        full = not stopped and not self.control.stop and self.session.full_fits_now(self.final_tokens)
        model = self.model
        if full and (self.run.path / "model.safetensors").is_file():
            model = self.run.load_model(
                self.device
            )  # the best checkpoint is what the run keeps and is scored
        yield tr._finish(
            self.run, self.data, model, self.step, reason, self.elapsed(), self.session, full, self.control
        )


def _eval_rate(model: LanguageModel, val: np.ndarray) -> float:
    """Validation tokens scored per second, timed on a short probe (twice: the first call warms up)."""
    probe = val[: min(len(val), 1024)]
    model.cross_entropy(probe)
    t0 = time.perf_counter()
    model.cross_entropy(probe)
    return max(len(probe) / max(time.perf_counter() - t0, 1e-6), 1.0)


def _restart_some(state: Any, rng: np.random.Generator, rate: float, pad: int) -> Any:
    """Reset a random few streams' carried state: zero hidden vectors, or "start of text" window tokens."""
    if state is None:
        return None
    parts = state if isinstance(state, tuple) else (state,)
    batch = parts[0].shape[1] if parts[0].dim() == 3 else parts[0].shape[0]
    rows = np.flatnonzero(rng.random(batch) < rate)
    if len(rows) == 0:
        return state
    for part in parts:
        if part.dim() == 3:  # recurrent: [layers, batch, hidden]
            part[:, rows] = 0
        else:  # window: [batch, n] token ids, reset to the "before the text" pad id
            part[rows] = pad
    return state


def _eta(
    target_steps: int | None,
    step: int,
    elapsed: float,
    deadline: float | None,
    dt: float,
    tokens: int,
    per_step: int,
) -> float | None:
    left = []
    if deadline:
        left.append(max(deadline - elapsed, 0.0))
    if target_steps and tokens:
        left.append((target_steps - step) * dt / (tokens / per_step))
    return min(left) if left else None


def _lr_at(cfg: Any, step: int, progress: float) -> float:
    """Linear warm-up, then cosine decay to ``lr * min_lr_ratio`` as the budget is used up."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + 0.5 * (cfg.lr - floor) * (1 + math.cos(math.pi * min(progress, 1.0)))


def _sample(model: LanguageModel, tokenizer: Any, length: int, seed: int, seconds: float = math.inf) -> str:
    """The evaluation's sample: ``length`` characters (a fifth as many words), cut short after ``seconds``
    so that a wide model's token-by-token sampling cannot take an evaluation past the session's budget."""
    from lmtui.sampling import SampleSettings, generate

    tokens = length if tokenizer.level == "char" else max(10, length // 5)
    end, pieces = time.perf_counter() + seconds, []
    for piece in generate(model, tokenizer, SampleSettings(temperature=0.8, length=tokens, seed=seed)):
        pieces.append(piece)
        if time.perf_counter() >= end:
            break
    return "".join(pieces)
