"""One training loop for every model, yielding events (the CLI draws them; the TUI reads them as JSON lines).

Neural models train with truncated backpropagation through time over parallel streams: the training text
is cut into ``batch_size`` contiguous streams, read side by side ``k1`` tokens at a time; each update
backpropagates through the last ``k2`` tokens (``seq_len``) and carries the hidden state forward, detached,
so context flows across windows while gradients stop at the truncation. Gradient norms are clipped
(exploding gradients) and reported (vanishing ones show up as norms that collapse). n-gram models "train"
in one counting pass.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from lmtui import memory, runs, token_cache
from lmtui.control import StopNow
from lmtui.corpus import CorpusInfo, load_text, split_text, text_digest
from lmtui.errors import LmtuiError, OptionError
from lmtui.events import (
    Eval,
    Event,
    Finished,
    GradientReach,
    NgramCounts,
    Note,
    Started,
)
from lmtui.lab.metrics import finish_metrics, spelled_metrics
from lmtui.lab.sparsity import sparsity_by_order
from lmtui.models import MODEL_KINDS, JsonConfig, LanguageModel, ModelConfig, model_class, size_problem
from lmtui.threads import CpuSample
from lmtui.timing import Session, step_cap
from lmtui.tokens import Tokenizer, build_and_encode


@dataclass
class TrainConfig(JsonConfig):
    steps: int | None = None  # total optimizer steps (a resume past it gets this many more)
    max_seconds: float | None = 60.0  # seconds for this session; the first budget to run out ends it
    # seconds of training steps alone, evaluations and start-up excluded: equal work whatever they cost
    # (compare's budget); None: no such limit
    train_seconds: float | None = None
    batch_size: int = 32  # parallel streams
    seq_len: int = 64  # k2: how many steps gradients flow back
    k1: int | None = None  # tokens read between updates; default seq_len
    lr: float = 3e-3
    min_lr_ratio: float = 0.1  # cosine decay ends at lr * this
    warmup: int = 20
    weight_decay: float = 0.01
    clip: float = 1.0  # max gradient norm; 0 turns clipping off
    eval_every: int = 250  # steps between evaluations (they also come by time: lmtui.timing)
    checkpoint_every: float = 30.0  # seconds of work between resume checkpoints (evaluations save one too)
    sample_length: int = 200
    seed: int = 1337
    device: str = "auto"
    precision: str = "auto"  # bf16: products in bfloat16, weights float32; auto: where the chip is fast at it
    threads: int | None = None  # torch's CPU threads; None: the cores free, rechecked (lmtui.threads)
    max_vocab: int = 10_000
    min_count: int = 1


@dataclass
class Job:
    """What to train: a corpus, a model, a budget, and the run to write it to."""

    corpus: str
    model: ModelConfig
    train: TrainConfig
    name: str | None = None
    resume: bool = False
    encoding: str | None = None
    group: str | None = None  # the comparison this run belongs to (lmtui.lab.compare): run.json's "group"


@dataclass
class Control:
    """Flags another thread or a signal handler sets to pause or stop training between steps.

    A stop takes effect between steps; inside ``interruptible()`` (start-up, scoring: nothing to save) the
    signal handler raises ``StopNow`` at once instead (lmtui.control)."""

    paused: bool = False
    stop: bool = False
    reason: str = "stopped"
    started: float = field(default_factory=time.perf_counter)  # session start: --max-seconds counts from it
    # the CPU counters at the session's start: the cores free over start-up choose the threads
    cpu_at_start: CpuSample = field(default_factory=lambda: CpuSample.now())
    can_cut: bool = False  # inside interruptible(): a stop may raise StopNow here

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """A stretch a stop may cut short at once (StopNow), since nothing would be lost."""
        if self.stop:
            raise StopNow
        outer, self.can_cut = self.can_cut, True
        try:
            yield
        finally:
            self.can_cut = outer


@dataclass
class Data:
    info: CorpusInfo
    tokenizer: Tokenizer
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    val_chars: int = 0
    test_chars: int = 0
    notes: list[str] = field(default_factory=list)  # shown once training has started
    val_text: str = ""  # word level: the validation text, for what <unk> hides (lab.metrics.spelled_metrics)
    text_sha256: str = ""  # of the whole text read (corpus.text_digest): eval tells another text by it


def validate(model: ModelConfig, train: TrainConfig, encoding: str | None = None) -> None:
    """Reject values no training could use, before anything is created; the error names the field
    (OptionError). Every range comes from the one list of options (``lmtui.options``)."""
    from lmtui import options

    if model.model not in MODEL_KINDS:
        raise OptionError("model", f"must be one of {', '.join(MODEL_KINDS)}")
    if model.level not in ("char", "word"):
        raise OptionError("level", "must be char or word")
    for opt in options.OPTIONS:
        options.check(opt.name, getattr(model if opt.group == "model" else train, opt.name))
    if model.tie_weights and model.embed != model.hidden:
        raise OptionError("tie_weights", "needs embed equal to hidden")
    if model.tie_weights and model.softmax != "full":
        raise OptionError("tie_weights", "needs the full softmax")
    if train.k1 is not None and train.k1 > train.seq_len:
        raise OptionError("k1", "must be between 1 and seq-len (k2)")
    too_large = size_problem(model)  # in closed form, before the vocabulary is even read
    if too_large:
        field = "layers" if model.model != "window" and model.layers > 1 else "hidden"
        raise OptionError(field, f"makes the model too large: it {too_large}")
    options.check_encoding(encoding)
    if model.model != "ngram":
        step_cap()  # a bad LMTUI_MAX_STEPS fails here, before a run folder exists


def prepare_data(
    corpus: str,
    level: str,
    train: TrainConfig,
    tokenizer: Tokenizer | None = None,
    encoding: str | None = None,
    control: Control | None = None,
) -> Data:
    """Read, split and encode a corpus; the tokenizer is built from the training split unless given.

    A bundled corpus's ids come from the token cache when it holds them (``lmtui.token_cache``): a resumed
    run's own tokenizer uses them when it is the one the cache holds. With ``control``, text from standard
    input or a pipe must arrive before the session's --max-seconds run out, and a stop ends the wait."""
    info, text = load_text(corpus, encoding, **_text_wait(train, control))
    key = None
    if info.bundled:
        key = token_cache.cache_key(text, info.unit, level, train.max_vocab, train.min_count)
        hit = token_cache.load(key)
        if hit is not None and (tokenizer is None or hit.tokenizer.to_dict() == tokenizer.to_dict()):
            notes = hit.notes if tokenizer is None else []
            ids = (hit.train, hit.val, hit.test, hit.val_chars, hit.test_chars)
            val_text = split_text(text, info.unit).val if level == "word" else ""
            return Data(info, tokenizer or hit.tokenizer, *ids, notes, val_text, text_digest(text))
    splits = split_text(text, info.unit)
    built = tokenizer is None
    if tokenizer is None:
        tokenizer, train_ids = build_and_encode(level, splits.train, train.max_vocab, train.min_count)
    else:
        train_ids = tokenizer.encode(splits.train)
    data = Data(
        info,
        tokenizer,
        train_ids,
        tokenizer.encode(splits.val),
        tokenizer.encode(splits.test),
        len(splits.val),
        len(splits.test),
        val_text=splits.val if level == "word" else "",
        text_sha256=text_digest(text),
    )
    if len(data.train) < 3 or len(data.val) < 2:
        raise LmtuiError(
            f"{info.path} is too small: {len(data.train)} training and {len(data.val)} validation "
            f"{level} tokens after the 90/5/5 split; give it a longer text"
        )
    unknown = int(np.count_nonzero(data.train == 0))
    if built and unknown:  # only a --max-vocab or --min-count cut leaves training words out
        data.notes.append(
            f"{unknown / len(data.train):.1%} of the training words are outside the "
            f"{len(tokenizer) - 1:,}-word vocabulary (--max-vocab {train.max_vocab}, "
            f"--min-count {train.min_count}) and read as <unk>"
        )
    if key is not None and built:
        ids = (data.train, data.val, data.test, data.val_chars, data.test_chars)
        token_cache.store(key, token_cache.Entry(tokenizer, *ids, list(data.notes)))
    return data


