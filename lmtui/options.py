"""The one list of training options: name, command-line flag, label, type, families, range and help.

``lmtui train``'s options are generated from it, the app's model form takes its labels and families from it,
and ``training.validate`` checks every range with it, so a check, a label and a message never drift between
the two faces. Defaults are not here: they depend on the preset, model and level (``presets.py``).
"""

from __future__ import annotations

import codecs
import math
import re
from dataclasses import dataclass
from typing import Any

from lmtui.errors import LmtuiError, OptionError
from lmtui.models import MAX_CONTEXT, MAX_K, MAX_LAYERS, MAX_VOCAB, MAX_WIDTH, SMOOTHINGS
from lmtui.models.ngram import MAX_ORDER

NGRAM = ("ngram",)
NEURAL = ("window", "rnn", "lstm", "gru")
RECURRENT = ("rnn", "lstm", "gru")
ALL = NGRAM + NEURAL
SEED_MAX = 2**32 - 1  # numpy's legacy seeding and every torch accept 0 .. 2**32-1
STEPS_MAX = 10**12  # "no limit" in practice; far beyond it, step arithmetic overflows a float
LR_MAX = 10.0  # AdamW's step is about lr; far above 1 every model diverges, and 1e308 overflows
# Streams per step and tokens per stream: far above any preset (64 x 64), and bounded so that no plan (memory,
# a step's tokens, lmtui.memory's search for a batch that fits) is handed a 20-digit number.
BATCH_MAX = 2**16
SEQ_LEN_MAX = 2**16
# The sample written at each evaluation is for a person to read: a few pages at most. Its cost is paid at
# every evaluation (and an edited run.json with --eval-every 1 would pay it at every step).
SAMPLE_LENGTH_MAX = 4000
COUNT_MAX = 2**30  # no word occurs more often in the 1 GiB of text lmtui reads at most (corpus.MAX_BYTES)


