"""The n-gram file -> model time, stage by stage (issue 12): read, split, tokenize, count, evaluate.

Corpus: speeches.txt + scripts.txt (~1.98M word tokens; bench/ngram.py's file). Three measures:

* stages: one fresh process per repeat does what ``lmtui train FILE --model ngram --level word`` does
  (read, 90/5/5 split, build the word tokenizer on the train split and encode it, encode val and test, fit a
  KN trigram, score val and test), each stage timed;
* file -> model: bench/ngram.py's definition (imports, read, tokenize the whole file, fit), the figure that
  BENCHMARKS.md section 1 compares with NLTK's ``fit`` (47.1 s there; ``--nltk`` measures it again);
* cli: wall time of the command itself, Python start-up and writing the run folder included.

Also the word tokenizer alone, old path (``WORD_RE.findall`` + ``Counter`` + a dict look-up per token) vs
``build_and_encode``, in this process. When KenLM's ``lmplz`` is on PATH: lmtui's file -> model and
``lmplz -o 3`` on lmtui's tokens (and on the raw text), each a whole process timed from outside (wall, CPU,
peak RSS), in interleaved rounds; see ``lmplz`` for what each side does.

    python bench/ngram_pipeline.py [--repeat 5] [--nltk] [--big 100] [--lmplz-memory 40M default]
        [--json out.json]
"""

from __future__ import annotations

import itertools
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, child, median, mixed_text, parser, write_json
from ngram import NLTK_BUILD, TMP, corpus_2m

CLOCKS = """
import time
def now():
    return time.perf_counter(), time.process_time()
t0 = now()
"""

STAGES = (
    CLOCKS
    + """
from pathlib import Path
from lmtui.corpus import read_text_file, split_text
from lmtui.models import ModelConfig
from lmtui.models.ngram import NgramModel
from lmtui.tokens import build_and_encode
marks = [("imports", now())]
text = read_text_file(Path({path!r}))
marks.append(("read", now()))
splits = split_text(text)
marks.append(("split", now()))
tok, train = build_and_encode("word", splits.train)
marks.append(("tokenize train", now()))
val, test = tok.encode(splits.val), tok.encode(splits.test)
marks.append(("encode val+test", now()))
model = NgramModel.fit(train, len(tok), ModelConfig(model="ngram", level="word", order=3, smoothing="kn"))
marks.append(("fit (count + KN)", now()))
val_ppl, test_ppl = model.perplexity(val), model.perplexity(test)
marks.append(("evaluate val+test", now()))
out, prev = dict(wall={{}}, cpu={{}}, train_tokens=len(train), val_ppl=val_ppl, test_ppl=test_ppl), t0
for name, t in marks:
    out["wall"][name], out["cpu"][name], prev = t[0] - prev[0], t[1] - prev[1], t
out["wall"]["total"], out["cpu"]["total"] = prev[0] - t0[0], prev[1] - t0[1]
"""
)

# bench/ngram.py's LMTUI_BUILD (the figure BENCHMARKS.md section 1 compares with NLTK), with CPU time too
WHOLE = (
    CLOCKS
    + """
from lmtui.corpus import read_text_file
from lmtui.models import ModelConfig
from lmtui.models.ngram import NgramModel
from lmtui.tokens import build_and_encode
from pathlib import Path
text = read_text_file(Path({path!r}))
tok, ids = build_and_encode("word", text)
t1 = now()
model = NgramModel.fit(ids, len(tok), ModelConfig(model="ngram", level="word", order=3, smoothing="kn"))
t2 = now()
out = dict(tokens=len(ids), wall=dict(read_tokenize=t1[0] - t0[0], fit=t2[0] - t1[0], total=t2[0] - t0[0]),
           cpu=dict(read_tokenize=t1[1] - t0[1], fit=t2[1] - t1[1], total=t2[1] - t0[1]))
"""
)


