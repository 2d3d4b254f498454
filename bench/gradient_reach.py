"""Cost of measuring gradient reach at each evaluation (issue 11 item 4: must not slow training by > 5 %).

For each recurrent kind with the ``small`` char preset on ``scripts``: the median time of one training step
(from the Step events of a short run, steps/elapsed) against the median time of one ``gradient_reach`` call
(K = seq_len, 16 windows), and the overhead that gives at the preset's cadence (one measurement per
``eval_every`` steps) and at a 10x denser cadence. Also one end-to-end pair of runs, with the measurement
on and off, for the same number of steps (noisy on a shared machine: read it as a sanity check).

    python bench/gradient_reach.py [--quick] [--json out.json]
"""

from __future__ import annotations

import functools
import os
import tempfile
import time

from common import machine, median, parser, write_json


def main() -> None:
    args = parser(__doc__).parse_args()
    os.environ["LMTUI_HOME"] = tempfile.mkdtemp(prefix="lmtui-bench-")
    import torch

    from lmtui import runs, training
    from lmtui.corpus import load_text, split_text
    from lmtui.events import Step
    from lmtui.lab.gradients import gradient_reach
    from lmtui.presets import preset_configs
    from lmtui.threads import limit
    from lmtui.training import Job, train

    torch.set_num_threads(limit())
    steps = 60 if args.quick else 300
    out = {"machine": machine(), "kinds": {}}
    for kind in ("rnn", "lstm", "gru"):
        model_cfg, train_cfg = preset_configs(kind, "char", "small")
        cfg = train_cfg.__class__(**{**train_cfg.to_dict(), "steps": steps, "max_seconds": None,
                                     "eval_every": 10**9, "device": "cpu"})
        timings = {}
        for label, hook in (("off", lambda *a, **k: iter(())), ("on", training._gradient_reach)):
            training._gradient_reach = hook
            cfg_eval = cfg.__class__(**{**cfg.to_dict(), "eval_every": steps // 3})
            t0 = time.perf_counter()
            events = list(train(Job("scripts", model_cfg, cfg_eval, name=f"{kind}-{label}")))
            timings[label] = time.perf_counter() - t0
        training._gradient_reach = hook
        last = [e for e in events if isinstance(e, Step)][-1]
        step_s = last.elapsed / last.step  # includes the evaluations: an upper bound on one step's time
        run = runs.load_run(f"{kind}-on")
        model = run.load_model()
        val = run.tokenizer().encode(split_text(load_text("scripts")[1]).val)
        repeats = 5 if args.quick else 15
        measure = functools.partial(gradient_reach, model, val, cfg.seq_len)
        reach_s = median([_time(measure) for _ in range(repeats)])
        out["kinds"][kind] = {
            "step_s": step_s,
            "reach_s": reach_s,
            "overhead_at_preset": reach_s / (train_cfg.eval_every * step_s),
            "overhead_at_10x_evals": reach_s / (train_cfg.eval_every / 10 * step_s),
            "end_to_end_s": timings,
            "steps": steps,
            "eval_every_preset": train_cfg.eval_every,
        }
        print(f"{kind}: step {step_s * 1e3:.1f} ms, reach {reach_s * 1e3:.1f} ms -> "
              f"{out['kinds'][kind]['overhead_at_preset']:.3%} at eval_every={train_cfg.eval_every}, "
              f"{out['kinds'][kind]['overhead_at_10x_evals']:.2%} at 10x; end to end off/on "
              f"{timings['off']:.1f}/{timings['on']:.1f} s")
    write_json(args.json, "gradient_reach", out)


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
