"""Training events and their JSON-lines form.

Training yields these events; the CLI renders them with rich, ``--events jsonl`` prints them one per line,
and the TUI reads those lines from a child process. Keeping the schema here means all three agree.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar


@dataclass
class Event:
    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        data = {"event": self.kind}
        for key, value in asdict(self).items():
            # JSON has no NaN/inf: send them as null so every reader can parse the line.
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            data[key] = value
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


@dataclass
class Started(Event):
    """Training begins: what is trained, on what, for how long."""

    kind: ClassVar[str] = "started"
    run: str
    corpus: str
    model: str
    level: str
    vocab_size: int
    parameters: int
    size_bytes: int
    train_tokens: int
    val_tokens: int
    max_steps: int | None
    max_seconds: float | None
    start_step: int = 0
    device: str = "cpu"
    clip: float | None = None  # gradient-norm clipping threshold (0: off; None: not trained by gradients)
    val_unk_rate: float = 0.0  # share of validation tokens that are <unk>: what a word perplexity hides
    compute: str = ""  # how the device computes: "bf16, 2 threads"
    threads_why: str = ""  # why that many threads: "--threads 2", "1 of 2 cores free; adjusted to the load"


@dataclass
class Step(Event):
    """One optimisation step (or a few, for readers that only need the trend)."""

    kind: ClassVar[str] = "step"
    step: int
    train_loss: float
    grad_norm: float
    lr: float
    tokens_per_s: float
    elapsed: float
    eta: float | None
    progress: float
    clipped: float | None = None  # share of the steps since the last Step event whose gradient was clipped
    # this session's seconds inside training steps alone (no evaluations, no start-up) and the tokens its
    # steps read (batch x k1 each): what compare budgets and reports
    step_seconds: float | None = None
    tokens: int | None = None


@dataclass
class Eval(Event):
    """Validation loss in nats/token and perplexity = exp(loss), over the whole split or a fixed slice of it.

    During training a neural run scores the same cheap slice each time (``scope="slice"``, comparable along
    the curve, used to pick the best checkpoint); the whole validation split is scored at the end and its
    figures are the ``finished`` event's ``val_loss``/``val_ppl``.
    """

    kind: ClassVar[str] = "eval"
    step: int
    val_loss: float
    val_ppl: float
    bits_per_char: float | None
    best: bool
    elapsed: float
    scope: str = "full"  # "full": the whole validation split; "slice": a fixed cheap slice of it
    tokens: int | None = None  # validation tokens scored (the slice's size, or the whole split's)


@dataclass
class GradientReach(Event):
    """At an evaluation: mean ‖∂loss_T / ∂x_{T-k}‖ for k = 1..K on a fixed batch (lmtui.lab.gradients)."""

    kind: ClassVar[str] = "gradient_reach"
    step: int
    norms: list[float] = field(default_factory=list)  # norms[k - 1] for k = 1..K
    note: str = ""
    warmup: int = 0  # tokens read before the K measured ones (the state carried in; lab.gradients)


@dataclass
class Sample(Event):
    """A short sample of what the model writes now."""

    kind: ClassVar[str] = "sample"
    step: int
    text: str


@dataclass
class Checkpoint(Event):
    kind: ClassVar[str] = "checkpoint"
    step: int
    path: str
    best: bool


@dataclass
class NgramCounts(Event):
    """n-gram models train in one pass: their counts stand in for curves."""

    kind: ClassVar[str] = "ngram_counts"
    order: int
    counts: list[int] = field(default_factory=list)
    seconds: float = 0.0
    # per order 1..n (lmtui.lab.sparsity): share of validation n-grams never seen in training, bytes stored
    unseen: list[float] = field(default_factory=list)
    bytes: list[int] = field(default_factory=list)


@dataclass
class Finished(Event):
    kind: ClassVar[str] = "finished"
    run: str
    step: int
    reason: str  # "steps", "time", "stopped", "interrupted", "done"
    val_loss: float | None
    val_ppl: float | None
    test_loss: float | None
    test_ppl: float | None
    elapsed: float
    train_tokens: int
    val_tokens: int
    test_tokens: int
    eval_pending: bool = False  # stopped before its full evaluation: val/test figures come later
    # "full": val_* score the whole validation split; "slice": its first val_slice_tokens (the kept weights'
    # score while the whole split is pending)
    val_scope: str = "full"
    val_slice_tokens: int | None = None
    # this session's wall-clock seconds: all of it, start-up (data, model), training loop, final evaluation
    session_seconds: float | None = None
    startup_seconds: float | None = None
    training_seconds: float | None = None
    eval_seconds: float | None = None
    first_step_seconds: float | None = None  # from the session's start to its first training step's end


@dataclass
class Note(Event):
    """Something the user should know that does not stop training (a batch size shrunk to fit, say)."""

    kind: ClassVar[str] = "note"
    message: str


@dataclass
class Failed(Event):
    kind: ClassVar[str] = "failed"
    message: str
    step: int | None = None


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (Started, Step, Eval, GradientReach, Sample, Checkpoint, NgramCounts, Note, Finished, Failed)
}


def parse_event(line: str) -> Event | None:
    """Parse one JSON line into an event; None for lines that are not lmtui events."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        return None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("event"), str)
        or data["event"] not in EVENT_TYPES
    ):
        return None
    cls = EVENT_TYPES[data["event"]]
    names = {f.name for f in fields(cls)}
    try:
        return cls(**{k: v for k, v in data.items() if k in names})
    except TypeError:
        return None