def _medians(runs: list[dict]) -> dict:
    return {
        clock: {name: median([r[clock][name] for r in runs]) for name in runs[0][clock]}
        for clock in ("wall", "cpu")
    }


def stages(results: dict, path: str, repeat: int) -> None:
    runs = [child(STAGES.format(path=path)) for _ in range(repeat)]
    r = results["stages"] = _medians(runs)
    print(
        f"stages, {runs[0]['train_tokens']:,} train tokens, medians of {repeat} fresh processes (wall / CPU):"
    )
    for n in r["wall"]:
        print(f"  {n:20s} {r['wall'][n]:6.3f} s  {r['cpu'][n]:6.3f} s")
    print(f"  (test perplexity {runs[0]['test_ppl']:.2f})")


def file_to_model(results: dict, path: str, repeat: int) -> None:
    runs = [child(WHOLE.format(path=path)) for _ in range(repeat)]
    r = results["file_to_model"] = _medians(runs)
    r["tokens"], r["maxrss_mib"] = runs[0]["tokens"], median([x["maxrss_mib"] for x in runs])
    r["all_wall_s"] = [x["wall"]["total"] for x in runs]
    w, c = r["wall"], r["cpu"]
    print(
        f"file -> model (bench/ngram.py's measure), {r['tokens']:,} tokens: {w['total']:.2f} s wall, "
        f"{c['total']:.2f} s CPU (read+tokenize {w['read_tokenize']:.2f} / {c['read_tokenize']:.2f} s, "
        f"fit {w['fit']:.2f} / {c['fit']:.2f} s), peak RSS {r['maxrss_mib']:.0f} MiB; "
        f"wall of each: {', '.join(f'{x:.2f}' for x in r['all_wall_s'])}"
    )


def cli(results: dict, path: str, repeat: int) -> None:
    home = tempfile.mkdtemp(prefix="lmtui-pipeline-")
    env = dict(os.environ, LMTUI_HOME=home)
    out = results["cli"] = {}
    for label, spec in (("file", path), ("speeches", "speeches")):
        wall, cpu = [], []
        for i in range(repeat):
            cmd = [sys.executable, "-m", "lmtui", "train", spec, "--model", "ngram", "--level", "word"]
            t0, c0 = time.perf_counter(), _children_cpu()
            subprocess.run(
                [*cmd, "--name", f"{label}{i}", "--json"], env=env, check=True, capture_output=True
            )
            wall.append(time.perf_counter() - t0)
            cpu.append(_children_cpu() - c0)
        out[label] = {"wall_s": median(wall), "cpu_s": median(cpu), "all_wall_s": wall}
        print(
            f"`lmtui train {label} --model ngram --level word`: {median(wall):.2f} s wall, "
            f"{median(cpu):.2f} s CPU (medians of {repeat})"
        )
    shutil.rmtree(home, ignore_errors=True)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tokenizer(results: dict, path: str, repeat: int) -> None:
    """Old and new word tokenizing of the whole file in this process, interleaved; CPU time is steadier
    than wall time when other processes share the cores."""
    from lmtui.corpus import read_text_file
    from lmtui.tokens import WORD_RE, WordTokenizer, build_and_encode

    text = read_text_file(Path(path))

    def old() -> None:
        words = WORD_RE.findall(text)
        tok = WordTokenizer.from_words(words)
        tok.encode_words(words)

    times: dict[str, list[float]] = {"old_wall": [], "old_cpu": [], "new_wall": [], "new_cpu": []}
    for _ in range(repeat):
        for name, fn in (("old", old), ("new", lambda: build_and_encode("word", text))):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            times[f"{name}_wall"].append(time.perf_counter() - t0)
            times[f"{name}_cpu"].append(time.process_time() - c0)
    r = results["tokenizer"] = {k: median(v) for k, v in times.items()}
    print(
        f"word tokenizer, whole file (medians of {repeat}, interleaved; wall / CPU): "
        f"findall + Counter + look-ups {r['old_wall']:.3f} / {r['old_cpu']:.3f} s, "
        f"build_and_encode {r['new_wall']:.3f} / {r['new_cpu']:.3f} s "
        f"(x{r['old_wall'] / r['new_wall']:.1f} / x{r['old_cpu'] / r['new_cpu']:.1f})"
    )


