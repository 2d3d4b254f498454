"""Training memory (issue 18.5): the real peak of a few training steps against estimate_training_bytes.

The memory check (lmtui.memory.fitting_batch) compares the estimate with the free memory at the moment it
runs, so the figure to bound is what training adds from then on: each configuration runs ``--steps 3`` (the
final evaluation and both weight files included) in a fresh process that resets its high-water mark (Linux:
/proc/self/clear_refs) right after the check, notes its resident size then, and reads VmHWM at the end.

    python bench/train_memory.py [--quick] [--json out.json]
"""

from __future__ import annotations

from common import CORPORA, child, parser, write_json

RUN = """
import os, tempfile
os.environ["LMTUI_HOME"] = tempfile.mkdtemp(prefix="lmtui-mem-")
os.environ.setdefault("OMP_NUM_THREADS", "1")
from dataclasses import replace
from lmtui import memory
from lmtui.models import estimate_parameters, estimate_training_bytes
from lmtui.presets import preset_configs
from lmtui.training import Job, train

def status(key):
    with open("/proc/self/status") as f:
        return next(int(x.split()[1]) for x in f if x.startswith(key + ":")) * 1024

out = {{}}
real = memory.fitting_batch
def measured(model, vocab, batch, seq_len, device="cpu"):
    fits = real(model, vocab, batch, seq_len, device)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak from here on
    out.update(batch=fits, vocab=vocab, params=estimate_parameters(model, vocab),
               rss_at_check=status("VmRSS"), estimate=estimate_training_bytes(model, vocab, fits, seq_len))
    return fits
memory.fitting_batch = measured
model, cfg = preset_configs({kind!r}, {level!r}, {preset!r})
model = replace(model, **{shape!r})
over = {{"batch_size": {batch}}} if {batch} else {{}}
cfg = replace(cfg, max_seconds=None, steps=3, threads=1, device="cpu", precision={precision!r}, **over)
from lmtui.neural_training import NeuralTraining
real_finish = NeuralTraining.finish
def finish(self, *args):
    out.setdefault("peak_steps", status("VmHWM"))  # the steps' peak, before the final evaluation and saves
    return real_finish(self, *args)
NeuralTraining.finish = finish
for ev in train(Job({path!r}, model, cfg)):
    pass
out["peak"] = status("VmHWM")
out["added"] = out["peak"] - out["rss_at_check"]
out["added_steps"] = out.get("peak_steps", out["peak"]) - out["rss_at_check"]
"""

# (model, level, preset, batch size or 0 for the preset's, precision[, model fields changed])
CONFIGS = [
    ("lstm", "char", "quick", 0, "auto"),
    ("lstm", "char", "small", 0, "auto"),
    ("lstm", "char", "large", 0, "auto"),
    ("gru", "char", "small", 0, "auto"),
    ("rnn", "char", "small", 0, "auto"),
    ("window", "char", "small", 0, "auto"),
    ("lstm", "char", "small", 1024, "auto"),
    ("lstm", "char", "small", 1024, "fp32"),
    ("gru", "char", "large", 512, "auto"),
    ("rnn", "char", "small", 2048, "fp32"),
    ("window", "char", "small", 4096, "auto"),
    ("window", "char", "large", 2048, "fp32"),
    ("lstm", "word", "small", 0, "auto"),
    ("lstm", "word", "large", 0, "auto"),
    ("window", "word", "small", 0, "auto"),
    ("gru", "word", "small", 256, "auto"),
    ("lstm", "word", "small", 512, "auto"),
    ("lstm", "word", "small", 512, "fp32"),
    ("window", "word", "large", 512, "fp32"),
    ("lstm", "char", "small", 4, "auto", {"hidden": 1536}),
    ("gru", "word", "small", 8, "fp32", {"hidden": 1024, "layers": 2}),
]
QUICK = [CONFIGS[1], CONFIGS[6], CONFIGS[12], CONFIGS[16]]


def main() -> None:
    args = parser(__doc__).parse_args()
    results = {}
    head = ("config", "batch", "params", "estimate", "added", "steps", "ratio")
    print("{:<30} {:>6} {:>10} {:>9} {:>9} {:>9} {:>6}".format(*head))
    for kind, level, preset, batch, precision, *changed in QUICK if args.quick else CONFIGS:
        shape = changed[0] if changed else {}
        path = str(CORPORA / ("scripts.txt" if level == "char" else "speeches.txt"))
        label = f"{kind} {level} {preset}" + (f" b{batch}" if batch else "") + f" {precision}"
        label += "".join(f" {k[0]}{v}" for k, v in shape.items())
        code = RUN.format(
            kind=kind, level=level, preset=preset, batch=batch, precision=precision, path=path, shape=shape
        )
        r = child(code, timeout=900)
        results[label] = r
        if "added" not in r:
            print(f"{label:<30} {r}")
            continue
        mb = 1 << 20
        sizes = " ".join(f"{r[k] / mb:>7.0f}MB" for k in ("estimate", "added", "added_steps"))
        ratio = r["estimate"] / max(r["added"], 1)
        print(f"{label:<30} {r['batch']:>6} {r['params']:>10,} {sizes} {ratio:>6.2f}", flush=True)
    write_json(args.json, "train_memory", results)


if __name__ == "__main__":
    main()
