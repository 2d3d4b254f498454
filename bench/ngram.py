"""n-gram benchmarks (issues 5.1-5.3): build time and memory vs NLTK, scoring and sampling speed, KenLM check.

Corpus for build/scoring: speeches.txt + scripts.txt concatenated (~1.98M word tokens, lmtui's WORD_RE, 10k
vocabulary, rarer words as <unk>), written to $TMPDIR. Every tool runs in its own fresh process so that its
peak RSS (``ru_maxrss``) is its own. NLTK gets exactly lmtui's token strings (after <unk> mapping).

    python bench/ngram.py [--quick] [--json out.json]
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from common import CORPORA, child, has, median, parser, write_json

TMP = Path(os.environ.get("LMTUI_BENCH_TMP", Path(tempfile.gettempdir()) / "lmtui-bench"))

LMTUI_BUILD = """
import time
t0 = time.perf_counter()
from lmtui.corpus import read_text_file
from lmtui.models import ModelConfig
from lmtui.models.ngram import NgramModel
from lmtui.tokens import build_and_encode
from pathlib import Path
text = read_text_file(Path({path!r}))
tok, ids = build_and_encode("word", text)  # the words are split once, as `lmtui train` does
ids = ids[:{limit}]
t1 = time.perf_counter()
model = NgramModel.fit(ids, len(tok), ModelConfig(model="ngram", level="word", order=3, smoothing="kn"))
t2 = time.perf_counter()
out = dict(tokens=len(ids), total_s=t2 - t0, read_tokenize_s=t1 - t0, fit_s=t2 - t1,
           ngrams=model.counts_per_order())
"""

NLTK_BUILD = """
import time
from lmtui.corpus import read_text_file
from lmtui.tokens import WordTokenizer
from pathlib import Path
text = read_text_file(Path({path!r}))
tok = WordTokenizer.build(text)
words = [tok.vocab[i] for i in tok.encode(text)[:{limit}]]
del text
import gc; gc.collect()
base = peak_rss_mib()
from nltk.lm import KneserNeyInterpolated
from nltk.util import everygrams
t0 = time.perf_counter()
lm = KneserNeyInterpolated(3)
lm.fit([everygrams(words, max_len=3)], words)
fit_s = time.perf_counter() - t0
# one score forces nothing more to be built (NLTK's KN computes lazily at query time); time a few
t1 = time.perf_counter()
n = 0
for i in range(2, 2 + {score_n}):
    lm.logscore(words[i], words[i - 2 : i]); n += 1
