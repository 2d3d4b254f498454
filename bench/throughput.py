"""Training throughput of a char LSTM step by precision and thread count (issue 12's levers).

One step = forward, loss, backward, gradient clipping and an AdamW update, as ``lmtui.training`` does it, on
random tokens (65-character vocabulary, like tinyshakespeare). Each cell is timed for a few seconds after
three warm-up steps, in a fresh process per thread count (torch fixes its thread pool at first use).

    python bench/throughput.py [--configs 384x1x64x32,512x2x64x64] [--threads 1,2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from common import parser, seconds_per_step, write_json

# hidden x layers x batch x seq_len
DEFAULT_CONFIGS = "256x1x32x32,384x1x64x32,512x2x32x32,512x2x64x64,384x2x128x32"


def measure(threads: int, config: str, precision: str, seconds: float) -> dict:
    import torch
    from torch import nn
    from torch.nn import functional as F

    from lmtui.training import mixed_precision

    torch.set_num_threads(threads)
    hidden, layers, batch, seq = (int(v) for v in config.split("x"))
    vocab, embed = 65, 128 if layers > 1 else 64
    emb, out = nn.Embedding(vocab, embed), nn.Linear(hidden, vocab)
    rnn = nn.LSTM(embed, hidden, layers, batch_first=True)
    params = [*emb.parameters(), *rnn.parameters(), *out.parameters()]
    opt = torch.optim.AdamW(params, lr=1e-3)
    autocast = mixed_precision(precision, "cpu")
    x, y = torch.randint(0, vocab, (batch, seq)), torch.randint(0, vocab, (batch, seq))

    def step() -> None:
        with autocast():
            logits = out(rnn(emb(x))[0])
        loss = F.cross_entropy(logits.float().reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    per_step = seconds_per_step(step, seconds)
    return {
        "threads": threads,
        "config": config,
        "precision": precision,
        "ms_per_step": round(per_step * 1000, 1),
        "tokens_per_s": round(batch * seq / per_step),
    }


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--configs", default=DEFAULT_CONFIGS)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # threads config precision, in a fresh process
    args = p.parse_args()
    if args.child:
        threads, config, precision = args.child
        print(json.dumps(measure(int(threads), config, precision, args.seconds)))
        return
    rows = []
    for config in args.configs.split(","):
        for threads in args.threads.split(","):
            for precision in ("fp32", "bf16"):
                cmd = [sys.executable, __file__, "--seconds", str(args.seconds), "--child", threads, config]
                cmd.append(precision)
                row = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
                rows.append(row)
                print(
                    f"{config:14s} {threads} thread(s) {precision}: {row['ms_per_step']:7.1f} ms/step "
                    f"{row['tokens_per_s']:>8,} tokens/s",
                    flush=True,
                )
    write_json(args.json, "throughput", {"rows": rows})


if __name__ == "__main__":
    main()
