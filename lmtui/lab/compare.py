"""The perplexity table: several models trained on the same split and vocabulary, each with the same budget.

Every model goes through the one training loop (``lmtui.training.train``) with its ``small`` preset. The
budget is training work, the same for every neural model: seconds spent inside training steps (start-up,
evaluations and the final scoring excluded, so a model's share depends neither on what its evaluations cost
nor on when the machine is busy), or a number of steps. n-grams count the training split once, whatever the
budget. Each row says what the budget bought (steps, tokens read, seconds in steps), and every figure is
scored on one split, the test text, which no model saw and none was chosen by. The tokenizer is built
deterministically from the same training split, so all rows share one vocabulary. The models of one
comparison are one group of runs (run.json's "group", like "cmp3"; see lmtui.runs), named from a number no
run uses yet, so a comparison never takes a name of the user's and can be listed and deleted as one.

When the best n-gram beats every neural model, the verdict says why (how little of the text the neural model
read in its budget) and estimates the budget at which the order would flip by extrapolating the best neural
model's training curve (a rough guide, labelled as such).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_MODELS = ("1gram", "2gram", "3gram", "4gram", "5gram", "window", "rnn", "lstm", "gru")
NEURAL = ("window", "rnn", "lstm", "gru")
MODEL_RE = re.compile(r"^([1-6])gram$")
SPLIT = "test"  # the one split every figure of the table is scored on
MIN_STEPS = 100  # fewer steps (most of them warm-up) make a curve too young to extrapolate
NGRAM_SHARE = 0.05  # of the progress bar, an n-gram's share against a neural model's (it only counts)


def parse_models(spec: str | list[str] | tuple[str, ...]) -> list[str]:
    """ "1gram,3gram,lstm" -> the labels; raise ValueError naming anything unknown."""
    labels = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    bad = [s for s in labels if not (MODEL_RE.match(s) or s in NEURAL)]
    if bad or not labels:
        what = f"unknown model {bad[0]!r}" if bad else "no models given"
        raise ValueError(f"{what}; use 1gram..6gram, window, rnn, lstm or gru (comma-separated)")
    return list(dict.fromkeys(labels))


@dataclass
class Row:
    label: str
    run: str
    parameters: int
    size_bytes: int
    steps: int | None  # optimizer steps; None for an n-gram (one counting pass)
    tokens: int  # training tokens read: steps x batch x k1, or the whole training split once for an n-gram
    train_seconds: float  # seconds inside training steps (an n-gram: counting), evaluations excluded
    test_ppl: float | None  # None: infinite (an unsmoothed model gave some test token probability 0)
    test_bits_per_char: float | None
    test_ppl_excl_oov: float | None
    test_unk_rate: float
    # (training seconds, bits/char) while training: the training loss in bits per character (dense: what
    # the budget extrapolation fits)
    curve: list[tuple[float, float]] = field(default_factory=list)
    # (training seconds, bits/char) at each evaluation during training, on the run's fixed validation slice:
    # the curves the Compare screen overlays (evaluations come by time, ~10 a run)
    val_curve: list[tuple[float, float]] = field(default_factory=list)

    @property
    def neural(self) -> bool:
        return self.label in NEURAL

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Row:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass
class Comparison:
    corpus: str
    level: str
    seconds: float | None  # seconds inside training steps per neural model; None: a step budget only
    rows: list[Row]
    verdict: str = ""
    steps: int | None = None  # steps per neural model; None: a time budget only
    group: str = ""  # the group of runs it trained (run.json's "group")
    train_tokens: int = 0  # tokens in the training split
    stopped: str = ""  # the model it was stopped at ("" when it ran to the end)
    stopped_run: str = ""  # that model's run, kept with status "stopped" ("": stopped before it was made)
    split: str = SPLIT

    def to_dict(self) -> dict[str, Any]:
        return {
            "corpus": self.corpus,
            "level": self.level,
            "seconds": self.seconds,
            "steps": self.steps,
            "budget": self.budget(),
            "split": self.split,
            "title": self.title(),
            "group": self.group,
            "train_tokens": self.train_tokens,
            "stopped": self.stopped,
            "stopped_run": self.stopped_run,
            "rows": [asdict(r) for r in self.rows],
            "verdict": self.verdict,
        }

    def budget(self) -> str:
        """The budget in words: what every neural model got."""
        parts = []
        if self.steps:
            parts.append(f"{self.steps:,} steps")
        if self.seconds:
            parts.append(f"{self.seconds:g} s of training steps")
        return " or ".join(parts) or "no budget"

    def title(self) -> str:
        spelled = "; bits/char with each <unk> word spelled out" if self.level == "word" else ""
        head = f"{self.corpus}: {self.level} models, {self.budget()} each"
        return f"{head}, scored on the {self.split} text{spelled}"

    COLUMNS = (
        "model",
        "params",
        "bytes",
        "steps",
        "tokens",
        "train s",
        "test ppl",
        "bits/char",
        "excl. <unk>",
        "<unk>",
    )

    def cells(self, row: Row) -> list[str]:
        return row_cells(asdict(row))

    def markdown(self) -> str:
        lines = [
            f"# {self.title()}",
            "",
            "steps and tokens: what each model's budget bought (tokens read: steps x batch x k1; an n-gram "
            "counts the training text once); train s: seconds inside training steps, evaluations excluded.",
            "",
            "| " + " | ".join(self.COLUMNS) + " |",
            "|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.COLUMNS))) + "|",
        ]
        lines += ["| " + " | ".join(self.cells(r)) + " |" for r in self.rows]
        return "\n".join([*lines, "", self.verdict, ""])

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            [
                "model",
                "run",
                "parameters",
                "size_bytes",
                "steps",
                "tokens",
                "train_seconds",
                "test_ppl",
                "test_bits_per_char",
                "test_ppl_excl_oov",
                "test_unk_rate",
            ]
        )
        for r in self.rows:
            writer.writerow(
                [
                    r.label,
                    r.run,
                    r.parameters,
                    r.size_bytes,
                    "" if r.steps is None else r.steps,
                    r.tokens,
                    f"{r.train_seconds:.3f}",
                    "inf" if r.test_ppl is None else f"{r.test_ppl:.4f}",
                    "inf" if r.test_bits_per_char is None else f"{r.test_bits_per_char:.4f}",
                    "" if r.test_ppl_excl_oov is None else f"{r.test_ppl_excl_oov:.4f}",
                    f"{r.test_unk_rate:.4f}",
                ]
            )
        return out.getvalue()


def row_cells(r: dict[str, Any]) -> list[str]:
    """A row (a Row as a dict, as the app reads it from JSON) as the table's text, in COLUMNS order."""

    def f(x: float | None, fmt: str) -> str:
        return "∞" if x is None else format(x, fmt)

    return [
        r["label"],
        short(r["parameters"]),
        short(r["size_bytes"]),
        "1 pass" if r["steps"] is None else f"{r['steps']:,}",
        short(r["tokens"]),
        f"{r['train_seconds']:.2f}",
        f(r["test_ppl"], ".2f"),
        f(r["test_bits_per_char"], ".3f"),
        "–" if r["test_ppl_excl_oov"] is None else f"{r['test_ppl_excl_oov']:.2f}",
        f"{r['test_unk_rate']:.1%}",
    ]


