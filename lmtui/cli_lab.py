"""The lab's commands (explain, gradients, compare): thin faces on lmtui.lab, added to the main group."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from lmtui.cliutil import complete_corpus, complete_run, note, print_table, say, terminal
from lmtui.errors import LmtuiError
from lmtui.visible import json_text
from lmtui.visible import visible_markup as shown


def _json(data: Any) -> None:
    click.echo(json_text(data, indent=2))


def _load(name: str) -> tuple[Any, Any, Any]:
    from lmtui.runs import load_run

    run = load_run(name)
    return run, run.tokenizer(), run.load_model()


@click.command()
@click.argument("name", shell_complete=complete_run)
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def explain(name: str, text: str, as_json: bool) -> None:
    """Why each token of TEXT got its probability from run NAME: context, counts, backoff, surprise.

    \b
    Examples:
      lmtui explain speeches-ngram-word "we shall fight on the beaches"
      lmtui explain scripts-lstm-char "HAMLET:" --json
    """
    from lmtui.lab.explain import explain as explain_text

    run, tokenizer, model = _load(name)
    try:
        ex = explain_text(model, tokenizer, text)
    except ValueError as exc:
        raise LmtuiError(str(exc)) from None
    if as_json:
        _json({"run": name, "text": text, **ex.to_dict()})
        return
    from rich.table import Table
    from rich.text import Text

    from lmtui.lab.ngram_terms import LEGENDS, how_text

    ngram = ex.model == "ngram"
    table = Table(title=f"{shown(name)}: why each token", title_justify="left")
    table.add_column("token")
    table.add_column("context", overflow="fold")
    if ngram:
        table.add_column("how: counts at the order used, then P order by order", overflow="fold")
    table.add_column("P", justify="right")
    table.add_column("bits", justify="right")
    sep = "" if ex.level == "char" else " "
    for t, terms in zip(ex.tokens, ex.to_dict()["tokens"], strict=True):
        ctx = t.context if ngram or len(t.context) <= 12 else ["…", *t.context[-12:]]
        row: list[str | Text] = [shown(t.token), shown(sep.join(ctx)) or "(none)"]
        if ngram:  # one line per order (a Text: lines of its own; joined by "; " in a pipe)
            row.append(Text(how_text(terms, ex.smoothing)))
        row += [f"{t.prob:.4g}", f"{t.bits:.2f}" if math.isfinite(t.bits) else "∞"]
        table.add_row(*row)
    print_table(table)
    if ngram and ex.smoothing in LEGENDS:  # what the table's terms mean: for a person, beside the result
        say(LEGENDS[ex.smoothing], err=True)
    if not ngram and ex.tokens:
        say(f"context: {ex.tokens[-1].why}", err=True)
    if ex.unknown:
        note(f"not in the vocabulary, read as <unk>: {', '.join(map(repr, ex.unknown[:8]))}")
    n = len(ex.tokens)
    if math.isfinite(ex.log2_prob):
        click.echo(
            f"chain rule: log2 P(text) = Σ log2 P(token | context) = {ex.log2_prob:.3f} bits "
            f"(ln P = {ex.log2_prob * math.log(2):.3f}); perplexity = 2^({-ex.log2_prob:.3f} / {n}) "
            f"= {ex.perplexity:.3f}"
        )
    else:
        zero = sum(1 for t in ex.tokens if t.prob == 0)
        click.echo(
            f"chain rule: {zero} token(s) got probability 0, so P(text) = 0 and perplexity is infinite "
            f"(an unsmoothed model gives unseen n-grams nothing)"
        )


def _val_tokens(run: Any, tokenizer: Any, encoding: str | None = None) -> Any:
    """The run's validation split, as its tokenizer reads it."""
    from lmtui.corpus import load_text, split_text

    _, text = load_text(run.meta["corpus"]["spec"], encoding or run.encoding)
    return tokenizer.encode(split_text(text, run.meta["corpus"].get("unit", "text")).val)


