"""Neural time-to-quality (issue 5.4): the engine's own reported validation loss after a 15/30/60 s budget.

Each (model, level, budget) is one ``lmtui train``-equivalent run through ``lmtui.training.train`` with the
preset's values (``lmtui train scripts --model KIND --max-seconds S``): its budget counts evaluation time,
and the figure is the Finished event's validation loss (the best checkpoint's, on the full validation split).
Also reports training tokens/s (median of the Step events' rates) and steps done.

    python bench/neural.py [--kinds lstm,gru] [--levels char,word] [--budgets 15,30,60] [--set lr=0.004 ...]
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import replace

from common import median, parse_value, parser, write_json

CORPUS = {"char": "scripts", "word": "speeches"}


def run_one(kind: str, level: str, budget: float, preset: str, overrides: dict) -> dict:
    from lmtui.models import ModelConfig
    from lmtui.presets import preset_configs
    from lmtui.training import Job, train

    model_cfg, train_cfg = preset_configs(kind, level, preset)
    model_fields = set(ModelConfig.__dataclass_fields__)
    model_cfg = replace(model_cfg, **{k: v for k, v in overrides.items() if k in model_fields})
    train_cfg = replace(train_cfg, **{k: v for k, v in overrides.items() if k not in model_fields})
    train_cfg = replace(train_cfg, max_seconds=budget)
    job = Job(CORPUS[level], model_cfg, train_cfg)
    rates, evals, finished = [], [], None
    for ev in train(job):
        kind_ = type(ev).__name__
        if kind_ == "Step":
            rates.append(ev.tokens_per_s)
        elif kind_ == "Eval":
            evals.append((ev.step, round(ev.elapsed, 1), round(ev.val_loss, 4)))
        elif kind_ == "Finished":
            finished = ev
    assert finished is not None
    val_loss, val_ppl = finished.val_loss, finished.val_ppl
    if finished.eval_pending:  # the full evaluation did not fit the session: scored now, outside the budget
        from lmtui.training import complete_evaluation

        metrics = complete_evaluation(finished.run)
        val_loss, val_ppl = metrics["val_loss"], metrics["val_ppl"]
    bpc_factor = 1 / math.log(2)
    out = {
        "model": kind,
        "level": level,
        "budget_s": budget,
        "val_loss": val_loss,
        "val_ppl": val_ppl,
        "eval_pending": finished.eval_pending,
        "session_s": finished.session_seconds,
        "steps": finished.step,
        "elapsed_s": finished.elapsed,
        "tokens_per_s": median(rates[1:] or rates),
        "evals": evals,
        "overrides": overrides,
    }
    if level == "char":
        out["bits_per_char"] = val_loss * bpc_factor
    return out


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--kinds", default="window,rnn,lstm,gru")
    p.add_argument("--levels", default="char,word")
    p.add_argument("--budgets", default="15,30,60", help="char budgets; word level runs the last one only")
    p.add_argument("--preset", default="small")
    p.add_argument("--set", nargs="*", default=[], help="overrides, e.g. lr=0.004 eval_every=400")
    args = p.parse_args()
    os.environ.setdefault("LMTUI_HOME", tempfile.mkdtemp(prefix="lmtui-bench-"))
    overrides = {k: parse_value(v) for k, v in (s.split("=", 1) for s in args.set)}
    budgets = [float(b) for b in args.budgets.split(",")]
    rows = []
    for level in args.levels.split(","):
        for kind in args.kinds.split(","):
            for budget in budgets if level == "char" else budgets[-1:]:
                r = run_one(kind, level, budget, args.preset, overrides)
                rows.append(r)
                extra = (
                    f"{r['bits_per_char']:.3f} bits/char" if level == "char" else f"ppl {r['val_ppl']:.1f}"
                )
                print(
                    f"{level:4s} {kind:6s} {budget:4.0f} s: val {r['val_loss']:.4f} nats/token ({extra}), "
                    f"{r['steps']} steps, {r['tokens_per_s']:,.0f} tokens/s, evals {r['evals']}",
                    flush=True,
                )
    write_json(args.json, "neural", {"preset": args.preset, "overrides": overrides, "rows": rows})


if __name__ == "__main__":
    main()
