"""The n-gram file -> model time, stage by stage (issue 12): read, split, tokenize, count, evaluate.

Corpus: speeches.txt + scripts.txt (~1.98M word tokens; bench/ngram.py's file). Three measures:

* stages: one fresh process per repeat does what ``lmtui train FILE --model ngram --level word`` does
  (read, 90/5/5 split, build the word tokenizer on the train split and encode it, encode val and test, fit a
  KN trigram, score val and test), each stage timed;
* file -> model: bench/ngram.py's definition (imports, read, tokenize the whole file, fit), the figure that
  BENCHMARKS.md section 1 compares with NLTK's ``fit`` (47.1 s there; ``--nltk`` measures it again);
* cli: wall time of the command itself, Python start-up and writing the run folder included.

Also the word tokenizer alone, old path (``WORD_RE.findall`` + ``Counter`` + a dict look-up per token) vs
``build_and_encode``, in this process. KenLM's ``lmplz -o 3`` is timed on the same tokens when it is on PATH.

    python bench/ngram_pipeline.py [--repeat 5] [--nltk] [--json out.json]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import child, median, parser, write_json
from ngram import LMTUI_BUILD, NLTK_BUILD, corpus_2m

STAGES = """
import time
t0 = time.perf_counter()
from pathlib import Path
from lmtui.corpus import read_text_file, split_text
from lmtui.models import ModelConfig
from lmtui.models.ngram import NgramModel
from lmtui.tokens import build_and_encode
marks = [("imports", time.perf_counter())]
text = read_text_file(Path({path!r}))
marks.append(("read", time.perf_counter()))
splits = split_text(text)
marks.append(("split", time.perf_counter()))
tok, train = build_and_encode("word", splits.train)
marks.append(("tokenize train", time.perf_counter()))
val, test = tok.encode(splits.val), tok.encode(splits.test)
marks.append(("encode val+test", time.perf_counter()))
model = NgramModel.fit(train, len(tok), ModelConfig(model="ngram", level="word", order=3, smoothing="kn"))
marks.append(("fit (count + KN)", time.perf_counter()))
val_ppl, test_ppl = model.perplexity(val), model.perplexity(test)
marks.append(("evaluate val+test", time.perf_counter()))
out, prev = dict(stages={{}}, train_tokens=len(train), val_ppl=val_ppl, test_ppl=test_ppl), t0
for name, t in marks:
    out["stages"][name], prev = t - prev, t