@click.command()
@click.argument("name", shell_complete=complete_run)
@click.option(
    "--k", "k_max", type=click.IntRange(1, 1000), help="Steps back to measure [100, capped by seq-len]."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def gradients(name: str, k_max: int | None, as_json: bool) -> None:
    """How much gradient reaches the input k steps back in run NAME (vanishing gradients, measured).

    \b
    On a fixed batch of validation windows: mean ‖∂loss_T / ∂x_(T-k)‖ for k = 1..K. A recurrent
    network first reads the 100 tokens before each window (no gradient through them), so even the
    furthest k is read in a state of real text, not next to an all-zero one.

    \b
    Examples:
      lmtui gradients scripts-rnn-char
      lmtui gradients scripts-lstm-char --k 50 --json
    """
    from lmtui.lab.gradients import DEFAULT_K, gradient_reach

    run, tokenizer, model = _load(name)
    if run.model_config.model == "ngram":
        raise LmtuiError(f"run {name!r} is an n-gram model: it is counted, not trained by gradients")
    k = k_max or min(DEFAULT_K, int(run.meta.get("train", {}).get("seq_len") or DEFAULT_K))
    try:
        reach = gradient_reach(model, _val_tokens(run, tokenizer), k)
    except ValueError as exc:
        raise LmtuiError(str(exc)) from None
    if as_json:
        _json({"run": name, **reach.to_dict()})
        return
    from rich.table import Table

    title = f"{shown(name)}: gradient reaching k steps back ({reach.window()})"
    bars = "log scale" if terminal() else ""  # a headerless column: left out in a pipe
    table = Table("k", "gradient norm", "vs 1 step back", bars, title=title)
    last = len(reach.norms)
    steps = sorted({k for k in (1, 2, 3, 5, 10, 20, 30, 40, 50, 60, 80, 100, 150, 200) if k <= last} | {last})
    for k in steps:
        norm, ratio = reach.norms[k - 1], reach.ratio(k)
        bar = "█" * max(0, 30 + round(2 * math.log10(ratio))) if ratio > 0 else ""  # 2 blocks a decade
        table.add_row(str(k), f"{norm:.3g}", f"{ratio:.3g}", bar)
    print_table(table)
    if reach.note:
        note(reach.note)
    elif reach.ratio(last) > 0:
        click.echo(
            f"the gradient {last} steps back is {1 / reach.ratio(last):.3g} times smaller than 1 step back"
            + (" (bars: 2 blocks per factor of 10)" if bars else "")
        )


@click.command()
@click.argument("corpus", shell_complete=complete_corpus)
@click.option(
    "--models",
    default="1gram,2gram,3gram,4gram,5gram,window,rnn,lstm,gru",
    show_default=True,
    help="Comma-separated: 1gram..6gram, window, rnn, lstm, gru.",
)
@click.option(
    "--max-seconds",
    type=float,
    help="Training budget per neural model, the same for each: seconds inside training steps (start-up, "
    "evaluations and the final scoring excluded) [default: 30; none with --steps alone].",
)
@click.option("--seconds", "old_seconds", type=float, hidden=True)  # the earlier name of --max-seconds
@click.option(
    "--steps",
    type=click.IntRange(1),
    help="Instead (or as well): train each neural model this many steps (reproducible on a busy machine; "
    "tokens per step differ by model: see the tokens column).",
)
@click.option(
    "--level",
    type=click.Choice(["char", "word"]),
    help="Tokens, the same for every model: as `lmtui train` chooses [a bundled corpus's suggestion; your "
    "own text: word when every model is an n-gram, else char].",
)
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path), help="Write compare.md, .csv and .json here."
)
@click.option("--encoding", help="Text encoding of your file if it is not UTF-8 (e.g. latin-1).")
@click.option("--events", type=click.Choice(["jsonl"]), help="Print progress as JSON lines (for the app).")
@click.option("--json", "as_json", is_flag=True, help="Print only the result as one JSON object.")
@click.option(
    "--control",
    type=click.Choice(["stdin"]),
    help="Also take a stop line on stdin; its end stops too (how the app drives a comparison).",
)
def compare(
    corpus: str,
    models: str,
    max_seconds: float | None,
    old_seconds: float | None,
    steps: int | None,
    level: str | None,
    out_dir: Path | None,
    encoding: str | None,
    events: str | None,
    as_json: bool,
    control: str | None,
) -> None:
    """Train several models on CORPUS with the same split, vocabulary and budget: the perplexity table.

    \b
    Every neural model gets the same training: --max-seconds of time inside training steps (or --steps);
    n-grams count the training text once, whatever the budget. Each row says what its budget bought (steps,
    tokens read, seconds in training steps) and every figure is scored on the test text. Lower perplexity
    and fewer bits per character are better.

    \b
    The models are runs of their own in $LMTUI_HOME/runs, one group per comparison: cmp3-scripts-lstm and
    its siblings carry the group cmp3 (`lmtui runs` shows it; `lmtui delete --group cmp3` deletes them all).
    Ctrl+C stops: the model in training is saved as "stopped", the ones finished are kept.

    \b
    Examples:
      lmtui compare scripts --max-seconds 60 --out compare/
      lmtui compare speeches --level word --models 2gram,3gram,lstm --json
      lmtui compare scripts --models 5gram,lstm --steps 200
    """
    from lmtui.lab.compare import parse_models, run_comparison

    if max_seconds is not None and old_seconds is not None:
        raise LmtuiError("--seconds is the old name of --max-seconds: give one of them")
    seconds = max_seconds if max_seconds is not None else old_seconds
    flag = "--max-seconds" if max_seconds is not None else "--seconds"
    if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
        raise LmtuiError(f"{flag} must be a positive number, not {seconds}")
    if seconds is None and steps is None:
        seconds = 30.0
    if events and as_json:
        raise LmtuiError("--events jsonl and --json are two output formats; choose one")
    try:
        labels = parse_models(models)
    except ValueError as exc:
        raise LmtuiError(f"--models: {exc}") from None
    level = level or _default_level(corpus, labels)
    import sys

    from lmtui.control import Output, Signals, control_from_stdin, stop_when_orphaned
    from lmtui.training import Control

    stop = Control()
    if control == "stdin":
        if corpus == "-":
            raise LmtuiError("--control stdin and CORPUS - both read standard input; choose one")
        control_from_stdin(stop, sys.stdin)
    out = Output(stop, sys.stdout)
    if events:
        stop_when_orphaned(stop)
    result = None
    with Signals(stop):
        for ev in run_comparison(corpus, labels, seconds, level, encoding, stop, steps):
            if ev["event"] == "done":
                result = ev["result"]
            elif events:
                out.write(json_text(ev) + "\n")
            elif ev["event"] == "model" and not as_json:
                where = f"{ev['label']} as {ev['run']} ({ev['index'] + 1}/{ev['count']})"
                say(f"training {where}…", err=True)
    assert result is not None
    written = _write_comparison(result, out_dir) if out_dir and result.rows else []
    if events:
        out.write(json_text({"event": "done", "result": result.to_dict(), "written": written}) + "\n")
    elif as_json:
        _json({**result.to_dict(), "written": written})
    else:
        _print_comparison(result, written)
    if stop.stop and stop.reason == "interrupted":  # Ctrl+C, as `lmtui train` says it
        sys.exit(130)