@dataclass(frozen=True)
class Option:
    """One training option. ``low``/``high`` bound numbers (``low_open``: strictly above ``low``); numbers
    must be finite; ``optional`` ones may be None (no limit); ``choices`` lists a choice's values."""

    name: str  # the ModelConfig / TrainConfig field
    label: str  # as the app's form shows it
    kind: str  # "int", "float", "choice" or "bool"
    families: tuple[str, ...]  # model families that have it
    help: str
    group: str = "train"  # "model" or "train": which config holds it
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False
    word_only: bool = False
    in_form: bool = True  # shown in the app's model form
    section: str = "model"  # where the form shows it: "model", "training" or the collapsed "advanced"
    placeholder: str = ""  # what an empty optional field in the form means

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` for this option, or None if nothing is."""
        if value is None:
            return None if self.optional else "needs a value"
        if self.kind == "choice":
            return None if value in self.choices else f"must be one of {', '.join(self.choices)}"
        if self.kind == "bool":
            return None if isinstance(value, bool) else "must be true or false"
        number = int if self.kind == "int" else (int, float)
        if isinstance(value, bool) or not isinstance(value, number):
            return "must be a whole number" if self.kind == "int" else "must be a number"
        if isinstance(value, float) and not math.isfinite(value):  # (an int may be too large for a float)
            return "must be a finite number"
        below = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        above = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        return self.range_text() if below or above else None

    def range_text(self) -> str:
        low, high = _num(self.low), _num(self.high)
        if self.low is not None and self.high is not None:
            if self.low_open or self.high_open:
                return (
                    f"must be in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"
                )
            return f"must be between {low} and {high}"
        if self.low is not None:
            if self.low_open:
                return f"must be > {low}"
            return "must be at least 1" if self.low == 1 else f"must be >= {low}"
        return f"must be at most {high}"


def _num(x: float | None) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _model(name: str, label: str, kind: str, families: tuple[str, ...], help: str, **kw: Any) -> Option:
    return Option(name, label, kind, families, help, group="model", **kw)


OPTIONS: tuple[Option, ...] = (
    _model(
        "order",
        "order (n)",
        "int",
        NGRAM,
        "n-gram order: how many tokens a prediction looks at.",
        low=1,
        high=MAX_ORDER,
    ),
    _model(
        "smoothing",
        "smoothing",
        "choice",
        NGRAM,
        "n-gram smoothing: Kneser-Ney, add-k, backoff, or mle (none: unseen words get probability 0).",
        choices=SMOOTHINGS,
    ),
    _model(
        "k",
        "add-k's k",
        "float",
        NGRAM,
        "add-k's k: 1 is Laplace, else Lidstone.",
        low=0,
        low_open=True,
        high=MAX_K,
    ),
    _model(
        "context",
        "context tokens",
        "int",
        ("window",),
        "Window model: how many previous tokens it sees (each with weights of its own: the model grows "
        "with it).",
        low=1,
        high=MAX_CONTEXT,
    ),
    _model("embed", "embedding size", "int", NEURAL, "Embedding size.", low=1, high=MAX_WIDTH),
    _model("hidden", "hidden size", "int", NEURAL, "Hidden size.", low=1, high=MAX_WIDTH),
    _model("layers", "layers", "int", RECURRENT, "Recurrent layers.", low=1, high=MAX_LAYERS),
    _model(
        "dropout",
        "dropout",
        "float",
        NEURAL,
        "Dropout probability, in [0, 1).",
        low=0,
        high=1,
        high_open=True,
    ),
    _model(
        "softmax",
        "softmax",
        "choice",
        NEURAL,
        "Output layer: full (every token scored on every step) or adaptive (frequency clusters: the rare"
        " words' softmax is paid only for rare words; exact probabilities either way).",
        choices=("full", "adaptive"),
        section="advanced",
    ),
    _model(
        "tie_weights",
        "tie weights (embed = out)",
        "bool",
        RECURRENT,
        "Share embedding and output weights (needs --embed equal to --hidden).",
        section="advanced",
    ),
    Option(
        "max_seconds",
        "time budget (s)",
        "float",
        NEURAL,
        "Seconds for this whole session: start-up, training, final evaluation (first budget out ends it).",
        low=0,
        low_open=True,
        optional=True,
        section="training",
        placeholder="none",
    ),
    Option(
        "steps",
        "max steps",
        "int",
        NEURAL,
        "Total optimizer steps (a run resumed past it gets this many more).",
        low=1,
        high=STEPS_MAX,
        optional=True,
        section="training",
        placeholder="none",
    ),
    Option(
        "batch_size",
        "batch size",
        "int",
        NEURAL,
        "Parallel streams per step.",
        low=1,
        high=BATCH_MAX,
        section="advanced",
    ),
    Option(
        "seq_len",
        "sequence length (k2)",
        "int",
        NEURAL,
        "k2: tokens gradients flow back through (truncated BPTT; as long as a sequence, it is full BPTT "
        "over it).",
        low=1,
        high=SEQ_LEN_MAX,
        section="training",
    ),
    Option(
        "k1",
        "tokens between updates (k1)",
        "int",
        RECURRENT,
        "Tokens read between updates, at most --seq-len (default: --seq-len).",
        low=1,
        high=SEQ_LEN_MAX,
        optional=True,
        in_form=True,
        section="training",
        placeholder="= k2",
    ),
    Option(
        "lr",
        "learning rate",
        "float",
        NEURAL,
        "Peak learning rate (AdamW, warm-up then cosine decay).",
        low=0,
        high=LR_MAX,
        low_open=True,
        section="training",
    ),
    Option(
        "clip",
        "gradient clip",
        "float",
        NEURAL,
        "Gradient-norm clipping threshold (0: off).",
        low=0,
        section="advanced",
    ),
    Option(
        "eval_every",
        "eval every (steps)",
        "int",
        NEURAL,
        "Steps between validation passes (they also come by time).",
        low=1,
        high=STEPS_MAX,
        section="advanced",
    ),
    Option(
        "sample_length",
        "sample length",
        "int",
        NEURAL,
        "Characters of the sample written at each evaluation (word level: a fifth as many words).",
        low=1,
        high=SAMPLE_LENGTH_MAX,
        in_form=False,
    ),
    Option(
        "checkpoint_every",
        "checkpoint every (s)",
        "float",
        NEURAL,
        "Seconds between resume checkpoints: at most this much work is lost to a kill.",
        low=0,
        low_open=True,
        in_form=False,
    ),
    Option("seed", "seed", "int", ALL, "Random seed.", low=0, high=SEED_MAX, section="advanced"),
    Option(
        "max_vocab",
        "max vocabulary",
        "int",
        ALL,
        "Word level: keep the most frequent N words.",
        low=1,
        high=MAX_VOCAB,
        word_only=True,
        section="advanced",
    ),
    Option(
        "min_count",
        "min word count",
        "int",
        ALL,
        "Word level: drop words seen fewer times.",
        low=1,
        high=COUNT_MAX,
        word_only=True,
        section="advanced",
    ),
    Option(
        "device",
        "device",
        "choice",
        NEURAL,
        "Where to train.",
        choices=("auto", "cpu", "cuda", "mps"),
        in_form=False,
    ),
    Option(
        "precision",
        "precision",
        "choice",
        NEURAL,
        "bf16 computes in bfloat16, weights kept in float32 (2-2.5x faster on CPUs with AMX or "
        "AVX512-BF16); auto picks it where the hardware is fast at it.",
        choices=("auto", "fp32", "bf16"),
        in_form=False,
    ),
    Option(
        "threads",
        "CPU threads",
        "int",
        NEURAL,
        "torch's threads on the CPU (default: the cores other programs leave free, rechecked while "
        "training; the app's training keeps one core for the app).",
        low=1,
        high=4096,
        optional=True,
        in_form=False,
        placeholder="the free cores",
    ),
)
BY_NAME = {o.name: o for o in OPTIONS}


def option(name: str) -> Option:
    return BY_NAME[name]


def label(name: str) -> str:
    """The app's label for a field (an OptionError's ``labelled(label(err.field))``)."""
    return BY_NAME[name].label if name in BY_NAME else name.replace("_", " ")


# the playground's settings (SampleSettings) as the app labels them
SAMPLE_LABELS = {
    "temperature": "temperature",
    "top_k": "top-k",
    "top_p": "top-p",
    "length": "length",
    "stop_lines": "stop after lines",
    "seed": "seed",
    "encoding": "encoding",
}


def in_app(exc: LmtuiError) -> str:
    """An error as the app words it: an option by its form label ("Dropout must be in [0, 1)"), where the
    command line names its flag ("--dropout must be in [0, 1)"); any other error as it is."""
    if not isinstance(exc, OptionError):
        return str(exc)
    name = BY_NAME[exc.field].label if exc.field in BY_NAME else SAMPLE_LABELS.get(exc.field, exc.field)
    return exc.labelled(name[:1].upper() + name[1:].replace("_", " "))


FLAG_RE = re.compile(r"--([a-z][a-z0-9-]*)")


def app_words(message: str) -> str:
    """A message from the engine or the training child, with each option flag it names put as the app's
    form labels it ("try a lower --lr" → "try a lower learning rate")."""

    def label_of(match: re.Match[str]) -> str:
        name = match.group(1).replace("-", "_")
        return BY_NAME[name].label if name in BY_NAME else match.group(0)

    return FLAG_RE.sub(label_of, message)


def default_level(family: str, suggested: str, bundled: bool) -> str:
    """The token level a model starts with: a bundled corpus's suggestion; on your own text, words for
    n-gram models (the lecture's n-grams are over words) and characters for neural ones."""
    if bundled:
        return suggested
    return "word" if family == "ngram" else "char"


LEVEL_NOTE = "level: word (n-gram default for your own text; --level char to change)"


def check(name: str, value: Any) -> None:
    """Raise OptionError if ``value`` is out of the option's range."""
    problem = BY_NAME[name].problem(value)
    if problem:
        raise OptionError(name, problem)


def check_seed(value: int | None, field: str = "seed") -> None:
    """Seeds of training and sampling: a whole number in 0 .. 2**32-1, or None for a random one."""
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= SEED_MAX
    ):
        raise OptionError(field, f"must be a whole number between 0 and {SEED_MAX}")


def check_encoding(encoding: str | None) -> None:
    """The --encoding option: a codec of text files (``encoding_problem``)."""
    problem = encoding_problem(encoding)
    if problem:
        raise OptionError("encoding", problem)


def encoding_problem(encoding: str | None) -> str | None:
    """Why ``encoding`` is no codec of text files, or None: ``base64`` or ``rot13`` are codecs but not of
    text, and ``punycode``/``idna`` encode domain names (they fail on ordinary text with errors no file
    decoder gives). The option and a run file's stored encoding (lmtui.schema) share this one check."""
    if encoding is None:
        return None
    try:
        info = codecs.lookup(encoding)
    except (LookupError, TypeError, ValueError):
        return f"{encoding!r} is an unknown encoding (e.g. latin-1, cp1252)"
    if not getattr(info, "_is_text_encoding", True) or info.name in ("punycode", "idna"):
        return f"{encoding!r} is not a text encoding (e.g. latin-1, cp1252, utf-16)"
    return None
