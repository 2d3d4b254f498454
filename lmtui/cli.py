"""The command line: a click group whose bare form opens the TUI; subcommands wrap the engine thinly."""

from __future__ import annotations

import json
import math
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from lmtui import __version__
from lmtui.errors import LmtuiError

MODEL_FIELDS = ("order", "smoothing", "k", "context", "embed", "hidden", "layers", "dropout", "tie_weights")
TRAIN_FIELDS = ("steps", "max_seconds", "batch_size", "seq_len", "k1", "lr", "clip", "eval_every", "device")
SHARED_FIELDS = ("seed", "max_vocab", "min_count")  # every model takes these
NGRAM_ONLY = MODEL_FIELDS[:3]
NEURAL_ONLY = MODEL_FIELDS[3:] + TRAIN_FIELDS  # an n-gram model has no layers and trains in one counting pass


class Group(click.Group):
    """Turns the engine's LmtuiError into a one-line error and exit status 1 (never a traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LmtuiError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:  # `lmtui sample … | head`
            sys.stderr.close()
            sys.exit(0)


def given(name: str) -> bool:
    """Did the user type this option (rather than it taking its default)?"""
    source = click.get_current_context().get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(cls=Group, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lmtui")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Train small n-gram and neural language models on a text, watch them learn, and sample from them.

    Run bare `lmtui` to open the terminal app.
    """
    if ctx.invoked_subcommand is None:
        try:
            from lmtui.tui.app import run_app
        except ImportError:
            click.echo(ctx.get_help())
            return
        run_app()


# -- corpora


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def corpora(as_json: bool) -> None:
    """List the bundled corpora (any text file or folder of .txt files works too)."""
    from lmtui.corpus import bundled_corpora

    items = [
        {
            "name": c.name,
            "title": c.title,
            "description": c.description,
            "unit": c.unit,
            "level": c.level,
            "bytes": c.path.stat().st_size if c.path.is_file() else 0,
            "source": c.source,
            "licence": c.licence,
        }
        for c in bundled_corpora()
    ]
    if as_json:
        print_json({"corpora": items})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "title", "size", "unit", "level", "description")
    for c in items:
        table.add_row(
            c["name"], c["title"], f"{c['bytes'] / 1e6:.1f} MB", c["unit"], c["level"], c["description"]
        )
    Console().print(table)


# -- train