BIG = (
    CLOCKS
    + """
from pathlib import Path
from lmtui.corpus import read_text_file, split_text
from lmtui.models import ModelConfig
from lmtui.models.ngram import NgramModel
from lmtui.tokens import WORD_RE, WordTokenizer, build_and_encode
splits = split_text(read_text_file(Path({path!r})))
base, t1 = peak_rss_mib(), now()
if {old!r}:  # the plain path: the regex over the whole text, a Counter, one look-up per token
    words = WORD_RE.findall(splits.train)
    tok = WordTokenizer.from_words(words)
    train = tok.encode_words(words)
    del words
else:
    tok, train = build_and_encode("word", splits.train)
t2, tokenize_peak = now(), peak_rss_mib()
val, test = tok.encode(splits.val), tok.encode(splits.test)
model = NgramModel.fit(train, len(tok), ModelConfig(model="ngram", level="word", order=3, smoothing="kn"))
model.perplexity(val), model.perplexity(test)
t3 = now()
out = dict(train_tokens=len(train), tokenize_wall=t2[0] - t1[0], tokenize_cpu=t2[1] - t1[1],
           tokenize_peak_above_text_mib=tokenize_peak - base, total_wall=t3[0] - t0[0])
"""
)


def big(results: dict, mb: int) -> None:
    """A long text (the bundled corpora shuffled and repeated): the plain word tokenizer vs the new one,
    each in a fresh process, then the rest of the pipeline; peak memory is VmHWM."""
    path = mixed_text(mb * 10**6, TMP / f"mixed-{mb}mb.txt")
    out = results[f"big_{mb}mb"] = {}
    for name, old in (("plain regex path", True), ("build_and_encode", False)):
        r = out[name] = child(BIG.format(path=str(path), old=old), timeout=900)
        print(
            f"{mb} MB text, {r['train_tokens']:,} train tokens, {name}: tokenize {r['tokenize_wall']:.2f} s "
            f"wall / {r['tokenize_cpu']:.2f} s CPU, tokenizing peak +{r['tokenize_peak_above_text_mib']:.0f} "
            f"MiB above the text; read + tokenize + fit + evaluate {r['total_wall']:.2f} s"
        )


# One measured process, started from a small Python (about 10 MiB) so that the rusage peak RSS is the
# process's own: a child forked from this script would start with this script's high-water mark. Wall and
# CPU (user + system, all threads) are taken from outside, so both tools pay their own start-up.
OUTSIDE = """
import os, resource, subprocess, time
def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime
t0, c0 = time.perf_counter(), cpu()
proc = subprocess.run({cmd!r}, capture_output=True, text=True, cwd={cwd!r}, env=dict(os.environ, **{env!r}))
out = dict(wall=time.perf_counter() - t0, cpu=cpu() - c0, rc=proc.returncode, err=proc.stderr[-400:],
           peak_mib=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""

# lmtui's file -> model as one whole process: interpreter start-up, imports, read the raw file, tokenize it
# (the word regex, a 10k vocabulary, rarer words as <unk>), count and KN-smooth a trigram; nothing written
LMTUI_PROCESS = """
from pathlib import Path
from lmtui.corpus import read_text_file
from lmtui.models import ModelConfig
from lmtui.models.ngram import NgramModel
from lmtui.tokens import build_and_encode
tok, ids = build_and_encode("word", read_text_file(Path({path!r})))
NgramModel.fit(ids, len(tok), ModelConfig(model="ngram", level="word", order=3, smoothing="kn"))
"""


def lmplz_tokens(path: str, out: str) -> int:
    """lmtui's tokens of the whole file, as lmplz reads a text: one line per line of the text (the newline
    token becomes the line break: lmplz's </s> and <s> where lmtui predicts and reads a newline), tokens
    separated by spaces. lmplz refuses ``<unk>`` in a corpus, so lmtui's <unk> (a word like any other to
    lmtui's model) is written under a name the word regex can never produce. Returns the token count."""
    from lmtui.corpus import read_text_file
    from lmtui.tokens import UNK, build_and_encode

    tok, ids = build_and_encode("word", read_text_file(Path(path)))
    names = list(tok.vocab)
    names[0] = "<oov>"  # "<" is a token on its own for the word regex, so no word is spelt like this
    assert names[0] not in tok.index and tok.vocab[0] == UNK and tok.newline_id() is not None
    names[tok.newline_id()] = "\n"
    with open(out, "w", encoding="utf-8") as f:
        for i in range(0, len(ids), 1 << 20):
            f.write(" ".join(names[t] for t in ids[i : i + (1 << 20)].tolist()) + " ")
    return len(ids)