out["total_s"] = prev - t0
"""


def stages(results: dict, path: str, repeat: int) -> None:
    runs = [child(STAGES.format(path=path)) for _ in range(repeat)]
    names = list(runs[0]["stages"])
    results["stages"] = {n: median([r["stages"][n] for r in runs]) for n in names}
    results["stages_total_s"] = median([r["total_s"] for r in runs])
    print(f"stages, {runs[0]['train_tokens']:,} train tokens, median of {repeat} fresh processes:")
    for n in names:
        print(f"  {n:20s} {results['stages'][n]:6.3f} s")
    print(f"  {'total':20s} {results['stages_total_s']:6.3f} s  (test perplexity {runs[0]['test_ppl']:.2f})")


def file_to_model(results: dict, path: str, repeat: int) -> None:
    runs = [child(LMTUI_BUILD.format(path=path, limit=10**9)) for _ in range(repeat)]
    r = results["file_to_model"] = {
        "tokens": runs[0]["tokens"],
        "total_s": median([x["total_s"] for x in runs]),
        "read_tokenize_s": median([x["read_tokenize_s"] for x in runs]),
        "fit_s": median([x["fit_s"] for x in runs]),
        "all_total_s": [x["total_s"] for x in runs],
        "maxrss_mib": median([x["maxrss_mib"] for x in runs]),
    }
    print(
        f"file -> model (bench/ngram.py's measure), {r['tokens']:,} tokens: {r['total_s']:.2f} s "
        f"(read+tokenize {r['read_tokenize_s']:.2f} s, fit {r['fit_s']:.2f} s), peak RSS "
        f"{r['maxrss_mib']:.0f} MiB; all: {', '.join(f'{x:.2f}' for x in r['all_total_s'])}"
    )


def cli(results: dict, path: str, repeat: int) -> None:
    home = tempfile.mkdtemp(prefix="lmtui-pipeline-")
    env = dict(os.environ, LMTUI_HOME=home)
    out = results["cli"] = {}
    for label, spec in (("file", path), ("speeches", "speeches")):
        times = []
        for i in range(repeat):
            cmd = [sys.executable, "-m", "lmtui", "train", spec, "--model", "ngram", "--level", "word"]
            t0 = time.perf_counter()
            subprocess.run(
                [*cmd, "--name", f"{label}{i}", "--json"], env=env, check=True, capture_output=True
            )
            times.append(time.perf_counter() - t0)
        out[label] = {"median_s": median(times), "all_s": times}
        print(
            f"`lmtui train {label} --model ngram --level word` wall: {median(times):.2f} s median of {repeat}"
        )
    shutil.rmtree(home, ignore_errors=True)


def tokenizer(results: dict, path: str, repeat: int) -> None:
    from lmtui.corpus import read_text_file
    from lmtui.tokens import WORD_RE, WordTokenizer, build_and_encode

    text = read_text_file(Path(path))

    def old() -> None:
        words = WORD_RE.findall(text)
        tok = WordTokenizer.from_words(words)
        tok.encode_words(words)

    times: dict[str, list[float]] = {"old": [], "new": []}
    for _ in range(repeat):
        for name, fn in (("old", old), ("new", lambda: build_and_encode("word", text))):
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    r = results["tokenizer"] = {k: median(v) for k, v in times.items()}
    print(
        f"word tokenizer on the whole file: findall + Counter + look-ups {r['old']:.3f} s, "
        f"build_and_encode {r['new']:.3f} s (x{r['old'] / r['new']:.1f}; medians of {repeat}, interleaved)"
    )


def lmplz(results: dict, path: str, repeat: int) -> None:
    exe = shutil.which("lmplz")
    if not exe:
        print("lmplz (KenLM) not on PATH: not compared")
        return
    from lmtui.corpus import read_text_file
    from lmtui.tokens import WordTokenizer

    tmp = tempfile.mkdtemp(prefix="lmtui-lmplz-")
    text = read_text_file(Path(path))
    tok = WordTokenizer.build(text)
    tokens_file = os.path.join(tmp, "tokens.txt")
    with open(tokens_file, "w", encoding="utf-8") as f:  # the same tokens, a newline token as a line break
        f.write(" ".join(tok.vocab[i] for i in tok.encode(text)).replace(" \n ", "\n"))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(
            [exe, "-o", "3", "--text", tokens_file, "--arpa", os.path.join(tmp, "out.arpa")],
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - t0)
    results["lmplz_s"] = median(times)
    print(f"lmplz -o 3 on the same tokens (reading tokens, not raw text): {median(times):.2f} s")
    shutil.rmtree(tmp, ignore_errors=True)


def nltk(results: dict, path: str) -> None:
    r = results["nltk_fit"] = child(NLTK_BUILD.format(path=path, limit=10**9, score_n=1), timeout=900)
    if "fit_s" in r:
        print(f"NLTK KneserNeyInterpolated(3).fit on {r['tokens']:,} tokens: {r['fit_s']:.1f} s")


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--nltk", action="store_true", help="also time NLTK's fit again (~1 min)")
    args = p.parse_args()
    repeat = 2 if args.quick else args.repeat
    path = str(corpus_2m())
    results: dict = {"corpus": "speeches.txt + scripts.txt (word level)", "load_before": os.getloadavg()}
    print(f"load average {os.getloadavg()[0]:.2f}")
    tokenizer(results, path, repeat)
    stages(results, path, repeat)
    file_to_model(results, path, repeat)
    cli(results, path, repeat)
    lmplz(results, path, repeat)
    if args.nltk:
        nltk(results, path)
        if "fit_s" in results["nltk_fit"]:
            ratio = results["nltk_fit"]["fit_s"] / results["file_to_model"]["total_s"]
            print(f"NLTK fit / lmtui file -> model: x{ratio:.1f}")
    results["load_after"] = os.getloadavg()
    print(f"load average {os.getloadavg()[0]:.2f}")
    write_json(args.json, "ngram_pipeline", results)


if __name__ == "__main__":
    main()