@main.command()
@click.argument("corpus", required=False)
@click.option(
    "--model",
    type=click.Choice(["ngram", "window", "rnn", "lstm", "gru"]),
    default="lstm",
    show_default=True,
    help="Model family.",
)
@click.option(
    "--level", type=click.Choice(["char", "word"]), help="Tokens: characters or words [corpus's suggestion]."
)
@click.option(
    "--preset",
    type=click.Choice(["quick", "small", "large"]),
    default="small",
    show_default=True,
    help="Starting hyperparameters and time budget.",
)
@click.option("--order", type=int, help="n-gram order, 1-6 [3].")
@click.option(
    "--smoothing",
    type=click.Choice(["kn", "add-k", "backoff", "mle"]),
    help="n-gram smoothing [kn]; mle is none at all (unseen words get probability 0).",
)
@click.option("--k", type=float, help="add-k's k: 1 is Laplace, else Lidstone [1].")
@click.option("--context", type=int, help="Window model: how many previous tokens it sees.")
@click.option("--embed", type=int, help="Embedding size.")
@click.option("--hidden", type=int, help="Hidden size.")
@click.option("--layers", type=int, help="Recurrent layers.")
@click.option("--dropout", type=float, help="Dropout probability.")
@click.option("--tie-weights/--no-tie-weights", default=None, help="Share embedding and output weights.")
@click.option("--steps", type=int, help="Total optimizer steps (a run resumed past it gets this many more).")
@click.option("--max-seconds", type=float, help="Seconds for this session (first budget used up ends it).")
@click.option("--batch-size", type=int, help="Parallel streams per step.")
@click.option("--seq-len", type=int, help="k2: tokens gradients flow back through (truncated BPTT).")
@click.option("--k1", type=int, help="Tokens read between updates (default: --seq-len).")
@click.option("--lr", type=float, help="Peak learning rate (AdamW, warm-up then cosine decay).")
@click.option("--clip", type=float, help="Gradient-norm clipping threshold (0: off).")
@click.option("--eval-every", type=int, help="Steps between validation passes.")
@click.option("--max-vocab", type=int, help="Word level: keep the most frequent N words [10000].")
@click.option("--min-count", type=int, help="Word level: drop words seen fewer times [1].")
@click.option("--name", help="Run name [CORPUS-MODEL-LEVEL].")
@click.option(
    "--resume", "resume", metavar="NAME", help="Continue training this run from its last checkpoint."
)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), help="Where to train [auto].")
@click.option("--seed", type=int, help="Random seed [1337].")
@click.option("--encoding", help="Text encoding of your file if it is not UTF-8 (e.g. latin-1).")
@click.option(
    "--events", type=click.Choice(["jsonl"]), help="Write one JSON event per line to stdout instead."
)
@click.option("--json", "as_json", is_flag=True, help="Print only the final result as one JSON object.")
def train(corpus: str | None, **opts: Any) -> None:
    """Train a model on CORPUS (a bundled corpus name, a text file, or a folder of .txt files)."""
    if opts["events"] and opts["as_json"]:
        raise LmtuiError("--events jsonl and --json are two output formats; choose one")
    if opts["events"]:
        _train_jsonl(lambda: _job_from_options(corpus, opts))
    else:
        _train_display(_job_from_options(corpus, opts), opts["as_json"])


def _job_from_options(corpus: str | None, opts: dict[str, Any]):  # noqa: ANN202 (returns a training.Job)
    from lmtui.corpus import find_corpus
    from lmtui.presets import preset_configs
    from lmtui.runs import load_run, validate_name
    from lmtui.training import Job

    if opts["resume"]:
        run = load_run(opts["resume"])
        fixed = [
            f"--{n.replace('_', '-')}"
            for n in (*MODEL_FIELDS, "model", "level", "preset", "name", *TRAIN_FIELDS, *SHARED_FIELDS)
            if given(n) and n not in ("steps", "max_seconds", "device")
        ]
        if corpus or fixed:
            what = ", ".join(fixed + (["CORPUS"] if corpus else []))
            raise LmtuiError(
                f"--resume continues run {run.name!r} with its own corpus, model and settings "
                f"(only --steps, --max-seconds and --device change); drop {what}"
            )
        from lmtui.models import ModelConfig
        from lmtui.training import TrainConfig

        train_cfg = TrainConfig.from_dict(run.meta["train"])
        for name in ("steps", "max_seconds", "device"):
            if given(name):
                train_cfg = replace(train_cfg, **{name: opts[name]})
        if given("steps") and not given("max_seconds"):
            train_cfg = replace(train_cfg, max_seconds=None)
        return Job(
            run.meta["corpus"]["spec"],
            ModelConfig.from_dict(run.meta["model"]),
            train_cfg,
            name=run.name,
            resume=True,
            encoding=opts["encoding"],
        )
    if not corpus:
        raise LmtuiError(
            "name a corpus to train on (see `lmtui corpora`) or a path to your text, or --resume NAME"
        )
    model = opts["model"]
    wrong = NEURAL_ONLY if model == "ngram" else NGRAM_ONLY
    clashes = [f"--{n.replace('_', '-')}" for n in wrong if given(n)]
    if clashes:
        family = "n-gram models" if model == "ngram" else f"the {model} model"
        hint = " (the window model's size is --context)" if "--order" in clashes and model == "window" else ""
        raise LmtuiError(f"{', '.join(clashes)} does not apply to {family}{hint}")
    if model != "window" and given("context"):
        raise LmtuiError("--context applies to the window model only")
    if model not in ("rnn", "lstm", "gru") and (given("layers") or given("tie_weights")):
        raise LmtuiError("--layers and --tie-weights apply to rnn, lstm and gru models")
    if opts["name"]:
        validate_name(opts["name"])
    level = opts["level"] or find_corpus(corpus).level
    if level == "char" and (given("max_vocab") or given("min_count")):
        raise LmtuiError("--max-vocab and --min-count apply to word-level models (--level word)")
    model_cfg, train_cfg = preset_configs(model, level, opts["preset"])
    model_cfg = replace(model_cfg, **{n: opts[n] for n in MODEL_FIELDS if opts[n] is not None})
    if given("k") and model_cfg.smoothing != "add-k":
        raise LmtuiError(f"--k is add-k's constant; it does not apply to --smoothing {model_cfg.smoothing}")
    train_cfg = replace(
        train_cfg, **{n: opts[n] for n in TRAIN_FIELDS + SHARED_FIELDS if opts[n] is not None}
    )
    if given("steps") and not given("max_seconds"):
        train_cfg = replace(train_cfg, max_seconds=None)  # --steps alone: train exactly that many steps
    return Job(corpus, model_cfg, train_cfg, name=opts["name"], encoding=opts["encoding"])