def lmplz(results: dict, path: str, repeat: int, memory: list[str]) -> None:
    """KenLM's ``lmplz -o 3`` beside lmtui's file -> model, each a whole process timed from outside, in
    interleaved rounds so that both see the same load. lmplz gets lmtui's tokens (it neither reads the raw
    text nor tokenizes it) and writes its ARPA file; lmtui reads and tokenizes the raw text and keeps the
    model in memory. Also lmplz on the raw text (its own whitespace split, no vocabulary cap: not the same
    tokens, nor the same model), and ``lmtui train FILE`` (split, evaluate, save the run) for scale."""
    exe = shutil.which("lmplz")
    if not exe:
        print("lmplz (KenLM) not on PATH: not compared")
        return
    tmp = tempfile.mkdtemp(prefix="lmtui-lmplz-")
    tokens_file = os.path.join(tmp, "tokens.txt")
    n_tokens = lmplz_tokens(path, tokens_file)
    commands = {"lmtui file -> model (raw text)": [sys.executable, "-c", LMTUI_PROCESS.format(path=path)]}
    for mem in memory:
        label = "default -S (80% of RAM)" if mem == "default" else f"-S {mem}"
        extra = [] if mem == "default" else ["-S", mem]
        commands[f"lmplz -o 3 {label}, lmtui's tokens"] = [exe, "-o", "3", *extra, "--text", tokens_file]
    arpas = {name: os.path.join(tmp, f"{j}.arpa") for j, name in enumerate(commands) if j}
    first = [m for m in memory if m != "default"][:1]
    if first:  # the same with the ARPA text formatted but not stored; and lmplz on the raw text
        commands[f"lmplz -o 3 -S {first[0]}, lmtui's tokens, ARPA to /dev/null"] = [
            *commands[f"lmplz -o 3 -S {first[0]}, lmtui's tokens"],
            "--arpa",
            os.devnull,
        ]
        name = f"lmplz -o 3 -S {first[0]}, raw text"
        commands[name] = [exe, "-o", "3", "-S", first[0], "--text", path]
        arpas[name] = os.path.join(tmp, "raw.arpa")
    for name, arpa in arpas.items():
        commands[name] += ["--arpa", arpa]
    cli = "lmtui train FILE --model ngram --level word (whole command)"
    env = {"LMTUI_HOME": os.path.join(tmp, "home")}
    runs: dict[str, list[dict]] = {name: [] for name in [*commands, cli]}
    for i in range(repeat):
        for name, cmd in commands.items():
            runs[name].append(child(OUTSIDE.format(cmd=cmd, cwd=str(ROOT), env={})))
        cmd = [sys.executable, "-m", "lmtui", "train", path, "--model", "ngram", "--level", "word"]
        cmd += ["--name", f"r{i}", "--json"]
        runs[cli].append(child(OUTSIDE.format(cmd=cmd, cwd=str(ROOT), env=env)))
    headers = {}
    for name, arpa in arpas.items():  # the n-gram counts of each model lmplz wrote
        if os.path.exists(arpa):
            with open(arpa, encoding="utf-8") as f:
                headers[name] = [line.strip() for line in itertools.islice(f, 1, 4)]
    shutil.rmtree(tmp, ignore_errors=True)
    out = results["lmplz"] = {"tokens": n_tokens, "repeat": repeat, "arpa_counts": headers}
    print(f"whole processes timed from outside, {n_tokens:,} tokens, medians of {repeat} interleaved rounds:")
    print(f"  {'':60s} {'wall':>7s} {'CPU':>7s} {'peak RSS':>9s}   wall of each")
    for name, rs in runs.items():
        bad = [r for r in rs if r.get("rc") != 0]
        if bad:
            out[name] = {"error": bad[0].get("err") or bad[0]}
            print(f"  {name:60s} failed: {str(out[name]['error']).strip().splitlines()[-1]}")
            continue
        r = out[name] = {k: median([x[k] for x in rs]) for k in ("wall", "cpu", "peak_mib")}
        r["all_wall"] = [x["wall"] for x in rs]
        each = ", ".join(f"{x:.2f}" for x in r["all_wall"])
        print(f"  {name:60s} {r['wall']:6.2f}s {r['cpu']:6.2f}s {r['peak_mib']:6.0f} MiB   {each}")
    ours = out["lmtui file -> model (raw text)"]
    for name, r in out.items():
        if name.startswith("lmplz") and isinstance(r, dict) and "wall" in r and "wall" in ours:
            print(
                f"  {name}: lmplz / lmtui = x{r['wall'] / ours['wall']:.2f} wall, "
                f"x{r['cpu'] / ours['cpu']:.2f} CPU"
                + (f"; its ARPA: {', '.join(headers[name])}" if name in headers else "")
            )


