"""What a run folder and a shared bundle may hold: one checked reader for every field.

run.json, a checkpoint's metadata and a bundle's JSON come from disk, and a bundle from a stranger: each field
is checked for type, range and finiteness before anything uses it, and any damage becomes one LmtuiError
line naming the file and the field (never a TypeError three calls later, never a run that half loads).
runs.py, training.py, training_state.py, import and the app (through runs.load_run/list_runs) all read
through here. Where a field is also a training option, its range is the option's (lmtui.options, with the
model sizes of lmtui.models): a file can hold nothing a flag could not ask for, so a shared bundle or an
edited run.json meets the same closed-form limits as ``lmtui train`` before anything is built or sampled.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from lmtui.errors import LmtuiError
from lmtui.models import MAX_K, MAX_VOCAB, MODEL_KINDS, SMOOTHINGS, ModelConfig, size_problem
from lmtui.options import (
    BATCH_MAX,
    BY_NAME,
    COUNT_MAX,
    LR_MAX,
    SAMPLE_LENGTH_MAX,
    SEED_MAX,
    SEQ_LEN_MAX,
    STEPS_MAX,
    encoding_problem,
)
from lmtui.storage import encodes

RUN_FORMAT = "lmtui-run"
RUN_VERSION = 1
CHECKPOINT_FORMAT = "lmtui-checkpoint-1"
# stored statuses; "training"/"paused" with no live lock holder read as "interrupted" (runs.Run.status)
STATUSES = ("training", "paused", "done", "stopped", "interrupted", "failed")
LIVE_STATUSES = ("training", "paused")
UNITS = ("text", "lines")
MAX_INT = 2**63 - 1


class Damaged(LmtuiError):
    """A file's field with a value lmtui cannot use."""

    def __init__(self, where: str, field: str, problem: str) -> None:
        self.where, self.field = where, field
        super().__init__(f"{where} is damaged: {field} {problem}")


def _int(v: Any, where: str, field: str, lo: int = 0, hi: int = MAX_INT, none: bool = False) -> int | None:
    if v is None and none:
        return None
    if not isinstance(v, int) or isinstance(v, bool):
        raise Damaged(where, field, f"has the wrong type (a whole number is needed, not {_show(v)})")
    if not lo <= v <= hi:
        raise Damaged(where, field, f"is invalid (must be between {lo} and {hi}, not {_show(v)})")
    return v


def _num(
    v: Any,
    where: str,
    field: str,
    lo: float = -math.inf,
    hi: float = math.inf,
    none: bool = False,
    above: bool = False,
    below: bool = False,
) -> float | None:
    """A finite number in [lo, hi] (open at lo with ``above``, at hi with ``below``)."""
    if v is None and none:
        return None
    if not isinstance(v, int | float) or isinstance(v, bool):
        raise Damaged(where, field, f"has the wrong type (a number is needed, not {_show(v)})")
    finite = isinstance(v, int) or math.isfinite(v)  # (an int may be too large for a float)
    if not finite or not (lo < v if above else lo <= v) or not (v < hi if below else v <= hi):
        bounds = f"{'above' if above else 'from'} {lo}"
        bounds += f" {'to below' if below else 'to'} {hi}" if math.isfinite(hi) else ""
        raise Damaged(where, field, f"is invalid (must be a finite number {bounds}, not {_show(v)})")
    return v


def _str(v: Any, where: str, field: str, choices: tuple[str, ...] = (), none: bool = False) -> str | None:
    if v is None and none:
        return None
    if not isinstance(v, str):
        raise Damaged(where, field, f"has the wrong type (text is needed, not {_show(v)})")
    if not encodes(v):
        raise Damaged(where, field, SURROGATE)
    if choices and v not in choices:
        raise Damaged(where, field, f"is invalid (must be one of {', '.join(choices)}, not {_show(v)})")
    return v


def _bool(v: Any, where: str, field: str) -> bool:
    if not isinstance(v, bool):
        raise Damaged(where, field, f"has the wrong type (true or false is needed, not {_show(v)})")
    return v


