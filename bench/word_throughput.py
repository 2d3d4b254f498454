"""Word-level training throughput: the full softmax against the adaptive one, for the same nets (issue 21).

One step is what ``lmtui.neural_training`` does: the net's forward pass under the run's precision, the
exact log-probability of every target (``target_log_probs``), backward, gradient clipping and AdamW; on
windows of the speeches corpus's own training tokens (lmtui's split and 10,000-word vocabulary: the
adaptive softmax's speed depends on how often rare words come, so random tokens would flatter or wrong
it). Each cell runs in a fresh process for a few seconds after three warm-up steps, on both cores;
``--busy`` repeats every cell with a CPU hog (one process spinning) beside it, on the one core lmtui's
thread choice leaves it there (lmtui.threads: two threads beside a spinning process are slower than one).

    python bench/word_throughput.py [--busy] [--seconds 8] [--json bench/results/word_throughput.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import replace

from common import parser, seconds_per_step, write_json

# (label, model overrides, batch, seq_len): the small word preset's net before and after, and the large one
CELLS = [
    ("small net, full softmax", dict(softmax="full"), 32, 32),
    ("small net, adaptive softmax", dict(softmax="adaptive"), 32, 32),
    ("large net, full softmax", dict(softmax="full", hidden=512, embed=256), 64, 32),
    ("large net, adaptive softmax", dict(softmax="adaptive", hidden=512, embed=256), 64, 32),
]
SMALL_NET = dict(model="lstm", level="word", embed=128, hidden=256, layers=1, dropout=0.1)


def measure(index: int, precision: str, seconds: float, threads: int) -> dict:
    import numpy as np
    import torch

    from lmtui.models import ModelConfig, model_class
    from lmtui.neural_training import make_optimizer
    from lmtui.training import TrainConfig, mixed_precision, prepare_data

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    label, overrides, batch, seq = CELLS[index]
    data = prepare_data("speeches", "word", TrainConfig())
    vocab = len(data.tokenizer)
    config = replace(ModelConfig(**SMALL_NET), **overrides)
    model = model_class("lstm")(config, vocab)  # type: ignore[call-arg]
    net = model.net  # type: ignore[attr-defined]
    net.start_from_unigram(np.bincount(data.train, minlength=vocab)[:vocab])
    opt = make_optimizer(net, 1e-3, 0.01)
    autocast = mixed_precision(precision, "cpu")
    rng = np.random.default_rng(0)

    def step() -> None:
        starts = rng.integers(0, len(data.train) - seq - 1, size=batch)
        chunk = torch.from_numpy(data.train[starts[:, None] + np.arange(seq + 1)].astype(np.int64))
        net.train()
        with autocast():
            h, _ = net.features(chunk[:, :-1])
            loss = -net.target_log_probs(h, chunk[:, 1:]).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()

    per_step = seconds_per_step(step, seconds)
    return {
        "net": label,
        "hidden": config.hidden,
        "embed": config.embed,
        "softmax": config.softmax,
        "batch": batch,
        "seq_len": seq,
        "precision": precision,
        "threads": threads,
        "parameters": model.num_parameters(),
        "ms_per_step": round(per_step * 1000, 1),
        "tokens_per_s": round(batch * seq / per_step),
    }


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--precisions", default="bf16")
    p.add_argument("--busy", action="store_true", help="also measure every cell beside a spinning process")
    p.add_argument("--only-busy", action="store_true", help="measure beside a spinning process only")
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # cell precision threads, in a fresh process
    args = p.parse_args()
    if args.child:
        print(json.dumps(measure(int(args.child[0]), args.child[1], args.seconds, int(args.child[2]))))
        return
    rows = []
    loads = ("busy",) if args.only_busy else ("idle", "busy") if args.busy else ("idle",)
    for load in loads:
        for index in range(len(CELLS)):
            for precision in args.precisions.split(","):
                hog = subprocess.Popen([sys.executable, "-c", "while 1: pass"]) if load == "busy" else None
                try:
                    threads = "1" if load == "busy" else "2"
                    cmd = [sys.executable, __file__, "--seconds", str(args.seconds), "--child", str(index)]
                    cmd += [precision, threads]
                    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                finally:
                    if hog is not None:
                        hog.kill()
                        hog.wait()
                row = json.loads(out) | {"load": load}
                rows.append(row)
                print(
                    f"{load:4s} {row['net']:28s} {precision}: {row['ms_per_step']:7.1f} ms/step "
                    f"{row['tokens_per_s']:>8,} tokens/s",
                    flush=True,
                )
    write_json(args.json, "word_throughput", {"rows": rows})


if __name__ == "__main__":
    main()