def _text_wait(train: TrainConfig, control: Control | None) -> dict[str, Any]:
    """How long load_text may wait for piped text: until the session's budget ends; a stop ends it too."""
    if control is None:
        return {}
    deadline = control.started + train.max_seconds if train.max_seconds else None
    return {"deadline": deadline, "stop": lambda: control.stop}


def fitting_batch(data: Data, cfg: TrainConfig) -> int:
    """How many parallel streams of at least one sequence each the training split holds."""
    if len(data.train) < cfg.seq_len + 2:
        raise LmtuiError(
            f"the training split has {len(data.train)} tokens, fewer than one sequence of --seq-len "
            f"{cfg.seq_len}; use a smaller --seq-len or a longer text"
        )
    return min(cfg.batch_size, (len(data.train) - 1) // (cfg.seq_len + 1))


def resolve_precision(precision: str, device: str) -> str:
    """``auto`` made concrete: bf16 where the device computes it faster than float32, else fp32."""
    if precision not in PRECISIONS:
        raise OptionError("precision", f"must be one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        return "bf16" if fast_bf16(device) else "fp32"
    if precision == "bf16" and device == "mps":
        raise OptionError("precision", "bf16 is not available on Apple's Metal backend; use fp32")
    return precision


def mixed_precision(precision: str, device: str) -> Callable[[], contextlib.AbstractContextManager]:
    """A factory of the context that training's forward pass runs in: bfloat16 autocast or nothing.

    The weights, the optimizer and the loss stay float32; only the products run in bfloat16, which CPUs
    with AMX or AVX512-BF16 (and recent GPUs) compute 2-2.5x faster (BENCHMARKS.md, section 10)."""
    import torch

    if resolve_precision(precision, device) == "fp32":
        return contextlib.nullcontext
    kind = "cuda" if device == "cuda" else "cpu"
    return lambda: torch.autocast(kind, dtype=torch.bfloat16)


PRECISIONS = ("auto", "fp32", "bf16")


def fast_bf16(device: str) -> bool:
    """Does this device compute bfloat16 products faster than float32 ones?"""
    import torch

    if device == "cuda":
        return torch.cuda.is_bf16_supported()
    if device == "cpu":
        checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")  # private, so looked up with care
        return any(getattr(torch.cpu, name, lambda: False)() for name in checks)
    return False


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise LmtuiError(
            "--device cuda: no CUDA GPU is available here (is the CPU build of torch installed?)"
        )
    if device == "mps" and not torch.backends.mps.is_available():
        raise LmtuiError("--device mps: Apple's Metal backend is not available here")
    if device not in ("cpu", "cuda", "mps"):
        raise LmtuiError(f"unknown device {device!r}; choose auto, cpu, cuda or mps")
    return device


def train(job: Job, control: Control | None = None) -> Iterator[Event]:
    """Train (or resume) a run, yielding events as it goes; the run folder is kept up to date.

    Every option is checked before a run folder exists. This process holds the run's lock from then until
    it ends (runs.RunBusy for anyone else). A failure after that (a full disk, torch out of memory, an error
    of any kind) leaves the run with status "failed" and the error in run.json, its checkpoints intact; if
    even that cannot be written, the stored "training" with no lock holder reads as "interrupted".
    """
    control = control or Control()
    validate(job.model, job.train, job.encoding)
    session = Session(job.train.max_seconds, control.started)
    run, data, lock = _open_run(job, control)
    try:
        if job.resume:  # a run continues as the model it is, whatever config the caller passed
            job = replace(job, model=run.model_config)
        if job.model.model == "ngram":
            yield from _train_ngram(job, run, data, session)
        else:
            from lmtui.neural_training import NeuralTraining

            yield from NeuralTraining(job, run, data, control, session).events()
    except (KeyboardInterrupt, GeneratorExit):
        raise  # not a failure: the status stays "training", read as "interrupted" once the lock is gone
    except BaseException as exc:
        error = _as_error(exc)
        run.meta["status"] = "failed"
        run.meta["error"] = str(error or exc).splitlines()[0] if str(error or exc) else type(exc).__name__
        with contextlib.suppress(LmtuiError):
            run.save_meta()
        if error is not None and error is not exc:
            raise error from None
        raise
    finally:
        lock.release()


OUT_OF_MEMORY = ("not enough memory", "DefaultCPUAllocator", "out of memory", "Cannot allocate memory")


def _as_error(exc: BaseException) -> LmtuiError | None:
    """The one-line error for a failure: itself, a model's ValueError, or out of memory for MemoryError and
    torch's allocation failures (a RuntimeError); None for anything else (a bug: its traceback is worth
    seeing)."""
    if isinstance(exc, LmtuiError):
        return exc
    if isinstance(exc, ValueError):  # the models' word for input they cannot take (models/__init__.py)
        return LmtuiError(str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid value")
    if isinstance(exc, MemoryError) or (
        isinstance(exc, RuntimeError) and any(s in str(exc) for s in OUT_OF_MEMORY)
    ):
        return LmtuiError(
            "training ran out of memory; try a smaller model (--hidden, --embed, --context), "
            "--batch-size or --seq-len"
        )
    return None


def _open_run(job: Job, control: Control) -> tuple[runs.Run, Data, runs.RunLock]:
    """The run to write, locked for this process, and its data; no folder is made for options that fail.

    Reading the text and loading torch write nothing, so a stop during them ends the command at once."""
    if job.resume:
        return _open_resumed(job, control)
    with control.interruptible():
        data = prepare_data(job.corpus, job.model.level, job.train, encoding=job.encoding, control=control)
        if job.model.model != "ngram":
            batch = fitting_batch(data, job.train)
            device = resolve_device(job.train.device)
            memory.fitting_batch(job.model, len(data.tokenizer), batch, job.train.seq_len, device)
    meta = {
        "format": runs.RUN_FORMAT,
        "version": runs.RUN_VERSION,
        "name": "",
        "created": time.time(),
        "status": "training",
        "corpus": {
            "name": data.info.name,
            "spec": data.info.spec,
            "bundled": data.info.bundled,
            "unit": data.info.unit,
            "encoding": job.encoding,
            **({"sha256": data.text_sha256} if data.text_sha256 else {}),
        },
        "model": job.model.to_dict(),
        "train": job.train.to_dict(),
        "vocab_size": len(data.tokenizer),
        "tokenizer": data.tokenizer.to_dict(),
        "metrics": {},
        **({"group": job.group} if job.group else {}),
    }
    if job.name:
        name = job.name
        lock = runs.claim(name, f"; choose another --name, or --resume {name}")
    else:  # another process may take the free name first: then the next one
        wanted = runs.name_base(f"{data.info.name}-{job.model.model}-{job.model.level}")
        for _ in range(100):
            name = runs.unique_name(wanted)
            with contextlib.suppress(runs.RunExists, runs.RunBusy):
                lock = runs.claim(name)
                break
        else:
            raise LmtuiError("could not find a free run name; give one with --name")
        if name != wanted:  # said, so that nobody samples the older run thinking it is this one
            data.notes.append(f"a run named {wanted} exists: this one is {name}")
    run = runs.Run(name, runs.run_path(name), {**meta, "name": name})
    try:
        run.save_meta()
    except BaseException:
        with contextlib.suppress(OSError):
            for child in run.path.iterdir():
                child.unlink()
            run.path.rmdir()
        lock.release()
        raise
    return run, data, lock


def _open_resumed(job: Job, control: Control) -> tuple[runs.Run, Data, runs.RunLock]:
    if not job.name:
        raise LmtuiError("--resume needs the name of a run")
    run = runs.load_run(job.name)
    if run.model_config.model == "ngram":
        raise LmtuiError(
            f"run {job.name!r} is an n-gram model: it trains in one pass and has nothing to resume"
        )
    lock = runs.acquire(run.path, run.name)
    try:
        run = runs.load_run(job.name)  # again, now that it is ours: the last writer may have changed it
        if not (run.path / "last.safetensors").is_file():
            raise LmtuiError(f"run {job.name!r} has no checkpoint to resume from")
        encoding = job.encoding or run.encoding
        with control.interruptible():
            level, tokenizer = run.model_config.level, run.tokenizer()
            data = prepare_data(run.corpus_spec(), level, job.train, tokenizer, encoding, control)
            resolve_device(job.train.device)
        if job.encoding:
            run.meta["corpus"]["encoding"] = job.encoding
        run.meta.pop("error", None)  # an earlier failure's message; a new one replaces it if this fails too
    except BaseException:
        lock.release()
        raise
    return run, data, lock


def _bits_per_char(loss: float, tokens: int, chars: int) -> float:
    """Cross-entropy per character in bits. Comparable between char and word models of one text only as far
    as <unk> allows: a word model predicts a whole rare word as one cheap <unk> (bits_per_char_spelled,
    lab.metrics, charges its spelling too)."""
    return loss * tokens / max(chars, 1) / math.log(2)


def _full_metrics(data: Data, model: LanguageModel) -> dict[str, Any]:
    """The whole validation and test splits, scored: what the runs table shows for a finished run."""
    val_loss = model.cross_entropy(data.val)
    test_loss = model.cross_entropy(data.test) if len(data.test) > 1 else float("nan")
    return dict(
        val_loss=val_loss,
        val_ppl=math.exp(min(val_loss, 700)),
        bits_per_char=_bits_per_char(val_loss, len(data.val) - 1, data.val_chars),
        test_loss=test_loss if math.isfinite(test_loss) else None,
        test_ppl=math.exp(min(test_loss, 700)) if math.isfinite(test_loss) else None,
    )


def _finish(
    run: runs.Run,
    data: Data,
    model: LanguageModel,
    step: int,
    reason: str,
    elapsed: float,
    session: Session | None = None,
    full: bool = True,
    control: Control | None = None,
) -> Finished:
    """Record how the session ended. ``full=False`` (a stop, or a budget the whole splits do not fit) leaves
    their evaluation pending (``lmtui eval``), and the closing figure is the kept weights' score on the
    validation slice, said as such; a stop during the full evaluation leaves it pending too."""
    metrics = run.meta.setdefault("metrics", {})
    metrics.update(parameters=model.num_parameters(), size_bytes=model.size_bytes())
    if full:
        try:
            with control.interruptible() if control is not None else contextlib.nullcontext():
                scores = {**_full_metrics(data, model), **finish_metrics(model, data.val, data.test)}
                scores.update(spelled_metrics(data.tokenizer, data.val_text, scores["bits_per_char"]))
        except StopNow:
            full = False
        else:
            metrics.update(scores)  # with <unk> shares and zero-probability counts
            run.meta.pop("eval_pending", None)
    if not full:  # figures of older weights would be wrong: the table shows "pending" until `lmtui eval`
        metrics.update(val_loss=None, val_ppl=None, bits_per_char=None, test_loss=None, test_ppl=None)
        run.meta["eval_pending"] = True
    metrics.update(
        step=step,
        train_seconds=elapsed,
        train_tokens=len(data.train),
        val_tokens=len(data.val),
        test_tokens=len(data.test),
    )
    run.meta["status"] = "done" if reason in ("steps", "time", "done", "overfit") else reason
    run.save_meta()
    if session is not None:
        session.finished = time.perf_counter()
    parts = session.parts() if session is not None else {}
    val_loss, val_ppl, scope = metrics["val_loss"], metrics["val_ppl"], "full"
    best = metrics.get("best_val_loss")
    if not full and isinstance(best, float) and math.isfinite(best):
        val_loss, val_ppl, scope = best, math.exp(min(best, 700)), "slice"
    return Finished(
        run.name,
        step,
        reason,
        val_loss,
        val_ppl,
        metrics["test_loss"],
        metrics["test_ppl"],
        elapsed,
        len(data.train),
        len(data.val),
        len(data.test),
        eval_pending=not full,
        val_scope=scope,
        val_slice_tokens=metrics.get("eval_slice_tokens") if scope == "slice" else None,
        **parts,
    )


def complete_evaluation(name: str, encoding: str | None = None) -> dict[str, Any]:
    """Score a run's whole validation and test splits now and store them (a stopped run's pending figures).

    It holds the run's lock while it does: never while a trainer writes the run (runs.RunBusy)."""
    with runs.run_lock(runs.run_path(name), name):
        run = runs.load_run(name)
        cfg = TrainConfig.from_dict(run.meta.get("train", {}))
        data = prepare_data(
            run.corpus_spec(), run.model_config.level, cfg, run.tokenizer(), encoding or run.encoding
        )
        metrics = run.meta.setdefault("metrics", {})
        model = run.load_model()
        metrics.update(_full_metrics(data, model))
        metrics.update(finish_metrics(model, data.val, data.test))
        metrics.update(spelled_metrics(data.tokenizer, data.val_text, metrics["bits_per_char"]))
        metrics.update(val_tokens=len(data.val), test_tokens=len(data.test))
        run.meta.pop("eval_pending", None)
        run.save_meta()
        return dict(metrics)


def _started(
    job: Job,
    run: runs.Run,
    data: Data,
    model: LanguageModel,
    step: int,
    device: str,
    compute: str = "",
    threads_why: str = "",
) -> Started:
    return Started(
        run.name,
        data.info.name,
        job.model.model,
        job.model.level,
        len(data.tokenizer),
        model.num_parameters(),
        model.size_bytes(),
        len(data.train),
        len(data.val),
        job.train.steps,
        job.train.max_seconds,
        step,
        device,
        job.train.clip if job.model.model != "ngram" else None,
        float(np.mean(data.val == 0)) if len(data.val) else 0.0,
        compute,
        threads_why,
    )


def _train_ngram(job: Job, run: runs.Run, data: Data, session: Session) -> Iterator[Event]:
    t0 = session.loop_started = time.perf_counter()
    cls = model_class("ngram")
    model = cls.fit(data.train, len(data.tokenizer), job.model)  # type: ignore[attr-defined]
    seconds = time.perf_counter() - t0
    yield _started(job, run, data, model, 0, "cpu")
    yield from (Note(message) for message in data.notes)
    by_order = sparsity_by_order(model, data.val)
    run.meta["metrics"]["sparsity_by_order"] = [o.to_dict() for o in by_order]
    yield NgramCounts(
        job.model.order,
        list(model.counts_per_order()),
        seconds,
        [o.unseen for o in by_order],
        [o.bytes for o in by_order],
    )
    runs.write_tensors(run.path / "model.safetensors", model.tensors(), {"format": "lmtui-weights"})
    session.loop_ended = time.perf_counter()
    finished = _finish(run, data, model, 1, "done", time.perf_counter() - t0, session)
    yield Eval(  # unsmoothed (mle) counts give some tokens probability 0: an infinite loss (JSON null)
        1,
        math.inf if finished.val_loss is None else finished.val_loss,
        finished.val_ppl or math.inf,
        run.meta["metrics"]["bits_per_char"],
        True,
        seconds,
        tokens=len(data.val),
    )
    yield finished


def _gradient_reach(run: runs.Run, model: LanguageModel, data: Data, step: int, k2: int) -> Iterator[Event]:
    """How far back gradients reach, at each evaluation: one forward and backward pass on a fixed batch
    (about one training step; BENCHMARKS.md "gradient reach")."""
    from lmtui.lab.gradients import DEFAULT_K, gradient_reach

    try:
        reach = gradient_reach(model, data.val, min(DEFAULT_K, k2))
    except ValueError:  # a validation split shorter than one window: nothing to measure
        return
    ev = GradientReach(step, reach.norms, reach.note, reach.warmup)
    runs.append_event(run, ev.to_dict())
    yield ev


def result_dict(finished: Finished, run: runs.Run | None = None) -> dict[str, Any]:
    """The JSON ``lmtui train --json`` prints: the finished event plus the run's metrics."""
    out = finished.to_dict()
    out.pop("event", None)
    out["name"] = finished.run
    if run is not None:
        out["metrics"] = run.meta.get("metrics", {})
        out["model"] = run.meta.get("model", {})
    return json.loads(json.dumps(out))


__all__ = ["Control", "Data", "Job", "TrainConfig", "prepare_data", "train", "validate"]