def _dict(v: Any, where: str, field: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise Damaged(where, field, f"has the wrong type (a JSON object is needed, not {_show(v)})")
    return v


SURROGATE = "is damaged text (it holds a lone surrogate, which no UTF-8 file can)"


def _check_text(data: Any, where: str) -> None:
    """Every string in a file's JSON (keys too) can be written back: a lone surrogate anywhere would make
    the next write (status, export, import) fail halfway. The path of the first one found is named."""
    todo: list[tuple[str, Any]] = [("", data)]
    while todo:
        path, value = todo.pop()
        if isinstance(value, str):
            if not encodes(value):
                raise Damaged(where, path or "the file", SURROGATE)
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and not encodes(key):
                    raise Damaged(where, path or "the file", "has a key of damaged text (a lone surrogate)")
                todo.append((f"{path}.{key}" if path else str(key), item))
        elif isinstance(value, list):
            todo.extend((f"{path}[{i}]", item) for i, item in enumerate(value))


def _show(v: Any) -> str:
    if isinstance(v, int) and v.bit_length() > 128:  # repr refuses ints past 4300 digits
        return f"a number of about {int(v.bit_length() * math.log10(2)) + 1} digits"
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


# -- the model: every field required, since the weights' shapes follow from it


def check_model(data: Any, where: str) -> ModelConfig:
    if not isinstance(data, dict) or data.get("model") not in MODEL_KINDS:
        raise LmtuiError(f"{where} names no model this lmtui knows")
    d = {"softmax": "full", **data}  # runs made before the adaptive softmax have the full one
    if missing := [f for f in ModelConfig().to_dict() if f not in d]:
        raise Damaged(where, "model", f"lacks {', '.join(missing)}")
    _str(d["model"], where, "model.model", MODEL_KINDS)
    _str(d["level"], where, "model.level", ("char", "word"))
    _str(d["smoothing"], where, "model.smoothing", SMOOTHINGS)
    _num(d["k"], where, "model.k", 0, MAX_K, above=True)
    for name in ("order", "context", "embed", "hidden", "layers"):
        opt = BY_NAME[name]  # the option's range: one limit for a flag and a file
        _int(d[name], where, f"model.{name}", int(opt.low or 0), int(opt.high or MAX_INT))
    _num(d["dropout"], where, "model.dropout", 0, 1, below=True)
    _str(d["softmax"], where, "model.softmax", BY_NAME["softmax"].choices)
    if _bool(d["tie_weights"], where, "model.tie_weights") and d["embed"] != d["hidden"]:
        raise Damaged(where, "model.tie_weights", "needs embed equal to hidden")
    if d["tie_weights"] and d["softmax"] != "full":
        raise Damaged(where, "model.tie_weights", "needs the full softmax")
    return ModelConfig.from_dict(d)


# -- the training settings: known fields checked, missing ones take their defaults, unknown ones are ignored.
# Others adding a TrainConfig field add its check here (kind, lowest, highest, may be null).
# The ranges of those that are options are the options' (lmtui.options); weight decay, not one, shrinks each
# weight by lr x weight_decay per step, so past 1 it is no regularizer.
TRAIN_FIELDS: dict[str, tuple[str, float, float, bool]] = {
    "steps": ("int", 1, STEPS_MAX, True),
    "max_seconds": ("pos", 0, math.inf, True),
    "train_seconds": ("pos", 0, math.inf, True),
    "batch_size": ("int", 1, BATCH_MAX, False),
    "seq_len": ("int", 1, SEQ_LEN_MAX, False),
    "k1": ("int", 1, SEQ_LEN_MAX, True),
    "lr": ("pos", 0, LR_MAX, False),
    "min_lr_ratio": ("num", 0, 1, False),
    "warmup": ("int", 0, STEPS_MAX, False),
    "weight_decay": ("num", 0, 1, False),
    "clip": ("num", 0, math.inf, False),
    "eval_every": ("int", 1, STEPS_MAX, False),
    "checkpoint_every": ("pos", 0, math.inf, False),
    "sample_length": ("int", 1, SAMPLE_LENGTH_MAX, False),
    "seed": ("int", 0, SEED_MAX, False),
    "threads": ("int", 1, 4096, True),
    "max_vocab": ("int", 1, MAX_VOCAB, False),
    "min_count": ("int", 1, COUNT_MAX, False),
}


def check_train(data: Any, where: str) -> dict[str, Any]:
    d = _dict(data, where, "train")
    for name, (kind, lo, hi, none) in TRAIN_FIELDS.items():
        if name in d:
            if kind == "int":
                _int(d[name], where, f"train.{name}", int(lo), int(hi), none)
            else:
                _num(d[name], where, f"train.{name}", lo, hi, none, above=kind == "pos")
    if "device" in d:
        _str(d["device"], where, "train.device", ("auto", "cpu", "cuda", "mps"))
    if "precision" in d:
        _str(d["precision"], where, "train.precision", ("auto", "fp32", "bf16"))
    return d


SHA256_RE = re.compile(r"[0-9a-f]{64}")


def check_corpus(data: Any, where: str) -> dict[str, Any]:
    d = _dict(data, where, "corpus")
    name = _str(d.get("name"), where, "corpus.name")
    if not name or len(name) > 1000:
        raise Damaged(where, "corpus.name", "must be a name of 1 to 1000 characters")
    _str(d.get("spec"), where, "corpus.spec", none=True)
    _str(d.get("unit", "text"), where, "corpus.unit", UNITS)
    for flag in ("bundled", "imported"):
        if flag in d:
            _bool(d[flag], where, f"corpus.{flag}")
    problem = encoding_problem(_str(d.get("encoding"), where, "corpus.encoding", none=True))
    if problem:  # eval and resume read the corpus again in it: the file is at fault, not an --encoding
        raise Damaged(where, "corpus.encoding", f"is invalid ({problem})")
    digest = _str(d.get("sha256"), where, "corpus.sha256", none=True)  # runs before it have none
    if digest is not None and not SHA256_RE.fullmatch(digest):
        raise Damaged(where, "corpus.sha256", "is invalid (must be 64 lowercase hex digits)")
    return d


# metrics lmtui writes and reads as numbers; others may add keys of any plain JSON value
METRIC_INTS = (
    "step", "best_step", "train_tokens", "val_tokens", "test_tokens", "parameters", "size_bytes",
    "eval_slice_tokens", "val_zero_prob_tokens", "test_zero_prob_tokens",
)  # fmt: skip
METRIC_NUMBERS = (
    "val_loss", "val_ppl", "bits_per_char", "test_loss", "test_ppl", "train_seconds", "best_val_loss",
    "slice_val_loss", "slice_val_ppl", "val_unk_rate", "test_unk_rate", "val_ppl_excl_oov",
    "test_ppl_excl_oov",
)  # fmt: skip
METRIC_BOOLS = ("val_ppl_infinite", "test_ppl_infinite")
# metrics.sparsity_by_order: one object per n-gram order (lmtui.lab.sparsity)
SPARSITY_INTS = ("order", "held_out", "stored", "bytes")
SPARSITY_NUMBERS = ("unseen", "context_unseen")


def check_metrics(data: Any, where: str) -> dict[str, Any]:
    d = _dict(data, where, "metrics")
    for name, value in d.items():
        if name in METRIC_INTS:
            _int(value, where, f"metrics.{name}", none=True)
        elif name in METRIC_NUMBERS:
            _num(value, where, f"metrics.{name}", 0, none=True)
        elif name in METRIC_BOOLS:
            _bool(value, where, f"metrics.{name}")
        elif name == "sparsity_by_order":
            _check_sparsity(value, where)
        elif isinstance(value, float) and not math.isfinite(value):
            raise Damaged(where, f"metrics.{name}", f"must be a finite number, not {value}")
    return d


def _check_sparsity(value: Any, where: str) -> None:
    if not isinstance(value, list):
        problem = f"has the wrong type (a list is needed, not {_show(value)})"
        raise Damaged(where, "metrics.sparsity_by_order", problem)
    for i, row in enumerate(value):
        field = f"metrics.sparsity_by_order[{i}]"
        _dict(row, where, field)
        for name in SPARSITY_INTS:
            _int(row.get(name), where, f"{field}.{name}")
        for name in SPARSITY_NUMBERS:
            _num(row.get(name), where, f"{field}.{name}", 0)


def check_tokenizer(data: Any, vocab_size: int, level: str, where: str) -> Any:
    """The tokenizer (a lmtui.tokens.Tokenizer), which must have exactly ``vocab_size`` tokens."""
    from lmtui.tokens import Tokenizer

    try:
        tokenizer = Tokenizer.from_dict(_dict(data, where, "tokenizer"))
    except (ValueError, LmtuiError) as exc:
        raise LmtuiError(f"{where} has a damaged tokenizer: {exc}") from None
    if len(tokenizer) != vocab_size:
        problem = f"{len(tokenizer)} tokens, but vocab_size is {vocab_size}"
    elif tokenizer.level != level:
        problem = f"it is {tokenizer.level}-level, but the model is {level}-level"
    elif len(set(tokenizer.vocab)) != len(tokenizer.vocab):
        problem = "it lists a token twice"
    else:
        return tokenizer
    raise LmtuiError(f"{where} has a damaged tokenizer: {problem}")


def check_run(meta: Any, where: str) -> dict[str, Any]:
    """A run.json (or a bundle's JSON): every field lmtui reads, checked; the dict itself is returned."""
    if not isinstance(meta, dict) or meta.get("format") != RUN_FORMAT:
        raise LmtuiError(f"{where} is not an lmtui run file")
    if type(meta.get("version")) is not int or meta["version"] != RUN_VERSION:  # true == 1 in Python
        raise LmtuiError(
            f"{where} is an lmtui run of format version {_show(meta.get('version'))}; "
            f"this lmtui reads {RUN_VERSION}"
        )
    model = check_model(meta.get("model"), where)
    if not isinstance(meta.get("corpus"), dict) or not isinstance(meta["corpus"].get("name"), str):
        raise LmtuiError(f"{where} names no corpus")
    check_corpus(meta.get("corpus"), where)
    vocab_size = meta.get("vocab_size")
    if not isinstance(vocab_size, int) or isinstance(vocab_size, bool) or not 1 <= vocab_size <= MAX_VOCAB:
        raise LmtuiError(f"{where} has no valid vocabulary size")
    _check_text(meta, where)  # before the tokenizer: its vocabulary is the longest list of strings
    check_tokenizer(meta.get("tokenizer"), vocab_size, model.level, where)
    if too_large := size_problem(model, vocab_size):
        raise Damaged(where, "model", f"is too large: it {too_large}")
    check_train(meta.setdefault("train", {}), where)  # missing: the defaults (they only matter to resume)
    check_metrics(meta.setdefault("metrics", {}), where)
    _str(meta.get("name"), where, "name", none=True)
    _num(meta.get("created", 0), where, "created", 0)
    _num(meta.get("updated"), where, "updated", 0, none=True)
    _str(meta.get("status", "done"), where, "status", STATUSES)
    for text in ("error", "imported_from"):
        _str(meta.get(text), where, text, none=True)
    if "eval_pending" in meta:
        _bool(meta["eval_pending"], where, "eval_pending")
    group = _str(meta.get("group"), where, "group", none=True)  # a comparison's runs share it (lab.compare)
    if group is not None and not (
        0 < len(group) <= 64 and group.isascii() and group[0].isalnum()
        and all(c.isalnum() or c in "._-" for c in group)
    ):
        raise Damaged(where, "group", f"is not a comparison's name (like cmp3), not {_show(group)}")
    return meta


def check_tensors(tensors: dict[str, np.ndarray], where: str) -> None:
    """Weights must be numbers: a NaN or an infinity would only surface later as a crash or as garbage."""
    for key, array in tensors.items():
        if array.dtype.kind == "f" and array.size and not np.isfinite(array).all():
            raise LmtuiError(f"{where} is damaged: tensor {key} holds NaN or infinite values")


# -- resume checkpoints (training_state.py writes them)


def check_checkpoint(meta: Any, where: str) -> dict[str, Any]:
    d = _dict(meta, where, "the checkpoint metadata")
    if d.get("format") != CHECKPOINT_FORMAT:
        raise LmtuiError(f"{where} is not an lmtui checkpoint")
    for name in ("step", "position", "batch"):
        _int(d.get(name), where, name)
    _num(d.get("elapsed"), where, "elapsed", 0)
    _str(d.get("hidden"), where, "hidden", ("tuple", "tensor", "none"))
    groups = d.get("param_groups")
    if not isinstance(groups, list) or not groups:
        raise Damaged(where, "param_groups", "must be a non-empty list")
    for i, group in enumerate(groups):
        g = _dict(group, where, f"param_groups[{i}]")
        _num(g.get("lr"), where, f"param_groups[{i}].lr", 0)
        _num(g.get("eps", 1e-8), where, f"param_groups[{i}].eps", 0, above=True)
        _num(g.get("weight_decay", 0), where, f"param_groups[{i}].weight_decay", 0)
        betas = g.get("betas", [0.9, 0.999])
        if not isinstance(betas, list) or len(betas) != 2:
            raise Damaged(where, f"param_groups[{i}].betas", "must be two numbers")
        for b in betas:
            _num(b, where, f"param_groups[{i}].betas", 0, 0.999999)
        for flag in ("amsgrad", "maximize", "foreach", "capturable", "differentiable", "fused",
                     "decoupled_weight_decay"):
            if g.get(flag) is not None:
                _bool(g[flag], where, f"param_groups[{i}].{flag}")
        params = g.get("params")
        if not isinstance(params, list):
            raise Damaged(where, f"param_groups[{i}].params", "must be a list of indices")
        for p in params:
            _int(p, where, f"param_groups[{i}].params", 0, 1 << 20)
    shapes = _dict(d.get("opt_shapes"), where, "opt_shapes")
    for key, shape in shapes.items():
        index, _, slot = key.partition(".")
        if not index.isdigit() or slot not in ("step", "exp_avg", "exp_avg_sq"):
            raise Damaged(where, "opt_shapes", f"has an unknown entry {key!r}")
        if not isinstance(shape, list) or len(shape) > 8:
            raise Damaged(where, f"opt_shapes.{key}", "must be a list of sizes")
        for size in shape:
            _int(size, where, f"opt_shapes.{key}", 0, 1 << 40)
    return d