score_s = time.perf_counter() - t1
out = dict(tokens=len(words), fit_s=fit_s, rss_before_fit_mib=base, score_tokens_per_s=n / score_s)
"""

IMPORT_ONLY = """
from lmtui.corpus import read_text_file
from lmtui.models.ngram import NgramModel
from lmtui.tokens import WordTokenizer
out = {}
"""

NLTK_GENERATE = """
import time
from lmtui.corpus import read_text_file
from lmtui.tokens import WordTokenizer
from pathlib import Path
text = read_text_file(Path({path!r}))
tok = WordTokenizer.build(text)
words = [tok.vocab[i] for i in tok.encode(text)[:{limit}]]
from nltk.lm import KneserNeyInterpolated
from nltk.util import everygrams
lm = KneserNeyInterpolated(3)
lm.fit([everygrams(words, max_len=3)], words)
t0 = time.perf_counter()
gen = lm.generate({n}, text_seed=["the", "united"], random_seed=3)
out = dict(generate_s=time.perf_counter() - t0, n={n}, tokens=len(words), sample=" ".join(gen[:20]))
"""


def corpus_2m() -> Path:
    path = TMP / "speeches+scripts.txt"
    if not path.is_file():
        TMP.mkdir(parents=True, exist_ok=True)
        text = "\n\n".join((CORPORA / f).read_text(encoding="utf-8") for f in ("speeches.txt", "scripts.txt"))
        path.write_text(text, encoding="utf-8")
    return path


def build(results: dict, quick: bool) -> None:
    path = corpus_2m()
    repeat = 1 if quick else 3
    full = 10**9
    base = child(IMPORT_ONLY)
    runs = [child(LMTUI_BUILD.format(path=str(path), limit=full)) for _ in range(repeat)]
    lm = {
        "tokens": runs[0]["tokens"],
        "total_s": median([r["total_s"] for r in runs]),
        "fit_s": median([r["fit_s"] for r in runs]),
        "read_tokenize_s": median([r["read_tokenize_s"] for r in runs]),
        "maxrss_mib": median([r["maxrss_mib"] for r in runs]),
        "import_only_rss_mib": base["maxrss_mib"],
        "ngrams": runs[0]["ngrams"],
        "runs": repeat,
    }
    results["lmtui_build"] = lm
    print(
        f"lmtui KN trigram build, {lm['tokens']:,} tokens: {lm['total_s']:.2f} s file->model "
        f"(read+tokenize {lm['read_tokenize_s']:.2f} s, fit {lm['fit_s']:.2f} s), "
        f"peak RSS {lm['maxrss_mib']:.0f} MiB "
        f"(python+imports alone {base['maxrss_mib']:.0f} MiB); n-grams per order {lm['ngrams']}"
    )
    if not has("nltk"):
        print("nltk not installed: skipping the NLTK comparison")
        return
    sizes = [250_000] if quick else [250_000, 1_000_000, full]
    nltk_rows = []
    for limit in sizes:
        small = child(LMTUI_BUILD.format(path=str(path), limit=limit)) if limit != full else runs[0]
        r = child(NLTK_BUILD.format(path=str(path), limit=limit, score_n=10), timeout=900)
        row = {
            "tokens": small["tokens"],
            "lmtui_fit_s": small["fit_s"],
            "lmtui_total_s": small["total_s"],
            "lmtui_maxrss_mib": small["maxrss_mib"],
            "nltk": r,
        }
        if "fit_s" in r:
            row["ratio_fit"] = r["fit_s"] / small["fit_s"]
            row["ratio_vs_lmtui_file_to_model"] = r["fit_s"] / small["total_s"]
            print(
                f"  {small['tokens']:>9,} tokens: NLTK fit {r['fit_s']:.1f} s, {r['maxrss_mib']:.0f} MiB "
                f"| lmtui fit {small['fit_s']:.2f} s (file->model {small['total_s']:.2f} s), "
                f"{small['maxrss_mib']:.0f} MiB | NLTK/lmtui fit x{row['ratio_fit']:.0f}, "
                f"vs file->model x{row['ratio_vs_lmtui_file_to_model']:.0f}; "
                f"NLTK scores {r['score_tokens_per_s']:.0f} tokens/s"
            )
        else:
            print(f"  {small['tokens']:>9,} tokens: NLTK {r}")
        nltk_rows.append(row)
    results["nltk_build"] = nltk_rows


def score_and_sample(results: dict, quick: bool) -> None:
    from lmtui.corpus import read_text_file, split_text
    from lmtui.models import ModelConfig
    from lmtui.models.ngram import NgramModel
    from lmtui.sampling import SampleSettings, sample_text
    from lmtui.tokens import WordTokenizer

    text = read_text_file(corpus_2m())
    splits = split_text(text)
    tok = WordTokenizer.build(splits.train)
    train = tok.encode(splits.train)
    held = np.concatenate([tok.encode(splits.val), tok.encode(splits.test)])
    model = NgramModel.fit(train, len(tok), ModelConfig(model="ngram", level="word", order=3))
    reps = int(math.ceil(1_000_000 / len(held)))
    big = np.tile(held, reps)  # >= 1M held-out tokens (the val+test splits, repeated)
    times = []
    for _ in range(3 if quick else 5):
        t0 = time.perf_counter()
        total, count = model.nll(big)
        times.append(time.perf_counter() - t0)
    rate = count / median(times)
    t0 = time.perf_counter()
    ppl = model.perplexity(held)
    results["scoring"] = {
        "tokens": count,
        "tokens_per_s": rate,
        "median_s": median(times),
        "held_out_ppl": ppl,
        "held_out_tokens": len(held),
    }
    print(
        f"lmtui KN trigram scoring: {rate / 1e6:.2f} M tokens/s ({count:,} held-out tokens, median of "
        f"{len(times)}); held-out perplexity {ppl:.1f}"
    )
    sample_ms = []
    for seed in range(5 if quick else 20):
        t0 = time.perf_counter()
        sample_text(model, tok, SampleSettings(length=100, prime="the united", seed=seed))
        sample_ms.append((time.perf_counter() - t0) * 1000)
    results["sampling"] = {"tokens": 100, "median_ms": median(sample_ms), "max_ms": max(sample_ms)}
    print(f"lmtui sampling 100 tokens: median {median(sample_ms):.1f} ms (max {max(sample_ms):.1f} ms)")
    if has("nltk"):
        limit = 250_000 if quick else 10**9
        nl = results["nltk_generate"] = {}
        for n, timeout in ((3, 600), (100, 300)):
            r = child(NLTK_GENERATE.format(path=str(corpus_2m()), limit=limit, n=n), timeout=timeout)
            nl[str(n)] = r
            if "generate_s" in r:
                print(
                    f"NLTK generate({n}) on {r['tokens']:,} tokens: {r['generate_s'] * 1000:.0f} ms "
                    f"({r['generate_s'] * 1000 / n:.0f} ms/token; "
                    f"lmtui {median(sample_ms) / 100:.2f} ms/token)"
                )
            else:
                print(f"NLTK generate({n}): {r} (includes its fit)")


def quality(results: dict) -> None:
    """KenLM scores lmtui's exported ARPA on speeches' test split; smoothing methods side by side."""
    from lmtui.corpus import load_text, split_text
    from lmtui.models import ModelConfig
    from lmtui.models.ngram import NgramModel
    from lmtui.tokens import WordTokenizer, arpa_token_names

    _, text = load_text("speeches")
    splits = split_text(text)
    tok = WordTokenizer.build(splits.train)
    train, test = tok.encode(splits.train), tok.encode(splits.test)
    rows = {}
    for label, smoothing, k in (
        ("kn", "kn", 1.0),
        ("backoff", "backoff", 1.0),
        ("laplace (add-1)", "add-k", 1.0),
        ("lidstone (add-0.01)", "add-k", 0.01),
    ):
        model = NgramModel.fit(
            train, len(tok), ModelConfig(model="ngram", level="word", order=3, smoothing=smoothing, k=k)
        )
        rows[label] = model.perplexity(test)
    results["smoothing_test_ppl"] = rows
    results["test_tokens"] = len(test)
    print(
        f"speeches word trigram, test perplexity ({len(test):,} tokens): "
        + ", ".join(f"{k} {v:.1f}" for k, v in rows.items())
    )
    if not has("kenlm"):
        print("kenlm not installed: skipping the ARPA check")
        return
    # through the CLI, as a user would: lmtui train ... --json; lmtui export-arpa NAME FILE
    import json
    import subprocess
    import sys

    import kenlm

    arpa = TMP / "speeches-kn3.arpa"
    TMP.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, LMTUI_HOME=tempfile.mkdtemp(prefix="lmtui-arpa-"))
    cli = [sys.executable, "-m", "lmtui"]
    trained = subprocess.run(
        [*cli, "train", "speeches", "--model", "ngram", "--name", "kn3", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    cli_test_ppl = json.loads(trained.stdout)["test_ppl"]
    subprocess.run([*cli, "export-arpa", "kn3", str(arpa)], capture_output=True, env=env, check=True)
    # KenLM's own way to read a text: one sentence per line, tokens separated by spaces, <s> ... </s> added
    names = arpa_token_names(tok)
    lines = [line for line in splits.test.split("\n") if line.strip()]
    ken = kenlm.Model(str(arpa))
    scores = [s[0] for line in lines for s in ken.full_scores(" ".join(names[i] for i in tok.encode(line)))]
    ken_ppl = 10 ** (-sum(scores) / len(scores))
    rel = abs(ken_ppl - cli_test_ppl) / cli_test_ppl
    results["kenlm"] = {
        "kenlm_ppl": ken_ppl,
        "lmtui_cli_test_ppl": cli_test_ppl,
        "lmtui_api_ppl": rows["kn"],
        "rel_diff": rel,
        "tokens": len(scores),
    }
    print(
        f"KenLM on `lmtui export-arpa`'s file: test perplexity {ken_ppl:.3f} vs `lmtui train --json` "
        f"test_ppl "
        f"{cli_test_ppl:.3f} (rel. diff {rel:.2e}; API {rows['kn']:.3f})"
    )


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--only", choices=["build", "score", "quality"])
    args = p.parse_args()
    results: dict = {"corpus": "speeches.txt + scripts.txt (word level)"}
    if args.only in (None, "quality"):
        quality(results)
    if args.only in (None, "score"):
        score_and_sample(results, args.quick)
    if args.only in (None, "build"):
        build(results, args.quick)
    write_json(args.json, "ngram", results)


if __name__ == "__main__":
    main()
