"""The lab's commands for the lecture's later ideas (recall: what vanishing gradients cost; forcing: teacher
forcing against free running), added to the main group beside cli_lab's."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import click

from lmtui.cliutil import complete_run
from lmtui.errors import LmtuiError


def _json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.command()
@click.argument("name", shell_complete=complete_run)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def recall(name: str, as_json: bool) -> None:
    """How well run NAME recalls the letter at the end of each line of the recall corpus, by how far back
    it is: what vanishing gradients cost, as a number (lower loss is better; chance is ln 26 = 3.26).

    \b
    Each line of the bundled recall corpus is a letter, 1-40 random digits, "=" and the letter again
    (q40916=q). The last letter can only be predicted by a model that carried the first across the digits.
    Train an RNN and an LSTM of the same hidden size on it and compare them gap by gap; train with another
    --seq-len (k2: how far back gradients flow) to see what truncating backpropagation costs.

    \b
    Examples:
      lmtui train recall --model rnn --preset quick --steps 1500
      lmtui train recall --model lstm --preset quick --steps 1500
      lmtui recall recall-rnn-char
      lmtui recall recall-lstm-char --json
    """
    from lmtui.lab.recall import CHANCE, recall_by_gap
    from lmtui.runs import load_run

    run = load_run(name)
    text = _split(run, "test")
    try:
        rows = recall_by_gap(run.load_model(), run.tokenizer(), text)
    except ValueError as exc:
        raise LmtuiError(f"run {name!r}: {exc}") from None
    train = run.meta.get("train", {})
    k2 = train.get("seq_len") if run.model_config.model != "ngram" else None
    if as_json:
        _json({"run": name, "model": run.model_config.model, "seq_len": k2, "chance_loss": CHANCE,
               "chance_accuracy": 1 / 26, "by_gap": [r.to_dict() for r in rows]})
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    lines = sum(r.lines for r in rows)
    table = Table("gap (digits)", "lines", "loss (nats)", "right", "",
                  title=f"{escape(name)}: the recalled letter of {lines:,} test lines, by gap",
                  title_justify="left")
    for r in rows:
        table.add_row(f"{r.low}-{r.high}", f"{r.lines:,}", f"{r.loss:.2f}", f"{r.accuracy:.0%}",
                      "█" * round(20 * r.accuracy))
    console = Console(highlight=False)
    console.print(table)
    console.print(f"chance: loss ln 26 = {CHANCE:.2f} nats, 1 in 26 right (4%); lower loss is better. The "
                  "letter is read gap + 1 characters before it is recalled.")
    if k2:
        console.print(f"trained with --seq-len {k2} (k2): a gradient reached at most {k2} characters back; a "
                      f"gap past it was never taught directly, only by what holds over shorter ones")
    elif run.model_config.model == "ngram":
        order = run.model_config.order
        console.print(f"an n-gram model of order {order} sees {order - 1} characters back: it recalls "
                      f"at most gaps of {max(order - 3, 0)}")


@click.command()
@click.argument("name", shell_complete=complete_run)
@click.option("--prefixes", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="True prefixes from the validation split, evenly spaced.")
@click.option("--prefix", "prefix_tokens", type=click.IntRange(1, 4096), default=64, show_default=True,
              help="Tokens in each prefix.")
@click.option("--ahead", "steps", type=click.IntRange(1, 1000), default=32, show_default=True,
              help="Tokens scored after each prefix (k = 1..ahead).")
@click.option("--temperature", "-t", type=float, default=1.0, show_default=True,
              help="Temperature of the model's own draws (1: its own distribution).")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
              help="Seed of the draws.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def forcing(name: str, prefixes: int, prefix_tokens: int, steps: int, temperature: float, seed: int,
            as_json: bool) -> None:
    """Teacher forcing against free running for run NAME: the loss on the true text k tokens after a true
    prefix, when the tokens in between are the true ones or the model's own (lower is better).

    \b
    Teacher forcing is how a model trains and how `lmtui eval` scores it: every token is predicted from the
    true text before it. Free running is how it writes: every token is predicted from its own earlier
    tokens. At k = 1 both read only the true prefix; further on, the free-running context drifts from the
    true text and the true next token costs more: a model trained on true contexts only is never shown its
    own mistakes, and they compound.

    \b
    Examples:
      lmtui forcing scripts-lstm-char
      lmtui forcing speeches-ngram-word --prefix 20 --ahead 16 --json
    """
    from lmtui.lab.forcing import SHOWN_K, teacher_vs_free
    from lmtui.runs import load_run
    from lmtui.sampling import SampleSettings

    SampleSettings(temperature=temperature).validate()
    run = load_run(name)
    tokenizer = run.tokenizer()
    ids = tokenizer.encode(_split(run, "val"))
    try:
        result = teacher_vs_free(run.load_model(), ids, prefix_tokens, steps, prefixes, temperature, seed)
    except ValueError as exc:
        raise LmtuiError(f"run {name!r}: {exc}") from None
    data = result.to_dict()
    if as_json:
        _json({"run": name, "level": tokenizer.level, **data})
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    unit = "characters" if tokenizer.level == "char" else "words"
    table = Table("k", "teacher-forced (nats)", "free-running (nats)", "gap",
                  title=f"{escape(name)}: the true token k {unit} after {result.prefixes} true prefixes of "
                        f"{prefix_tokens} {unit} (validation split)", title_justify="left")

    def nats(x: float | None) -> str:
        return "∞" if x is None else f"{x:.3f}"

    for k in sorted({k for k in SHOWN_K if k <= steps} | {steps}):
        tf, fr = data["teacher_forced"][k - 1], data["free_running"][k - 1]
        gap = "" if tf is None or fr is None else f"{fr - tf:+.3f}"
        table.add_row(str(k), nats(tf), nats(fr), gap)
    console = Console(highlight=False)
    console.print(table)
    tf_mean, fr_mean = nats(data["teacher_forced_mean"]), nats(data["free_running_mean"])
    console.print(f"mean over k = 1..{steps}: teacher-forced {tf_mean}, free-running {fr_mean} nats/token "
                  f"(the model's own draws at temperature {temperature:g}, seed {seed})")
    console.print("teacher forcing: each token predicted from the true text before it (training, lmtui "
                  "eval); free running: from the model's own tokens after the prefix (sampling)")
    if result.stopped:
        console.print(f"note: {result.stopped} free run(s) left nothing to draw and stopped early")


def _split(run: Any, which: str) -> str:
    from lmtui.corpus import load_text, split_text

    _, text = load_text(run.corpus_spec(), run.encoding)
    return getattr(split_text(text, run.meta["corpus"].get("unit", "text")), which)


def _windows(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        sizes = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"a comma-separated list of whole numbers, not {value!r}") from None
    from lmtui.models import MAX_CONTEXT

    if not sizes or not all(1 <= n <= MAX_CONTEXT for n in sizes):
        raise click.BadParameter(f"windows must be 1..{MAX_CONTEXT}")
    return sizes


@click.command()
@click.argument("name", shell_complete=complete_run)
@click.option("--context", "windows", callback=_windows, metavar="N,N,…",
              help="Windows to size the model at [2,4,8,16,32,64 and its own].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def params(name: str, windows: tuple[int, ...] | None, as_json: bool) -> None:
    """Where the parameters of neural run NAME are, and how a fixed-window model grows with its window.

    \b
    The window model's hidden layer reads its n embeddings side by side, so every position has an
    embed x hidden block of weights of its own: nothing learned about a word two back helps with the same
    word five back, and each wider window adds a block. A recurrent net (rnn, lstm, gru) uses one set of
    weights at every step, whatever the context's length.

    \b
    Examples:
      lmtui params scripts-window-char
      lmtui params scripts-window-char --context 3,6,12,24 --json
      lmtui params scripts-lstm-char
    """
    from lmtui.lab.window import WINDOWS, by_window, window_parts
    from lmtui.models import estimate_parameters
    from lmtui.runs import load_run

    run = load_run(name)
    config, vocab = run.model_config, int(run.meta["vocab_size"])
    if config.model == "ngram":
        raise LmtuiError(f"run {name!r} is an n-gram model: it stores counts, not parameters (lmtui eval "
                         "shows its entries by order)")
    sizes = by_window(config, vocab, windows or WINDOWS)
    if config.model != "window":
        total = estimate_parameters(config, vocab)
        like = by_window(replace(config, model="window", context=8, layers=1, tie_weights=False), vocab,
                         windows or WINDOWS)
        if as_json:
            _json({"run": name, "model": config.model, "parameters": total, "shared_across_steps": True,
                   "window_model_with_these_sizes": [{"context": n, "parameters": p} for n, p in like]})
            return
        click.echo(f"{name}: an {config.model.upper()} of {total:,} parameters, the same at any context "
                   "length: one set of weights, used at every step")
        click.echo(f"a window model of the same embed ({config.embed}) and hidden ({config.hidden}) sizes: "
                   + ", ".join(f"window {n}: {p:,}" for n, p in like))
        return
    parts = window_parts(config, vocab)
    if as_json:
        grows = [{"context": n, "parameters": p} for n, p in sizes]
        _json({"run": name, "model": "window", "vocab_size": vocab, **parts.to_dict(),
               "shared_across_steps": False, "by_window": grows})
        return
    from rich.console import Console
    from rich.table import Table

    e, h, n = config.embed, config.hidden, config.context
    table = Table("part", "shape", "parameters", title=f"{name}: a window of {n}, {parts.total:,} parameters",
                  title_justify="left")
    table.add_row("embeddings", f"({vocab:,} + 1) × {e}", f"{parts.embedding:,}")
    table.add_row("hidden layer", f"{n} positions × {e} × {h}, + {h}", f"{parts.hidden:,}")
    table.add_row("output", f"{h} × {vocab:,}, + {vocab:,}", f"{parts.output:,}")
    growth = Table("window", "parameters", "of them the positions' own blocks",
                   title="the same model at other windows", title_justify="left")
    for size, total in sizes:
        mark = " (this run)" if size == n else ""
        growth.add_row(f"{size}{mark}", f"{total:,}", f"{size * e * h:,} ({size * e * h / total:.0%})")
    console = Console(highlight=False)
    console.print(table)
    console.print(growth)
    console.print(f"each position has its own {e}×{h} block ({e * h:,} weights): none is shared across "
                  f"positions, so a window of {2 * n} adds {n * e * h:,}; an RNN reads any length with one "
                  "set")


LESSONS = [recall, forcing, params]
