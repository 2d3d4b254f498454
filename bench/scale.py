"""Scale (issue 5.7): time and peak memory of char-level training and a word trigram build at 1/10/100 MB.

The texts are the bundled corpora's paragraphs shuffled together and repeated (written to $TMPDIR, never
committed). Each measurement is a full ``lmtui train FILE ...`` through ``lmtui.training.train`` in a fresh
process (peak RSS = its ``ru_maxrss``):

* char: ``--model lstm --level char --steps 50`` (the small preset otherwise; the final evaluation scores the
  whole validation and test splits, which is most of the time at 100 MB);
* word: ``--model ngram --level word`` (KN trigram, 10k vocabulary), file to model, scored on val and test.

    python bench/scale.py [--sizes 1,10,100] [--json out.json]
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from common import child, mixed_text, parser, write_json

TMP = Path(os.environ.get("LMTUI_BENCH_TMP", Path(tempfile.gettempdir()) / "lmtui-bench"))

TRAIN = """
import os, tempfile, time
os.environ["LMTUI_HOME"] = tempfile.mkdtemp(prefix="lmtui-scale-")
from lmtui.presets import preset_configs
from lmtui.training import Job, train
from dataclasses import replace
model, cfg = preset_configs({kind!r}, {level!r}, "small")
cfg = replace(cfg, max_seconds=None, steps={steps}) if {steps} else cfg
t0 = time.perf_counter()
marks = {{}}
for ev in train(Job({path!r}, model, cfg)):
    name = type(ev).__name__
    if name == "Started":
        marks["data_ready_s"] = time.perf_counter() - t0
        marks["train_tokens"] = ev.train_tokens
    elif name == "Eval" and "first_eval_s" not in marks:
        marks["first_eval_s"] = time.perf_counter() - t0
    elif name == "Finished":
        marks["val_loss"] = ev.val_loss
marks["total_s"] = time.perf_counter() - t0
out = marks
"""


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--sizes", default="1,10,100", help="text sizes in MB")
    p.add_argument("--steps", type=int, default=50)
    args = p.parse_args()
    rows = []
    for mb in [int(s) for s in args.sizes.split(",")]:
        path = mixed_text(mb * 10**6, TMP / f"mixed-{mb}mb.txt")
        for kind, level, steps in (("lstm", "char", args.steps), ("ngram", "word", 0)):
            r = child(TRAIN.format(kind=kind, level=level, steps=steps, path=str(path)), timeout=1800)
            r.update(mb=mb, model=kind, level=level)
            rows.append(r)
            print(
                f"{mb:>4} MB {level} {kind:5s}: peak RSS {r.get('maxrss_mib', float('nan')):7.0f} MiB, "
                f"data ready {r.get('data_ready_s', float('nan')):6.1f} s, "
                f"total {r.get('total_s', float('nan')):6.1f} s"
                f" ({r.get('train_tokens', 0):,} train tokens)"
                + (f" {r}" if "error" in r or "timeout" in r else ""),
                flush=True,
            )
    write_json(args.json, "scale", {"steps": args.steps, "rows": rows})


if __name__ == "__main__":
    main()
