"""The perplexity table: several models trained on the same split and vocabulary, each with the same budget.

Every model goes through the one training loop (``lmtui.training.train``) with its ``small`` preset and the
same time budget; since the tokenizer is built deterministically from the same training split, all rows
share one vocabulary, so their perplexities are comparable. Bits per character compares char and word runs
too. When the best n-gram beats every neural model, the verdict says so, and estimates the budget that would
change it by extrapolating the best neural model's training curve (a rough guide, labelled as such).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_MODELS = ("1gram", "2gram", "3gram", "4gram", "5gram", "window", "rnn", "lstm", "gru")
NEURAL = ("window", "rnn", "lstm", "gru")
MODEL_RE = re.compile(r"^([1-6])gram$")


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
    train_seconds: float
    val_ppl: float | None
    test_ppl: float | None
    bits_per_char: float | None
    ppl_excl_oov: float | None
    unk_rate: float
    # (seconds, bits/char) while training: the training loss, scaled to bits per character of the
    # validation text (dense: what the budget extrapolation fits)
    curve: list[tuple[float, float]] = field(default_factory=list)
    # (seconds, bits/char) at each evaluation during training, on the run's fixed validation slice: the
    # validation curve the Compare screen overlays (evaluations come by time, ~10 a run)
    val_curve: list[tuple[float, float]] = field(default_factory=list)

    @property
    def neural(self) -> bool:
        return self.label in NEURAL


@dataclass
class Comparison:
    corpus: str
    level: str
    seconds: float
    rows: list[Row]
    verdict: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "corpus": self.corpus,
            "level": self.level,
            "seconds": self.seconds,
            "rows": [asdict(r) for r in self.rows],
            "verdict": self.verdict,
        }

    COLUMNS = (
        "model",
        "parameters",
        "size (bytes)",
        "train s",
        "val ppl",
        "test ppl",
        "bits/char",
        "ppl excl. OOV",
        "<unk>",
    )

    def cells(self, row: Row) -> list[str]:
        def f(x: float | None, fmt: str) -> str:
            return "∞" if x is None else format(x, fmt)

        return [
            row.label,
            f"{row.parameters:,}",
            f"{row.size_bytes:,}",
            f"{row.train_seconds:.2f}",
            f(row.val_ppl, ".2f"),
            f(row.test_ppl, ".2f"),
            f(row.bits_per_char, ".3f"),
            "–" if row.ppl_excl_oov is None else f"{row.ppl_excl_oov:.2f}",
            f"{row.unk_rate:.1%}",
        ]

    def markdown(self) -> str:
        lines = [
            f"# {self.corpus}: {self.level} models, {self.seconds:g} s each",
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
                "train_seconds",
                "val_ppl",
                "test_ppl",
                "bits_per_char",
                "ppl_excl_oov",
                "unk_rate",
            ]
        )
        for r in self.rows:
            writer.writerow(
                [
                    r.label,
                    r.run,
                    r.parameters,
                    r.size_bytes,
                    f"{r.train_seconds:.3f}",
                    "inf" if r.val_ppl is None else f"{r.val_ppl:.4f}",
                    "inf" if r.test_ppl is None else f"{r.test_ppl:.4f}",
                    "" if r.bits_per_char is None else f"{r.bits_per_char:.4f}",
                    "" if r.ppl_excl_oov is None else f"{r.ppl_excl_oov:.4f}",
                    f"{r.unk_rate:.4f}",
                ]
            )
        return out.getvalue()


def jobs(
    corpus: str, labels: list[str], seconds: float, level: str, encoding: str | None = None, seed: int = 1337
) -> list[tuple[str, Any]]:
    """The training job of each label: its preset, with the shared budget and seed."""
    from lmtui import runs
    from lmtui.presets import preset_configs
    from lmtui.training import Job

    out = []
    for label in labels:
        order = MODEL_RE.match(label)
        model_cfg, train_cfg = preset_configs("ngram" if order else label, level, "small")
        if order:
            model_cfg = replace(model_cfg, order=int(order.group(1)))
        else:
            # the budget is training work: seconds of training steps, evaluations and start-up excluded, so
            # a model's share does not depend on what its evaluations cost or on the machine's other load
            train_cfg = replace(train_cfg, max_seconds=None, train_seconds=seconds, steps=None)
        train_cfg = replace(train_cfg, seed=seed)
        # named for what they are ("scripts-3gram-char"), not five "scripts-ngram-char-N" runs
        name = runs.unique_name(f"{Path(corpus).stem or 'text'}-{label}-{level}")
        out.append((label, Job(corpus, model_cfg, train_cfg, name=name, encoding=encoding)))
    return out


def run_comparison(
    corpus: str,
    labels: list[str],
    seconds: float,
    level: str = "char",
    encoding: str | None = None,
    control: Any = None,
) -> Iterator[dict[str, Any]]:
    """Train each model in turn; yield progress dicts ("model", "row") and finally ("done", comparison)."""
    from lmtui import runs
    from lmtui.events import Eval, Started, Step
    from lmtui.training import train

    rows = []
    name = corpus
    for i, (label, job) in enumerate(jobs(corpus, labels, seconds, level, encoding)):
        yield {"event": "model", "index": i, "count": len(labels), "label": label}
        run_name, losses, scale, val_curve = "", [], None, []
        for ev in train(job, control):
            if isinstance(ev, Started):
                run_name, name = ev.run, ev.corpus
            elif isinstance(ev, Eval) and ev.bits_per_char is not None and ev.val_loss:
                scale = ev.bits_per_char / ev.val_loss  # nats per token -> bits per character
                if ev.scope == "slice":
                    val_curve.append((ev.elapsed, ev.bits_per_char))
            elif isinstance(ev, Step):
                losses.append((ev.elapsed, ev.train_loss))
                yield {"event": "progress", "label": label, "progress": ev.progress}
        if control is not None and control.stop:
            return
        run = runs.load_run(run_name)
        if run.meta.get("eval_pending"):  # a budget too short for the full evaluation: the table needs it
            from lmtui.training import complete_evaluation

            complete_evaluation(run_name, encoding)
            run = runs.load_run(run_name)
        m = run.metrics
        row = Row(
            label=label,
            run=run_name,
            parameters=int(m.get("parameters") or 0),
            size_bytes=int(m.get("size_bytes") or 0),
            train_seconds=float(m.get("train_seconds") or 0.0),
            val_ppl=m.get("val_ppl"),
            test_ppl=m.get("test_ppl"),
            bits_per_char=m.get("bits_per_char"),
            # no <unk> at all: excluding them changes nothing; a few (< 0.1 %) were not scored apart (None)
            ppl_excl_oov=m.get("val_ppl_excl_oov", m.get("val_ppl") if not m.get("val_unk_rate") else None),
            unk_rate=float(m.get("val_unk_rate") or 0.0),
            curve=[(t, loss * scale) for t, loss in losses] if scale else [],
            val_curve=val_curve,
        )
        rows.append(row)
        yield {"event": "row", "row": asdict(row)}
    result = Comparison(name, level, seconds, rows)
    result.verdict = verdict(result)
    yield {"event": "done", "result": result}


def verdict(c: Comparison) -> str:
    """Say plainly which family wins at this budget, and (when n-grams win) what budget might change it."""

    def bpc(r: Row) -> float:
        return r.bits_per_char if r.bits_per_char is not None else math.inf

    grams = [r for r in c.rows if not r.neural]
    nets = [r for r in c.rows if r.neural]
    if not grams or not nets:
        best = min(c.rows, key=bpc)
        return f"Best: {best.label} at {bpc(best):.3f} bits/char."
    g, n = min(grams, key=bpc), min(nets, key=bpc)
    if bpc(n) <= bpc(g):
        return (
            f"At {c.seconds:g} s per model the neural models win: {n.label} reaches {bpc(n):.3f} bits/char "
            f"against the best n-gram ({g.label}) at {bpc(g):.3f}."
        )
    head = (
        f"At {c.seconds:g} s per model the n-grams win: {g.label} reaches {bpc(g):.3f} bits/char, "
        f"the best neural model ({n.label}) {bpc(n):.3f}. Counting is fast; gradient descent needs time."
    )
    needed = budget_to_reach(n.curve, bpc(g), n.bits_per_char)
    if needed is None:
        return (
            head
            + f" Train the neural models longer (try --seconds {c.seconds * 4:g}) to see where they cross."
        )
    if needed > 100 * c.seconds:
        return head + f" Extrapolating {n.label}'s curve, it would need more than {100 * c.seconds:g} s."
    return head + (
        f" Extrapolating {n.label}'s training curve, it needs at least ~{needed:,.0f} s per model: "
        f"a lower bound, since its learning rate decays over its budget and steepens the curve's end "
        f"(try --seconds {math.ceil(needed / 10) * 20:g})."
    )


def budget_to_reach(
    curve: list[tuple[float, float]], target: float, final: float | None = None
) -> float | None:
    """Seconds at which a curve, fitted as bits/char = a + b log(t) on its later half, reaches ``target``.

    The curve is the training loss; ``final`` (the validation bits/char at the end) shifts it so that it ends
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
