"""Cost of a resume checkpoint (last.safetensors: weights, AdamW state, hidden state), per preset.

Training saves one every ``--checkpoint-every`` seconds (default 30) besides those at evaluations; the cost of
that habit is one save's wall time divided by the interval. Each preset's char LSTM and word LSTM is built,
trained a few steps (so AdamW holds its moments), then saved ``repeat`` times into a temporary folder.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from common import median, parser, write_json


def measure(model: str, level: str, preset: str, vocab: int, repeat: int) -> dict[str, float]:
    import torch

    from lmtui.models import model_class
    from lmtui.presets import preset_configs
    from lmtui.training import TrainConfig
    from lmtui.training_state import save_checkpoint

    model_cfg, train_cfg = preset_configs(model, level, preset)
    assert isinstance(train_cfg, TrainConfig)
    lm = model_class(model)(model_cfg, vocab, "cpu")  # type: ignore[call-arg]
    net = lm.net  # type: ignore[attr-defined]
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    x = torch.randint(0, vocab, (train_cfg.batch_size, train_cfg.seq_len))
    state = None
    t0 = time.perf_counter()
    for _ in range(3):
        logits, state = net(x, state)
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), x.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    step_s = (time.perf_counter() - t0) / 3
    times = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "last.safetensors"
        for i in range(repeat):
            t0 = time.perf_counter()
            save_checkpoint(path, net, opt, i, 0, train_cfg.batch_size, state, 1.0)
            times.append(time.perf_counter() - t0)
        size = path.stat().st_size
    save = median(times)
    return {
        "parameters": sum(p.numel() for p in net.parameters()),
        "file_mb": size / 1e6,
        "save_s": save,
        "save_max_s": max(times),
        "step_s": step_s,
        "overhead_at_30s": save / 30.0,
    }


def main() -> None:
    args = parser(__doc__).parse_args()
    repeat = 3 if args.quick else 9
    import torch

    torch.set_num_threads(1)
    results = {}
    for level, vocab in (("char", 100), ("word", 10_001)):
        for preset in ("quick", "small", "large"):
            r = measure("lstm", level, preset, vocab, repeat)
            results[f"lstm-{level}-{preset}"] = r
            print(
                f"lstm {level:4s} {preset:5s}: {r['parameters']:>10,} parameters, {r['file_mb']:6.1f} MB, "
                f"save {r['save_s'] * 1000:7.1f} ms (max {r['save_max_s'] * 1000:.1f}), "
                f"one step {r['step_s'] * 1000:7.1f} ms, every 30 s: {r['overhead_at_30s']:.3%} of training"
            )
    write_json(args.json, "checkpoint", results)


if __name__ == "__main__":
    main()