def _default_level(corpus: str, labels: list[str]) -> str:
    """`lmtui train`'s choice (options.default_level), for models that share one vocabulary: n-gram when
    every model is one, else neural."""
    from lmtui.corpus import find_corpus
    from lmtui.lab.compare import NEURAL
    from lmtui.options import LEVEL_NOTE, default_level

    info = find_corpus(corpus)
    family = "lstm" if any(label in NEURAL for label in labels) else "ngram"
    level = default_level(family, info.level, info.bundled)
    if level != info.level:
        note(LEVEL_NOTE)
    return level


def _print_comparison(result: Any, written: list[str]) -> None:
    from rich.table import Table

    table = Table(*result.COLUMNS, title=shown(result.title()))
    for row in result.rows:
        table.add_row(*(shown(c) for c in result.cells(row)))
    print_table(table)
    say(
        "steps, tokens: what each budget bought (tokens read = steps x batch x k1; an n-gram counts the "
        "training text once); train s: seconds inside training steps; lower perplexity and bits/char are "
        "better",
        err=True,
    )
    if result.verdict:
        say(result.verdict)
    for path in written:
        say(f"wrote {path}", err=True)


def _write_comparison(result: Any, out_dir: Path) -> list[str]:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = [out_dir / "compare.md", out_dir / "compare.csv", out_dir / "compare.json"]
        paths[0].write_text(result.markdown(), encoding="utf-8")
        paths[1].write_text(result.csv(), encoding="utf-8")
        paths[2].write_text(
            json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    except OSError as exc:
        raise LmtuiError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    return [str(p) for p in paths]


@click.command()
@click.argument("name", shell_complete=complete_run)
@click.argument("text")
@click.option("--top", type=click.IntRange(1, 100), default=5, show_default=True, help="Units per feature.")
@click.option(
    "--state", type=click.Choice(["h", "c", "input", "forget", "output", "candidate"]), default="h",
    show_default=True, help="What to read: the hidden state h, or an LSTM's cell state c or its gates.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (with every activation).")
def neurons(name: str, text: str, top: int, state: str, as_json: bool) -> None:
    """Which hidden units of char run NAME follow simple features of TEXT (quotes, brackets, line position…).

    \b
    An LSTM unit has more than h to show: its cell state c (what it carries) and its input, forget and
    output gates (in [0, 1]: a forget gate near 1 keeps the cell, near 0 clears it) (--state).

    \b
    Examples:
      lmtui neurons scripts-lstm-char 'HAMLET: (aside) "To be"' --top 3
      lmtui neurons scripts-lstm-char "To be, or not to be" --state forget
      lmtui neurons paint-colours-gru-char "Sky Blue 135 206 235" --json
    """
    from lmtui.lab.neurons import neurons as read_neurons

    run, tokenizer, model = _load(name)
    try:
        data = read_neurons(model, tokenizer, text, top, state)
    except ValueError as exc:
        raise LmtuiError(f"run {name!r}: {exc}") from None
    if as_json:
        _json({"run": name, **data})
        return
    if state != "h":
        click.echo(f"reading the {data['state_name']}")
    if not data["ranking"]:
        click.echo("none of the features changes along this text; give a longer or more varied one")
    for feature, matches in data["ranking"].items():
        units = ", ".join(f"unit {m['unit']} (r = {m['r']:+.2f})" for m in matches)
        say(f"{feature}: {units}")
    for c in data["confounded"]:
        a, b = c["features"]
        note(
            f"{a!r} and {b!r} go together in this text (r = {c['r']:+.2f}): a unit that follows one "
            "follows the other too; a text where they part tells them apart"
        )
    if data["ranking"]:
        click.echo(
            f"(r over this text's {len(text):,} characters; a feature at a character is of the text "
            "read up to it, as the state after reading it is)",
            err=True,
        )


COMMANDS = [explain, gradients, compare, neurons]
