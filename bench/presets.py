"""Every preset as a point on a time-to-quality curve, beside nanoGPT's CPU recipe (issue 12).

Both tools train on the first 90 % of tinyshakespeare's ``input.txt`` (karpathy/char-rnn) and are scored on
the last 10 %, nanoGPT's own validation text. lmtui's usual 90/5/5 split is swapped for that one here (the
only change to the engine's path): its evaluations during training score a fixed slice of that text, its
closing evaluation the whole of it. Each run is a whole ``lmtui train input.txt --preset P`` session through
``lmtui.training.train``; the curve's x axis is wall time from the session's start (start-up, evaluations
and the closing evaluation included). nanoGPT runs from a checkout given with ``--nanogpt`` (its README's
CPU recipe, unchanged); its curve is its own periodic validation estimate. Nothing of nanoGPT is shipped.

    python bench/presets.py --text input.txt [--nanogpt ~/nanoGPT] [--presets quick,small,large]
        [--model lstm] [--set lr=0.01 ...] [--plot bench/results/presets.png] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from common import parse_value, parser, write_json

NANOGPT_CPU_RECIPE = [  # nanoGPT README's "I only have a macbook" command, unchanged
    "config/train_shakespeare_char.py", "--device=cpu", "--compile=False", "--eval_iters=20",
    "--log_interval=1", "--block_size=64", "--batch_size=12", "--n_layer=4", "--n_head=4", "--n_embd=128",
    "--max_iters=2000", "--lr_decay_iters=2000", "--dropout=0.0",
]  # fmt: skip


def nanogpt_split(text: str):
    """nanoGPT's split: train = first 90 % of the characters, validation = the rest (test: the same text,
    so the closing evaluation costs what a usual run's val + test would)."""
    from lmtui.corpus import Splits

    cut = int(len(text) * 0.9)
    return Splits(text[:cut], text[cut:], text[cut:])