def nltk(results: dict, path: str) -> None:
    r = results["nltk_fit"] = child(NLTK_BUILD.format(path=path, limit=10**9, score_n=1), timeout=900)
    if "fit_s" in r:
        print(f"NLTK KneserNeyInterpolated(3).fit on {r['tokens']:,} tokens: {r['fit_s']:.1f} s")


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--nltk", action="store_true", help="also time NLTK's fit again (~1 min)")
    p.add_argument("--big", type=int, metavar="MB", help="also a text of MB megabytes, old and new tokenizer")
    p.add_argument(
        "--lmplz-memory",
        nargs="+",
        default=["40M", "default"],
        metavar="S",
        help="lmplz -S settings to time when lmplz is on PATH ('default': none given, lmplz's 80%% of RAM)",
    )
    args = p.parse_args()
    repeat = 2 if args.quick else args.repeat
    path = str(corpus_2m())
    results: dict = {"corpus": "speeches.txt + scripts.txt (word level)", "load_before": os.getloadavg()}
    print(f"load average {os.getloadavg()[0]:.2f}")
    tokenizer(results, path, repeat)
    stages(results, path, repeat)
    file_to_model(results, path, repeat)
    cli(results, path, repeat)
    lmplz(results, path, repeat, args.lmplz_memory)
    if args.nltk:
        nltk(results, path)
        if "fit_s" in results["nltk_fit"]:
            nltk_s, ours = results["nltk_fit"]["fit_s"], results["file_to_model"]["wall"]["total"]
            print(f"NLTK fit / lmtui file -> model (wall): x{nltk_s / ours:.1f}")
    if args.big:
        big(results, args.big)
    results["load_after"] = os.getloadavg()
    print(f"load average {os.getloadavg()[0]:.2f}")
    write_json(args.json, "ngram_pipeline", results)


if __name__ == "__main__":
    main()
