"""Sampling speed of neural models on the CPU: characters/s and time to first token (issue 5).

Trains nothing: a char model of the default preset's shape (``lmtui train scripts`` = lstm, small) gets random
weights, or pass ``--run NAME`` to load a trained run from $LMTUI_HOME. Also checks that the fast numpy single
step gives the torch net's log-probs (max abs difference over a few hundred steps), for every model kind.

    python bench/sampling.py [--run NAME] [--json out.json]
"""

from __future__ import annotations

import time

import numpy as np
from common import median, parser, write_json

from lmtui.models import model_class
from lmtui.presets import preset_configs
from lmtui.sampling import SampleSettings, generate
from lmtui.tokens import CharTokenizer, WordTokenizer

CHARS = "\n !&',-.:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz3$"


def torch_reference(model, tokens: np.ndarray) -> np.ndarray:
    """Log-probs after each prefix, by the torch net (``_run``) one token at a time."""
    state, logp = model._run(tokens[:1], None)
    out = [logp]
    for t in tokens[1:]:
        state, logp = model._run([int(t)], state)
        out.append(logp)
    return np.array(out)


def fast_path(model, tokens: np.ndarray) -> np.ndarray:
    state, logp = model.start(tokens[:1])
    out = [logp]
    for t in tokens[1:]:
        state, logp = model.advance(state, int(t))
        out.append(logp)
    return np.array(out)


def agreement(kind: str, level: str, vocab: int, steps: int = 300) -> float:
    import torch

    torch.manual_seed(0)
    cfg, _ = preset_configs(kind, level, "small")
    model = model_class(kind)(cfg, vocab)
    with torch.no_grad():  # random weights a bit larger than init, so states saturate like trained ones
        for p in model.net.parameters():
            p.mul_(3.0)
    toks = np.random.default_rng(0).integers(0, vocab, size=steps)
    diff = np.abs(fast_path(model, toks) - torch_reference(model, toks)).max()
    # a long context goes through torch once, then numpy continues from its state
    long = np.random.default_rng(1).integers(0, vocab, size=200)
    s1, l1 = model.start(long)
    s2, l2 = model.start(long[:150])
    for t in long[150:]:
        s2, l2 = model.advance(s2, int(t))
    return float(max(diff, np.abs(l1 - l2).max()))


def speed(model, tokenizer, length: int, repeat: int, use_torch: bool = False) -> dict:
    cls = type(model)
    if use_torch:  # the old path: every token through the torch net
        from lmtui.models.neural import NeuralModel

        model.start = lambda ctx: NeuralModel.start(model, ctx)
        model.advance = lambda st, tok: NeuralModel.advance(model, st, tok)
    rates, firsts = [], []
    for r in range(repeat):
        settings = SampleSettings(temperature=0.8, length=length, seed=r)
        t0 = time.perf_counter()
        it = generate(model, tokenizer, settings)
        first = next(it)
        t1 = time.perf_counter()
        text = first + "".join(it)
        t2 = time.perf_counter()
        rates.append(len(text) / (t2 - t0))
        firsts.append(t1 - t0)
    if use_torch:
        del model.start, model.advance
    assert type(model) is cls
    return {"chars_per_s": median(rates), "first_token_ms": median(firsts) * 1000, "runs": repeat}


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--run", help="a trained char run to sample from (default: random weights)")
    p.add_argument("--length", type=int, default=2000)
    args = p.parse_args()
    repeat = 3 if args.quick else 5
    results: dict = {}

    import torch

    from lmtui.threads import limit

    torch.set_num_threads(limit())
    if args.run:
        from lmtui.runs import load_run

        t0 = time.perf_counter()
        run = load_run(args.run)
        model, tokenizer = run.load_model(), run.tokenizer()
        results["load_ms"] = (time.perf_counter() - t0) * 1000
    else:
        tokenizer = CharTokenizer.build(CHARS)
        cfg, _ = preset_configs("lstm", "char", "small")
        model = model_class("lstm")(cfg, len(tokenizer))
    results["model"] = model.config.to_dict()
    results["fast"] = speed(model, tokenizer, args.length, repeat)
    results["torch_per_token"] = speed(model, tokenizer, min(args.length, 500), repeat, use_torch=True)
    results["speedup"] = results["fast"]["chars_per_s"] / results["torch_per_token"]["chars_per_s"]
    print(f"char-LSTM sampling ({args.length} chars, median of {repeat}):")
    for key in ("fast", "torch_per_token"):
        r = results[key]
        print(f"  {key:16s} {r['chars_per_s']:9.0f} chars/s   first token {r['first_token_ms']:.2f} ms")
    print(f"  speed-up x{results['speedup']:.1f}")

    # word level: a 10k-word model of the word preset's shape
    words = WordTokenizer(["<unk>"] + [f"w{i}" for i in range(9999)] + ["\n"])
    cfg, _ = preset_configs("lstm", "word", "small")
    wmodel = model_class("lstm")(cfg, len(words))
    results["word_fast"] = speed(wmodel, words, 300, repeat)
    results["word_torch_per_token"] = speed(wmodel, words, 300, repeat, use_torch=True)
    print(
        f"word-LSTM (10k vocab) tokens: fast {results['word_fast']['chars_per_s']:.0f} chars/s vs torch "
        f"{results['word_torch_per_token']['chars_per_s']:.0f} chars/s"
    )

    diffs = {}
    for kind in ("window", "rnn", "lstm", "gru"):
        for level, vocab in (("char", 66), ("word", 2000)):
            diffs[f"{kind}-{level}"] = agreement(kind, level, vocab)
    results["max_abs_logp_diff_vs_torch"] = diffs
    print(
        "max |log p(numpy step) - log p(torch net)|: " + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items())
    )
    write_json(args.json, "sampling", results)


if __name__ == "__main__":
    main()