def run_lmtui(
    corpus: str, model: str, level: str, preset: str, overrides: dict, nanogpt: bool, full_evals: bool
) -> dict:
    import lmtui.training as training
    from lmtui.corpus import split_text
    from lmtui.models import ModelConfig
    from lmtui.presets import preset_configs

    training.split_text = (lambda text, *a, **k: nanogpt_split(text)) if nanogpt else split_text
    if full_evals:  # every evaluation scores the whole validation text, so the curve is on one text
        training.slice_tokens = lambda tokens_per_s, gap, available: available
    model_cfg, train_cfg = preset_configs(model, level, preset)
    model_fields = set(ModelConfig.__dataclass_fields__)
    model_cfg = replace(model_cfg, **{k: v for k, v in overrides.items() if k in model_fields})
    train_cfg = replace(train_cfg, **{k: v for k, v in overrides.items() if k not in model_fields})
    job = training.Job(corpus, model_cfg, train_cfg)
    t0 = time.perf_counter()
    curve, rates, started, finished, sample = [], [], None, None, ""
    for ev in training.train(job):
        kind = type(ev).__name__
        if kind == "Started":
            started = ev
        elif kind == "Step":
            rates.append(ev.tokens_per_s)
        elif kind == "Eval":
            curve.append((round(time.perf_counter() - t0, 2), ev.step, round(ev.val_loss, 4)))
        elif kind == "Sample":
            sample = ev.text
        elif kind == "Finished":
            finished = ev
    wall = time.perf_counter() - t0
    assert finished is not None and started is not None
    val_loss = finished.val_loss
    if finished.eval_pending:  # scored after the session, outside its time
        val_loss = training.complete_evaluation(finished.run)["val_loss"]
    else:
        curve.append((round(wall, 2), finished.step, round(val_loss, 4)))
    rates.sort()
    return {
        "tool": "lmtui",
        "preset": preset,
        "model": model,
        "level": level,
        "overrides": overrides,
        "params": started.parameters,
        "wall_s": round(wall, 1),
        "steps": finished.step,
        "tokens_per_s": round(rates[len(rates) // 2]) if rates else None,
        "val_loss": round(val_loss, 4),
        "val_ppl": round(math.exp(val_loss), 2),
        "eval_pending": finished.eval_pending,
        "curve": curve,  # (wall s, step, val loss): slices during training, the whole text at the end
        "last_sample": sample,  # what it wrote at its last evaluation (the engine samples at temperature 0.8)
    }


def run_nanogpt(checkout: Path, text_path: Path) -> dict:
    """nanoGPT's README CPU recipe in a scratch copy of the checkout; its log lines are timed as they come."""
    work = Path(tempfile.mkdtemp(prefix="nanogpt-"))
    shutil.copytree(checkout, work / "nanoGPT", ignore=shutil.ignore_patterns(".git"))
    root = work / "nanoGPT"
    data = root / "data" / "shakespeare_char"
    shutil.copy(text_path, data / "input.txt")
    subprocess.run([sys.executable, "prepare.py"], cwd=data, check=True, capture_output=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-u", "train.py", *NANOGPT_CPU_RECIPE],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    curve = []
    assert proc.stdout is not None
    for line in proc.stdout:
        m = re.match(r"step (\d+): train loss ([\d.]+), val loss ([\d.]+)", line)
        if m:
            curve.append((round(time.perf_counter() - t0, 2), int(m[1]), float(m[3])))
    proc.wait()
    wall = time.perf_counter() - t0
    shutil.rmtree(work, ignore_errors=True)
    if proc.returncode or not curve:
        raise SystemExit(f"nanoGPT failed (exit {proc.returncode})")
    return {
        "tool": "nanoGPT",
        "preset": "CPU recipe",
        "recipe": " ".join(NANOGPT_CPU_RECIPE),
        "wall_s": round(wall, 1),
        "steps": curve[-1][1],
        "val_loss": curve[-1][2],
        "curve": curve,
    }


def plot(rows: list[dict], path: Path, title: str, level: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for r in rows:
        xs = [p[0] for p in r["curve"]]
        ys = [p[2] for p in r["curve"]]
        name = r["model"] if r["tool"] == "lmtui" else r["tool"]
        name = "KN trigram" if name == "ngram" else f"{name} {r['preset']}"
        label = f"{name} ({r['val_loss']:.3f} at {r['wall_s']:.0f} s)"
        if r.get("model") == "ngram":  # counted in a second: drawn across as the line to beat
            ax.axhline(ys[0], color="black", linestyle="--", label=label)
            continue
        if r["tool"] == "lmtui":  # the closing evaluation (the whole text, best checkpoint) as a star
            (line,) = ax.plot(xs[:-1], ys[:-1], marker="o", markersize=3, label=label)
            ax.plot(xs[-1:], ys[-1:], marker="*", markersize=11, color=line.get_color(), linestyle="none")
        else:
            ax.plot(xs, ys, marker="o", markersize=3, label=label)
    if level == "char":
        ax.axhline(1.47, color="grey", linestyle=":", label="nanoGPT's README on an A100 (1.47)")
        ax.set_ylabel("validation loss (nats/char) on nanoGPT's validation text")
        ax.set_ylim(1.35, 2.6)
    else:
        ax.set_ylabel("validation loss (nats/word)")
        ax.set_ylim(4.5, 7.0)
    ax.set_xscale("log")
    ax.set_xlabel("wall time (s, log scale)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--text", type=Path, help="tinyshakespeare's input.txt: char level, nanoGPT's split")
    p.add_argument("--corpus", help="otherwise: a corpus (name or path) with lmtui's own split")
    p.add_argument("--level", default="char")
    p.add_argument("--ngram", action="store_true", help="also train the preset n-gram (KN trigram)")
    p.add_argument("--nanogpt", type=Path, help="a nanoGPT checkout: also run its CPU recipe")
    p.add_argument("--presets", default="quick,small,large")
    p.add_argument("--model", default="lstm", help="neural family (or families, comma-separated)")
    p.add_argument("--set", nargs="*", default=[], help="overrides, e.g. lr=0.01 hidden=384")
    p.add_argument(
        "--full-evals",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="score the whole validation text at every evaluation (default with --text), not the engine's "
        "fixed slice; it costs the run a few percent of its time",
    )
    p.add_argument("--plot", type=Path, help="draw the curves to this PNG or SVG (needs matplotlib)")
    p.add_argument("--from-json", type=Path, help="draw --plot from a run's --json file, training nothing")
    args = p.parse_args()
    if args.from_json:
        saved = json.loads(args.from_json.read_text(encoding="utf-8"))
        where = "tinyshakespeare" if args.text else f"{args.corpus}, {args.level} level"
        plot(saved["results"]["rows"], args.plot, f"Time to quality on {where}, 2 CPU cores", args.level)
        return
    os.environ.setdefault("LMTUI_HOME", tempfile.mkdtemp(prefix="lmtui-bench-"))
    overrides = {k: parse_value(v) for k, v in (s.split("=", 1) for s in args.set)}
    if (args.text is None) == (args.corpus is None):
        p.error("give --text (tinyshakespeare) or --corpus")
    corpus = str(args.text or args.corpus)
    if args.full_evals is None:
        args.full_evals = args.text is not None
    runs = [(m, preset) for preset in filter(None, args.presets.split(",")) for m in args.model.split(",")]
    if args.ngram:
        runs.insert(0, ("ngram", "small"))
    rows = []
    for model, preset in runs:
        r = run_lmtui(corpus, model, args.level, preset, overrides, args.text is not None, args.full_evals)
        rows.append(r)
        print(
            f"lmtui {preset:6s} {model}: {r['val_loss']:.4f} nats/token (ppl {r['val_ppl']}) on the val "
            f"text, wall {r['wall_s']} s, {r['steps']} steps, {r['tokens_per_s']} tokens/s, "
            f"{r['params']:,} params, "
            f"curve {[(c[0], c[2]) for c in r['curve']]}",
            flush=True,
        )
    if args.nanogpt:
        r = run_nanogpt(args.nanogpt, args.text)
        rows.append(r)
        print(f"nanoGPT CPU recipe: {r['val_loss']:.4f} (its estimate), wall {r['wall_s']} s", flush=True)
    write_json(args.json, "presets", {"overrides": overrides, "rows": rows})
    if args.plot:
        where = "tinyshakespeare" if args.text else f"{args.corpus}, {args.level} level"
        plot(rows, args.plot, f"Time to quality on {where}, 2 CPU cores", args.level)


if __name__ == "__main__":
    main()