def short(n: int) -> str:
    """A count that fits a narrow column: 1,944, 208k, 4.1M (the CSV and JSON keep every digit)."""
    if n < 10_000:
        return f"{n:,}"
    return f"{n / 1e3:.0f}k" if n < 999_500 else f"{n / 1e6:.1f}M"


def run_names(corpus: str, labels: list[str], group: str) -> list[str]:
    """The comparison's run names: its group, the text, the model (cmp3-scripts-lstm)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(corpus).stem).strip("-._")[:40] or "text"
    return [f"{group}-{stem}-{label}" for label in labels]


def jobs(
    corpus: str,
    labels: list[str],
    seconds: float | None,
    level: str,
    encoding: str | None = None,
    seed: int = 1337,
    steps: int | None = None,
    group: str = "",
) -> list[tuple[str, Any]]:
    """The training job of each label: its preset, with the shared budget, seed and group."""
    from lmtui.presets import preset_configs
    from lmtui.training import Job

    out = []
    names = run_names(corpus, labels, group) if group else [None] * len(labels)
    for label, name in zip(labels, names, strict=True):
        order = MODEL_RE.match(label)
        model_cfg, train_cfg = preset_configs("ngram" if order else label, level, "small")
        if order:
            model_cfg = replace(model_cfg, order=int(order.group(1)))
        else:
            # the budget is training work: seconds inside training steps (evaluations and start-up
            # excluded, so a model's share does not depend on what its evaluations cost or on the machine's
            # other load), or a number of steps; no wall-clock limit, so the final scoring always happens
            train_cfg = replace(train_cfg, max_seconds=None, train_seconds=seconds, steps=steps)
        train_cfg = replace(train_cfg, seed=seed)
        job = Job(corpus, model_cfg, train_cfg, name=name, encoding=encoding, group=group or None)
        out.append((label, job))
    return out


def weights(labels: list[str], seconds: float | None, train_tokens: int = 0) -> list[float]:
    """Each model's share of the work, for a progress bar by work done: a neural model's budget, an n-gram's
    counting (a small share, larger for higher orders and longer texts)."""
    out = []
    for label in labels:
        order = MODEL_RE.match(label)
        if not order:
            out.append(1.0)
        elif seconds:  # counting costs about 0.15 s per order per million tokens (two busy cores)
            out.append(min(1.0, max(NGRAM_SHARE, 1.5e-7 * int(order.group(1)) * train_tokens / seconds)))
        else:
            out.append(NGRAM_SHARE)
    return out


def run_comparison(
    corpus: str,
    labels: list[str],
    seconds: float | None,
    level: str = "char",
    encoding: str | None = None,
    control: Any = None,
    steps: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Train each model in turn; yield progress dicts ("group", "model", "progress", "row") and finally
    ("done", the Comparison). A stop (``control.stop``) ends it after the model in training has saved itself
    (its run "stopped"): the result then holds the models finished before it."""
    from lmtui import runs
    from lmtui.control import StopNow
    from lmtui.corpus import load_text, split_text
    from lmtui.training import train

    if not seconds and not steps:
        raise ValueError("a comparison needs a budget: seconds or steps")
    info, text = load_text(corpus, encoding)
    splits = split_text(text, info.unit)
    test_chars, train_chars = len(splits.test), len(splits.train)
    # word level: a <unk> is one cheap token; its letters are charged to make bits/char a char run's figure
    test_text = splits.test if level == "word" else ""
    del text, splits
    group = runs.new_group()
    planned = jobs(corpus, labels, seconds, level, encoding, steps=steps, group=group)
    yield {"event": "group", "group": group, "runs": [job.name for _, job in planned]}
    rows: list[Row] = []
    result = Comparison(info.name, level, seconds, rows, steps=steps, group=group)
    shares = weights(labels, seconds, train_chars if level == "char" else train_chars // 6)
    total, done = sum(shares), 0.0
    for i, (label, job) in enumerate(planned):
        if control is not None and control.stop:  # stopped as the model before it finished: not begun
            result.stopped = label
            break
        yield {"event": "model", "index": i, "count": len(labels), "label": label, "run": job.name,
               "overall": done / total}  # fmt: skip
        trained = Trained(label)
        try:
            for ev in train(job, control):
                if trained.read(ev, seconds, steps):
                    overall = (done + shares[i] * trained.progress) / total
                    yield {"event": "progress", "label": label, "progress": trained.progress,
                           "overall": overall}  # fmt: skip
        except StopNow:  # stopped while it was starting: no run was made for it
            pass
        if control is not None and control.stop and not trained.finished():
            result.stopped, result.stopped_run = label, trained.run  # its run (if made) is "stopped"
            break
        result.train_tokens = trained.train_tokens
        row = trained.row(job.name, test_chars, encoding, test_text)
        rows.append(row)
        done += shares[i]
        yield {"event": "row", "row": asdict(row), "overall": done / total}
    result.verdict = verdict(result)
    yield {"event": "done", "result": result}


class Trained:
    """What one model's training events tell the table: its run, its clocks, its curves."""

    def __init__(self, label: str):
        self.label = label
        self.run = ""
        self.reason = ""  # how its training ended (the finished event's reason)
        self.train_tokens = 0
        self.steps: int | None = None
        self.tokens = 0
        self.seconds = 0.0
        self.progress = 0.0
        self.scale: float | None = None  # nats per token -> bits per character
        self.losses: list[tuple[float, float]] = []
        self.val_curve: list[tuple[float, float]] = []

    def finished(self) -> bool:
        """Did its training end on its own, fully scored (a stop may come just after: an n-gram counting)?"""
        from lmtui import runs

        ended = self.reason in ("done", "steps", "time", "overfit") and bool(self.run)
        return ended and not runs.load_run(self.run).meta.get("eval_pending")

    def read(self, ev: Any, seconds: float | None, steps: int | None) -> bool:
        """Take in one training event; True when the model's progress moved."""
        from lmtui.events import Eval, Finished, NgramCounts, Started, Step

        if isinstance(ev, Finished):
            self.reason = ev.reason
        elif isinstance(ev, Started):
            self.run, self.train_tokens = ev.run, ev.train_tokens
        elif isinstance(ev, NgramCounts):  # one counting pass over the training split
            self.seconds, self.tokens, self.progress = ev.seconds, self.train_tokens, 1.0
            return True
        elif isinstance(ev, Eval) and ev.bits_per_char is not None and ev.val_loss:
            self.scale = ev.bits_per_char / ev.val_loss
            if ev.scope == "slice":
                self.val_curve.append((self.seconds, ev.bits_per_char))  # right after its step's event
        elif isinstance(ev, Step):
            self.steps = ev.step
            self.seconds = ev.step_seconds if ev.step_seconds is not None else ev.elapsed
            self.tokens = ev.tokens or 0
            self.losses.append((self.seconds, ev.train_loss))
            parts = [self.seconds / seconds if seconds else 0.0, ev.step / steps if steps else 0.0]
            self.progress = max(self.progress, min(max(parts), 1.0))
            return True
        return False

    def row(self, name: str | None, test_chars: int, encoding: str | None, test_text: str = "") -> Row:
        """The table's row, from the run's stored metrics (scored in full first if that was left pending).
        With ``test_text`` (word level), bits/char charges every <unk> word the bits of spelling it out
        (lab.scoring.unk_spelling), so word and char rows compare."""
        from lmtui import runs
        from lmtui.training import _bits_per_char

        run_name = self.run or name or ""
        run = runs.load_run(run_name)
        if run.meta.get("eval_pending"):  # the table needs the whole test split scored
            from lmtui.training import complete_evaluation

            complete_evaluation(run_name, encoding)
            run = runs.load_run(run_name)
        m = run.metrics
        loss, test_tokens = m.get("test_loss"), int(m.get("test_tokens") or 0)
        bits = _bits_per_char(loss, test_tokens - 1, test_chars) if isinstance(loss, float) else None
        if bits is not None and test_text:
            from lmtui.lab.scoring import unk_spelling

            bits += unk_spelling(run.tokenizer(), test_text).bits / max(test_chars, 1)
        unk = float(m.get("test_unk_rate") or 0.0)
        return Row(
            label=self.label,
            run=run_name,
            parameters=int(m.get("parameters") or 0),
            size_bytes=int(m.get("size_bytes") or 0),
            steps=self.steps,
            tokens=self.tokens,
            train_seconds=self.seconds,
            test_ppl=m.get("test_ppl"),
            test_bits_per_char=bits,
            # no <unk> at all: excluding them changes nothing; a few (< 0.1 %) were not scored apart (None)
            test_ppl_excl_oov=m.get("test_ppl_excl_oov", m.get("test_ppl") if not unk else None),
            test_unk_rate=unk,
            curve=[(t, x * self.scale) for t, x in self.losses] if self.scale else [],
            val_curve=self.val_curve,
        )


def verdict(c: Comparison) -> str:
    """Say plainly which family wins at this budget and why: what the budget bought each (steps, tokens, the
    share of the training text read); when n-grams win, the budget at which the order might flip."""
    if c.stopped:
        where = (
            f"while training {c.stopped}: its run {c.stopped_run} is kept, stopped"
            if c.stopped_run
            else f"before {c.stopped} began"
        )
        kept = f"the {len(c.rows)} finished before it are in the table" if c.rows else "none had finished"
        return (
            f"Comparison {c.group} stopped {where}; {kept}. Its runs are one group in the Runs table "
            f"(`lmtui delete --group {c.group}` deletes them)."
        )
    if not c.rows:
        return ""

    def bpc(r: Row) -> float:
        return r.test_bits_per_char if r.test_bits_per_char is not None else math.inf

    grams = [r for r in c.rows if not r.neural]
    nets = [r for r in c.rows if r.neural]
    if not grams or not nets:
        best = min(c.rows, key=bpc)
        return f"Best: {best.label} at {bpc(best):.3f} bits/char on the {c.split} text."
    g, n = min(grams, key=bpc), min(nets, key=bpc)
    bought = (
        f"In its {n.train_seconds:.1f} s of training steps {n.label} took {n.steps or 0:,} steps and read "
        f"{n.tokens:,} tokens ({_passes(n.tokens, c.train_tokens)}); {g.label} counted all "
        f"{g.tokens:,} training tokens once in {g.train_seconds:.2g} s."
    )
    if bpc(n) <= bpc(g):
        return (
            f"With {c.budget()} per model the neural models win on the {c.split} text: {n.label} reaches "
            f"{bpc(n):.3f} bits/char against the best n-gram ({g.label}) at {bpc(g):.3f}. {bought}"
        )
    head = (
        f"With {c.budget()} per model the n-grams win on the {c.split} text: {g.label} reaches "
        f"{bpc(g):.3f} bits/char, the best neural model ({n.label}) {bpc(n):.3f}. {bought} Counting is "
        f"fast; gradient descent needs many steps."
    )
    needed = budget_to_reach(n.curve, bpc(g), n.test_bits_per_char) if (n.steps or 0) >= MIN_STEPS else None
    now = n.train_seconds or c.seconds or 1.0
    if needed is None:
        return head + f" Train them longer (try --max-seconds {now * 4:.0f}) to see where they cross."
    if needed > 100 * now:
        return head + (
            f" Extrapolating {n.label}'s training curve (a rough guide), it would need more than "
            f"{100 * now:,.0f} s of training steps to overtake."
        )
    return head + (
        f" Extrapolated from {n.label}'s training curve (a rough guide), the order flips at about "
        f"{needed:,.0f} s of training steps per model or later: a lower bound, since its learning rate "
        f"decays over its budget and steepens the curve's end (try --max-seconds "
        f"{math.ceil(needed / 10) * 20:g})."
    )


def _passes(tokens: int, train_tokens: int) -> str:
    """How much of the training text a model read, in words."""
    if not train_tokens:
        return "of the training text"
    share = tokens / train_tokens
    return f"{share:.1%} of one pass over the training text" if share < 1 else (
        f"{share:.2g} passes over the training text"
    )


def budget_to_reach(
    curve: list[tuple[float, float]], target: float, final: float | None = None
) -> float | None:
    """Seconds at which a curve, fitted as bits/char = a + b log(t) on its later half, reaches ``target``.

    The curve is the training loss; ``final`` (the test bits/char at the end) shifts it so that it ends
    there, since a model is judged on text it did not train on. None when the curve is not falling.
    """
    points = sorted((t, y) for t, y in curve if t > 0 and math.isfinite(y))
    if len(points) < 4:
        return None
    t = np.array([p[0] for p in points])
    y = np.array([p[1] for p in points])
    bins = np.array_split(np.arange(len(t)), min(10, len(t)))  # average the noisy per-step losses
    x = np.array([np.log(t[b]).mean() for b in bins])
    v = np.array([y[b].mean() for b in bins])
    if final is not None:
        v = v + (final - v[-1])
    x, v = x[len(x) // 2 :], v[len(v) // 2 :]
    if np.ptp(x) == 0:
        return None
    b, a = np.polyfit(x, v, 1)
    if b >= 0:
        return None  # not improving: no honest extrapolation
    return float(math.exp(min((target - a) / b, 700.0)))