class _Signals:
    """SIGINT/SIGTERM stop training at the next step (a checkpoint is saved); SIGUSR1/SIGUSR2 pause/resume."""

    def __init__(self, control: Any):
        self.control = control
        self.old: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        def stop(signum: int, _frame: Any) -> None:
            if self.control.stop and signum == signal.SIGINT:
                raise KeyboardInterrupt  # a second Ctrl+C: stop now
            self.control.stop = True
            self.control.reason = "interrupted" if signum == signal.SIGINT else "stopped"

        def pause(signum: int, _frame: Any) -> None:
            self.control.paused = signum == signal.SIGUSR1

        handlers: dict[int, Callable[[int, Any], None]] = {signal.SIGINT: stop, signal.SIGTERM: stop}
        if hasattr(signal, "SIGUSR1"):
            handlers.update({signal.SIGUSR1: pause, signal.SIGUSR2: pause})
        for sig, handler in handlers.items():
            self.old[sig] = signal.signal(sig, handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.old.items():
            signal.signal(sig, handler)


def _stop_when_orphaned(control: Any) -> None:
    """A child whose parent died (a crashed app) stops and saves, even while paused and writing nothing."""
    import os
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while not control.stop:
            if os.getppid() != parent:
                control.reason, control.paused, control.stop = "stopped", False, True
            time.sleep(0.5)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


def _train_jsonl(make_job: Callable[[], Any]) -> None:
    """Every outcome, a refused option included, ends in a finished or failed event line."""
    from lmtui.events import Failed, Finished
    from lmtui.training import Control, train

    control = Control()
    out = sys.stdout
    _stop_when_orphaned(control)
    with _Signals(control):
        try:
            for event in train(make_job(), control):
                out.write(event.to_json() + "\n")
                out.flush()
                if isinstance(event, Finished) and event.reason == "interrupted":
                    sys.exit(130)
        except LmtuiError as exc:
            out.write(Failed(str(exc)).to_json() + "\n")
            out.flush()
            raise


def _train_display(job: Any, as_json: bool) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from lmtui.events import Eval, Finished, NgramCounts, Note, Sample, Started, Step
    from lmtui.runs import load_run
    from lmtui.training import Control, result_dict, train

    console = Console(stderr=as_json, quiet=as_json)
    control = Control()
    finished: Finished | None = None
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    task = None
    with _Signals(control):
        try:
            for event in train(job, control):
                if isinstance(event, Started):
                    console.print(
                        f"[bold]{event.run}[/]: {event.model} ({event.level}) on {event.corpus}, "
                        f"{event.parameters:,} parameters, vocabulary {event.vocab_size:,}, "
                        f"{event.train_tokens:,} training tokens, device {event.device}"
                        + (f", resuming at step {event.start_step}" if event.start_step else "")
                    )
                    if event.model != "ngram":
                        progress.start()  # only now: an early error leaves no empty progress line behind
                        task = progress.add_task("training", total=1.0, info="")
                elif isinstance(event, Step) and task is not None:
                    progress.update(
                        task,
                        completed=event.progress,
                        info=f"step {event.step}  loss {event.train_loss:.3f}  |g| {event.grad_norm:.2f}  "
                        f"{event.tokens_per_s:,.0f} tok/s",
                    )
                elif isinstance(event, Eval):
                    bpc = f"  {event.bits_per_char:.3f} bits/char" if event.bits_per_char else ""
                    star = "  (best)" if event.best else ""
                    console.print(
                        f"step {event.step:>6}  val loss {event.val_loss:.4f} nats  "
                        f"perplexity {event.val_ppl:.2f}{bpc}{star}"
                    )
                elif isinstance(event, NgramCounts):
                    counts = ", ".join(f"{n + 1}-grams {c:,}" for n, c in enumerate(event.counts))
                    console.print(f"counted in {event.seconds:.2f} s: {counts}")
                elif isinstance(event, Sample):
                    console.print(
                        "[dim]" + event.text.strip()[:160].replace("\n", " ⏎ ").replace("[", r"\[") + "[/]"
                    )
                elif isinstance(event, Note):
                    console.print(f"[yellow]note:[/] {event.message}")
                elif isinstance(event, Finished):
                    finished = event
        finally:
            progress.stop()
    if finished is None:
        return
    if as_json:
        print_json(result_dict(finished, load_run(finished.run)))
    else:
        test = f", test perplexity {finished.test_ppl:.2f}" if finished.test_ppl else ""
        console.print(
            f"[bold green]{finished.run}[/]: validation perplexity {finished.val_ppl:.2f}{test} "
            f"after {finished.step} steps, {finished.elapsed:.1f} s ({finished.reason})"
        )
        if finished.reason == "interrupted":
            console.print(f"checkpoint saved; continue with: lmtui train --resume {finished.run}")
    if finished.reason == "interrupted":
        sys.exit(130)


# -- sample, predict, eval


def _positive(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and value < 1:
        raise click.BadParameter("must be at least 1")
    return value


@main.command()
@click.argument("name")
@click.option("--temperature", "-t", type=float, default=0.8, show_default=True, help="0 is greedy.")
@click.option("--top-k", type=int, help="Sample only from the k most likely tokens.")
@click.option("--top-p", type=float, help="Sample only from the smallest set with this much probability.")
@click.option("--prime", default="", help="Text the sample continues.")
@click.option("--length", type=int, default=300, show_default=True, help="Tokens per sample.")
@click.option(
    "--count", type=int, default=1, show_default=True, callback=_positive, help="Number of samples."
)
@click.option("--stop-lines", type=int, help="Stop a sample after this many lines.")
@click.option("--seed", type=int, help="Seed for reproducible samples.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def sample(
    name: str,
    temperature: float,
    top_k: int | None,
    top_p: float | None,
    prime: str,
    length: int,
    count: int,
    stop_lines: int | None,
    seed: int | None,
    as_json: bool,
) -> None:
    """Generate text from run NAME, streamed as it is written."""
    from lmtui.runs import load_run
    from lmtui.sampling import SampleSettings, generate

    settings = SampleSettings(temperature, top_k, top_p, length, prime, stop_lines, seed).validate()
    run = load_run(name)
    tokenizer, model = run.tokenizer(), run.load_model()
    unknown = tokenizer.unknown(prime)
    if unknown and not as_json:
        shown = ", ".join(repr(u) for u in unknown[:8])
        click.echo(f"note: not in {name}'s vocabulary, read as <unk>: {shown}", err=True)
    texts = []
    for i in range(count):
        one = replace(settings, seed=None if seed is None else seed + i)
        pieces: Iterator[str] = generate(model, tokenizer, one)
        if as_json:
            texts.append("".join(pieces))
            continue
        if i:
            click.echo("\n" + "-" * 40)
        click.echo(prime, nl=False)
        for piece in pieces:
            click.echo(piece, nl=False)
        click.echo()
    if as_json:
        print_json({"run": name, "settings": settings.to_dict(), "unknown": unknown, "samples": texts})


@main.command()
@click.argument("name")
@click.argument("context")
@click.option("--top", type=int, default=10, show_default=True, callback=_positive, help="How many tokens.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def predict(name: str, context: str, top: int, as_json: bool) -> None:
    """Show the most likely next tokens after CONTEXT ("the students opened their ___")."""
    from lmtui.runs import load_run
    from lmtui.sampling import predict_next

    run = load_run(name)
    tokenizer = run.tokenizer()
    preds = predict_next(run.load_model(), tokenizer, context, top)
    if as_json:
        print_json(
            {
                "run": name,
                "context": context,
                "unknown": tokenizer.unknown(context),
                "next": [{"token": p.token, "prob": p.prob} for p in preds],
            }
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("token", "probability", "", title=f"after {context!r}")
    for p in preds:
        table.add_row(p.token, f"{p.prob:.4f}", "█" * max(1, round(p.prob * 40)))
    Console().print(table)


@main.command(name="eval")
@click.argument("name")
@click.option(
    "--text", "text_path", type=click.Path(path_type=Path), help="Score this text instead of the test split."
)
@click.option("--encoding", help="Encoding of --text if it is not UTF-8.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def eval_(name: str, text_path: Path | None, encoding: str | None, as_json: bool) -> None:
    """Perplexity of run NAME on its corpus's test split, or on another text."""
    from lmtui.corpus import load_text, split_text
    from lmtui.runs import load_run

    run = load_run(name)
    tokenizer = run.tokenizer()
    if text_path is not None:
        _, text = load_text(str(text_path), encoding)
        source = str(text_path)
    else:
        _, full = load_text(run.meta["corpus"]["spec"], encoding)
        text, source = split_text(full, run.meta["corpus"].get("unit", "text")).test, "test split"
    ids = tokenizer.encode(text)
    if len(ids) < 2:
        raise LmtuiError(f"{source} has fewer than two {tokenizer.level} tokens to score")
    from lmtui.lab.scoring import score

    model = run.load_model()
    scored = score(model, ids, len(text))
    result = {"run": name, "text": source, "chars": len(text), **scored.to_dict()}
    if run.model_config.model == "ngram":
        from lmtui.lab.sparsity import sparsity_by_order

        result["sparsity"] = [o.to_dict() for o in sparsity_by_order(model, ids)]
    if as_json:
        print_json(result)
        return
    click.echo(f"{name} on {source}: {_eval_line(scored)}")
    for o in result.get("sparsity", []):
        click.echo(
            f"  order {o['order']}: {o['unseen']:6.1%} of its {o['held_out']:,} n-grams never seen in "
            f"training ({o['context_unseen']:.1%} with an unseen context); {o['stored']:,} stored, "
            f"{o['bytes']:,} bytes"
        )


def _eval_line(s: Any) -> str:
    """One plain line for a lab.scoring.Score: infinite perplexity and the <unk> share said in words."""
    if s.zero_prob_tokens:
        head = (
            f"{s.tokens:,} tokens, perplexity infinite: {s.zero_prob_tokens:,} of {s.predicted:,} tokens got "
            f"probability 0 (never seen after their context; unsmoothed counts give them nothing)"
        )
    else:
        head = (
            f"{s.tokens:,} tokens, loss {s.loss:.4f} nats, perplexity {s.ppl:.2f}, "
            f"{s.bits_per_char:.3f} bits/char"
        )
    if not s.unk_tokens:
        return head + ", no unknown tokens"
    excl = "infinite" if not math.isfinite(s.ppl_excl_oov) else f"{s.ppl_excl_oov:.2f}"
    return head + f", unknown {s.unk_rate:.2%} (<unk>); perplexity excluding <unk> {excl}"


# -- runs


@main.command(name="runs")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def runs_(as_json: bool) -> None:
    """List trained runs: the perplexity table for your own models."""
    from lmtui.runs import list_runs, runs_dir

    rows = [r.summary() for r in list_runs()]
    if as_json:
        print_json({"runs_dir": str(runs_dir()), "runs": rows})
        return
    if not rows:
        click.echo(f"no runs yet in {runs_dir()}; train one with: lmtui train scripts")
        return
    from rich.console import Console
    from rich.table import Table

    def num(v: Any, fmt: str) -> str:
        return format(v, fmt) if isinstance(v, int | float) else "-"

    table = Table(
        "name", "corpus", "model", "level", "params", "val ppl", "test ppl", "bits/char", "<unk>", "time",
        "status",
    )
    for r in rows:
        table.add_row(
            r["name"],
            r["corpus"],
            r["model"],
            r["level"],
            num(r["parameters"], ","),
            "∞" if r.get("val_ppl_infinite") else num(r["val_ppl"], ".2f"),
            num(r["test_ppl"], ".2f"),
            num(r["bits_per_char"], ".3f"),
            num(r.get("val_unk_rate"), ".1%"),
            num(r["train_seconds"], ".1f") + "s",
            r["status"] or "",
        )
    Console().print(table)


@main.command()
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(name: str, yes: bool) -> None:
    """Delete run NAME and its files."""
    from lmtui.runs import delete_run, load_run

    load_run(name)
    if not yes:
        click.confirm(f"delete run {name!r} and all its files?", abort=True)
    delete_run(name)
    click.echo(f"deleted {name}")


@main.command(name="export-arpa")
@click.argument("name")
@click.argument("path", type=click.Path(path_type=Path))
def export_arpa(name: str, path: Path) -> None:
    """Write n-gram run NAME as an ARPA file (KenLM, SRILM)."""
    from lmtui.runs import load_run
    from lmtui.tokens import arpa_token_names

    run = load_run(name)
    if run.model_config.model != "ngram":
        raise LmtuiError(f"run {name!r} is a {run.model_config.model} model; ARPA holds n-gram models only")
    model = run.load_model()
    try:
        model.write_arpa(path, arpa_token_names(run.tokenizer()))  # type: ignore[attr-defined]
    except ValueError as exc:
        raise LmtuiError(str(exc)) from None
    except OSError as exc:
        raise LmtuiError(f"cannot write {path}: {exc.strerror or exc}") from None
    click.echo(f"wrote {path}")


@main.command()
@click.argument("name")
@click.argument("path", type=click.Path(path_type=Path))
def export(name: str, path: Path) -> None:
    """Write run NAME as one shareable file (safetensors: weights, config and vocabulary; no pickle)."""
    from lmtui.runs import export_bundle

    click.echo(f"wrote {export_bundle(name, path)}")


@main.command(name="import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--name", help="Name for the imported run [the name it was exported with].")
def import_(path: Path, name: str | None) -> None:
    """Add a run someone shared (made by `lmtui export`), after checking all of it."""
    from lmtui.runs import import_bundle

    run = import_bundle(path, name)
    click.echo(
        f"imported {run.name}: {run.meta['model']['model']} ({run.meta['model']['level']}) "
        f"trained on {run.meta['corpus']['name']}"
    )


def _add_lab_commands() -> None:
    from lmtui.cli_lab import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_add_lab_commands()

if __name__ == "__main__":
    main()
