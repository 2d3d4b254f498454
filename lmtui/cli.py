"""The command line: a click group whose bare form opens the TUI; subcommands wrap the engine thinly."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from lmtui import __version__
from lmtui.cliutil import (
    complete_corpus,
    complete_run,
    families_text,
    interactive,
    note,
    print_table,
    say,
    training_options,
)
from lmtui.columns import LAST, LESSER
from lmtui.control import StopNow
from lmtui.errors import LmtuiError, OptionError
from lmtui.options import OPTIONS, SEED_MAX
from lmtui.visible import json_text, visible_line, visible_text

MODEL_FIELDS = tuple(o.name for o in OPTIONS if o.group == "model")
TRAIN_FIELDS = tuple(o.name for o in OPTIONS if o.group == "train")
# what a resumed run may change: its budget and how it runs, never what it is
RESUME_FIELDS = ("steps", "max_seconds", "checkpoint_every", "device", "precision", "threads")
JOB_STARTS_SESSION = False  # set by a process that waited for its job before running `train` in-process
NEEDS_TERMINAL = "the lmtui app needs a terminal; in scripts, run one of the commands above"


class BadUsage(LmtuiError):
    """Options that contradict each other or are missing: exit status 2, like a bad option value."""


class _UsageExit(click.ClickException):
    """One line and exit status 2 (click's own usage errors exit 2 too, but print the usage first)."""

    exit_code = 2


class Group(click.Group):
    """Turns the engine's errors into one line (never a traceback): a bad option value (OptionError) exits 2
    like a usage error, any other LmtuiError (files, runs, training) exits 1. Messages name files, fields
    and values from files: their control characters are made visible (lmtui.visible), whoever wrote them."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (OptionError, BadUsage) as exc:
            raise _UsageExit(visible_line(str(exc))) from None
        except LmtuiError as exc:
            raise click.ClickException(visible_line(str(exc))) from None
        except StopNow:  # a stop while a training was starting (in compare: earlier models are kept)
            click.echo("stopped before training began: no run was made for it", err=True)
            sys.exit(130)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:  # `lmtui sample … | head`
            sys.stderr.close()
            sys.exit(0)
        except OSError as exc:  # a disk or path problem the engine did not foresee: still one line
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(visible_line(f"{where}{exc.strerror or exc}")) from None


def given(name: str) -> bool:
    """Did the user type this option (rather than it taking its default)?"""
    source = click.get_current_context().get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def print_json(data: Any) -> None:
    """Exact strings, safe on a terminal: C1 and format characters as \\u escapes (visible.json_text)."""
    click.echo(json_text(data, indent=2))


@click.group(
    cls=Group,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="lmtui")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Train small n-gram and neural language models on a text, watch them learn, and sample from them.

    Run bare `lmtui` in a terminal to open the app; the commands below do the same from a shell or a script
    (each takes --json). Runs are kept in $LMTUI_HOME/runs, or in your user data folder when LMTUI_HOME is
    not set (`lmtui runs --json` shows where).

    \b
    Examples:
      lmtui train scripts                      # a char LSTM on Shakespeare, about a minute
      lmtui sample scripts-lstm-char -t 0.7    # write with it
      lmtui runs                               # every run and its perplexity

    \b
    Shell completion of commands, run and corpus names (bash; zsh and fish alike):
      eval "$(_LMTUI_COMPLETE=bash_source lmtui)"
    """
    if ctx.invoked_subcommand is None:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):  # `lmtui </dev/null >out`, cron, a pipe
            click.echo(ctx.get_help())
            click.echo(f"Error: {NEEDS_TERMINAL}", err=True)
            ctx.exit(2)
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
    """List the bundled corpora (any text file or folder of .txt files works too).

    \b
    Examples:
      lmtui corpora
      lmtui corpora --json | jq -r '.corpora[].name'
    """
    from lmtui.corpus import bundled_corpora

    items: list[dict[str, Any]] = [
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
    from rich.table import Table

    table = Table("name", "title", "size", "unit", "level", "description")
    for c in items:
        table.add_row(
            c["name"], c["title"], f"{c['bytes'] / 1e6:.1f} MB", c["unit"], c["level"], c["description"]
        )
    print_table(table)


# -- train


@main.command()
@click.argument("corpus", required=False, shell_complete=complete_corpus)
@click.option(
    "--model",
    type=click.Choice(["ngram", "window", "rnn", "lstm", "gru"]),
    default="lstm",
    show_default=True,
    help="Model family.",
)
@click.option(
    "--level",
    type=click.Choice(["char", "word"]),
    help="Tokens: characters or words [a bundled corpus's suggestion; your own text: word for n-gram, "
    "char for neural models].",
)
@click.option(
    "--preset",
    type=click.Choice(["quick", "small", "large"]),
    default="small",
    show_default=True,
    help="Starting hyperparameters and time budget.",
)
@training_options
@click.option("--name", help="Run name [CORPUS-MODEL-LEVEL].")
@click.option(
    "--resume",
    "resume",
    metavar="NAME",
    shell_complete=complete_run,
    help="Continue training this run from its last checkpoint.",
)
@click.option("--encoding", help="Text encoding of your file if it is not UTF-8 (e.g. latin-1).")
@click.option(
    "--events", type=click.Choice(["jsonl"]), help="Write one JSON event per line to stdout instead."
)
@click.option("--json", "as_json", is_flag=True, help="Print only the final result as one JSON object.")
@click.option(
    "--control",
    type=click.Choice(["stdin"]),
    help="Also take pause/resume/stop lines on stdin; its end stops and saves (how the app drives training).",
)
def train(corpus: str | None, **opts: Any) -> None:
    """Train a model on CORPUS: a bundled corpus name (`lmtui corpora`), a text file, a folder of .txt files,
    or - for standard input. The run is saved in $LMTUI_HOME/runs (your user data folder if LMTUI_HOME is not
    set); Ctrl+C stops and saves a checkpoint to --resume from.

    Defaults shown in brackets are the small preset's at char level: --preset and --level word change them,
    and any option you give wins.

    \b
    Examples:
      lmtui train scripts                              # char LSTM, small preset (~1 min)
      lmtui train speeches --model ngram --order 4     # a 4-gram word model, in seconds
      lmtui train my-notes.txt --model gru --preset quick --name notes
      cat novel.txt | lmtui train - --model ngram      # text from a pipe
      lmtui train --resume notes --max-seconds 120     # two more minutes
    """
    from lmtui.timing import process_age
    from lmtui.training import Control

    # --max-seconds counts the whole session: from the command's start (the app's pre-started child, which
    # waited for its job, counts from the job)
    started = time.perf_counter() - (0.0 if JOB_STARTS_SESSION else process_age())
    control = Control(started=started)
    if opts["events"] and opts["as_json"]:
        raise BadUsage("--events jsonl and --json are two output formats; choose one")
    if opts["control"] == "stdin":
        if corpus == "-":
            raise BadUsage("--control stdin and CORPUS - both read standard input; choose one")
        from lmtui.control import control_from_stdin

        control_from_stdin(control, sys.stdin)
    if opts["events"]:
        _train_jsonl(lambda: _job_from_options(corpus, opts), control)
    else:
        _train_display(_job_from_options(corpus, opts), opts["as_json"], control)


def _job_from_options(corpus: str | None, opts: dict[str, Any]):  # noqa: ANN202 (returns a training.Job)
    from lmtui.corpus import find_corpus
    from lmtui.options import LEVEL_NOTE, check_encoding, default_level
    from lmtui.presets import preset_configs
    from lmtui.runs import load_run, validate_name
    from lmtui.training import Job, validate

    check_encoding(opts["encoding"])
    if opts["resume"]:
        run = load_run(opts["resume"])
        fixed = [
            f"--{n.replace('_', '-')}"
            for n in (*MODEL_FIELDS, "model", "level", "preset", "name", *TRAIN_FIELDS)
            if given(n) and n not in RESUME_FIELDS
        ]
        if corpus or fixed:
            what = ", ".join(fixed + (["CORPUS"] if corpus else []))
            raise BadUsage(
                f"--resume continues run {run.name!r} with its own corpus, model and settings "
                f"(only --steps, --max-seconds, --checkpoint-every, --device, --precision and --threads "
                f"change); drop {what}"
            )
        _needs_stdin(run.name, run.meta["corpus"]["spec"], f"lmtui train --resume {run.name}")
        from lmtui.models import ModelConfig
        from lmtui.training import TrainConfig

        # threads belong to the machine and the face (the app's child keeps a core free), not to the run
        train_cfg = replace(TrainConfig.from_dict(run.meta["train"]), threads=None)
        for name in RESUME_FIELDS:
            if given(name):
                train_cfg = replace(train_cfg, **{name: opts[name]})
        if given("steps") and not given("max_seconds"):
            train_cfg = replace(train_cfg, max_seconds=None)
        return Job(
            run.meta["corpus"].get("spec", ""),
            ModelConfig.from_dict(run.meta["model"]),
            train_cfg,
            name=run.name,
            resume=True,
            encoding=opts["encoding"],
        )
    if not corpus:
        raise BadUsage(
            "name a corpus to train on (see `lmtui corpora`) or a path to your text, or --resume NAME"
        )
    model = opts["model"]
    clashes = [o.flag for o in OPTIONS if model not in o.families and given(o.name)]
    if clashes:
        family = "n-gram models" if model == "ngram" else f"the {model} model"
        where = {o.flag: o.families for o in OPTIONS}
        hint = " (the window model's size is --context)" if "--order" in clashes and model == "window" else ""
        if not hint and model != "ngram":
            hint = f" ({clashes[0]} is for {families_text(where[clashes[0]])})"
        raise BadUsage(f"{', '.join(clashes)} does not apply to {family}{hint}")
    if opts["name"]:
        validate_name(opts["name"])
    info = find_corpus(corpus)
    level = opts["level"] or default_level(model, info.level, info.bundled)
    if not opts["level"] and level != info.level:
        click.echo(f"note: {LEVEL_NOTE}", err=True)
    if level == "char" and (given("max_vocab") or given("min_count")):
        raise BadUsage("--max-vocab and --min-count apply to word-level models (--level word)")
    model_cfg, train_cfg = preset_configs(model, level, opts["preset"])
    model_cfg = replace(model_cfg, **{n: opts[n] for n in MODEL_FIELDS if opts[n] is not None})
    if given("k") and model_cfg.smoothing != "add-k":
        raise BadUsage(f"--k is add-k's constant; it does not apply to --smoothing {model_cfg.smoothing}")
    train_cfg = replace(
        train_cfg, **{n: opts[n] for n in TRAIN_FIELDS if opts[n] is not None}
    )
    if given("steps") and not given("max_seconds"):
        train_cfg = replace(train_cfg, max_seconds=None)  # --steps alone: train exactly that many steps
    validate(model_cfg, train_cfg, opts["encoding"])  # before any output: a bad value is one line, exit 2
    return Job(corpus, model_cfg, train_cfg, name=opts["name"], encoding=opts["encoding"])


def _needs_stdin(name: str, spec: Any, command: str, other: str = "") -> None:
    """A run trained on piped text re-reads it from standard input, so that must not be the terminal."""
    from lmtui.corpus import STDIN

    if spec == STDIN and sys.stdin.isatty():
        raise BadUsage(
            f"run {name!r} was trained on text from standard input or a pipe: pipe the same text in "
            f"again (cat novel.txt | {command}){other}"
        )


def _train_jsonl(make_job: Callable[[], Any], control: Any) -> None:
    """Every outcome, a refused option included, ends in a finished or failed event line."""
    from lmtui.control import Output, Signals, stop_when_orphaned
    from lmtui.events import Failed, Finished
    from lmtui.training import train

    out = Output(control, sys.stdout)
    stop_when_orphaned(control)
    with Signals(control):
        try:
            for event in train(make_job(), control):
                out.write(json_text(event.to_dict()) + "\n")
                if isinstance(event, Finished) and event.reason == "interrupted":
                    sys.exit(130)
        except LmtuiError as exc:
            out.write(json_text(Failed(str(exc), getattr(exc, "step", None)).to_dict()) + "\n")
            raise


@main.command(hidden=True)
def trainer() -> None:
    """The app's training child, started before its job (lmtui/warm.py): loads torch and the engine (unless
    its job is there already), says {"event": "ready"}, then runs ONE job line from stdin (the arguments of
    `lmtui train`, a JSON list) as that command. End of stdin before a job: exit 0, quietly.

    \b
    Examples:
      echo '["scripts", "--preset", "quick", "--events", "jsonl"]' | lmtui trainer
    """
    from lmtui.events import Failed
    from lmtui.warm import READY, BadJob, job_waiting, read_job, warm_up

    global JOB_STARTS_SESSION
    waited = not job_waiting(sys.stdin)
    if waited:
        warm_up()
    try:
        sys.stdout.write(json.dumps(READY) + "\n")
        sys.stdout.flush()
        args = read_job(sys.stdin)
    except BadJob as exc:
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.write(json_text(Failed(str(exc)).to_dict()) + "\n")
            sys.stdout.flush()
        raise BadUsage(str(exc)) from None
    except (OSError, ValueError):  # the app went away before giving a job: nothing to do, nothing to say
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())  # the ready line still buffered goes nowhere at exit
        return
    if args is None:
        return
    JOB_STARTS_SESSION = waited  # its --max-seconds count from the job, not from the wait before it
    main.main(args=["train", *args], prog_name="lmtui")  # exits, with the command's own status


def _train_display(job: Any, as_json: bool, control: Any) -> None:
    from lmtui.control import Signals
    from lmtui.display import TrainDisplay
    from lmtui.events import Finished
    from lmtui.runs import load_run
    from lmtui.training import result_dict, train

    display = TrainDisplay(control, stderr=as_json, quiet=as_json)
    finished: Finished | None = None
    with Signals(control):
        try:
            for event in train(job, control):
                display.show(event)
                if isinstance(event, Finished):
                    finished = event
        finally:
            display.close()
    if finished is None:
        return
    if as_json:
        print_json(result_dict(finished, load_run(finished.run)))
    else:
        display.closing(finished)
    if finished.reason == "interrupted":
        sys.exit(130)


# -- sample, predict, eval


def _positive(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """``--count 0``: the same one-line, exit-2 error as any other bad value."""
    if value is not None and value < 1:
        raise OptionError(param.name or "", "must be at least 1")
    return value


@main.command()
@click.argument("name", shell_complete=complete_run)
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
@click.option(
    "--allow-unk", is_flag=True, help="Let samples contain <unk> (the token standing for every rare word)."
)
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
    allow_unk: bool,
    as_json: bool,
) -> None:
    """Generate text from run NAME, streamed as it is written.

    \b
    Examples:
      lmtui sample scripts-lstm-char --prime "ROMEO:" --stop-lines 4
      lmtui sample speeches-ngram-word -t 0.6 --top-p 0.9 --count 3 --seed 7
    """
    from collections import Counter

    from lmtui.runs import load_run
    from lmtui.sampling import SampleSettings, generate, notes_text

    settings = SampleSettings(temperature, top_k, top_p, length, prime, stop_lines, seed, allow_unk)
    settings.validate()
    run = load_run(name)
    tokenizer, model = run.tokenizer(), run.load_model()
    unknown = tokenizer.unknown(prime)
    if unknown and not as_json:
        shown = ", ".join(repr(u) for u in unknown[:8])
        say(f"note: not in {name}'s vocabulary, read as <unk>: {shown}", err=True)
    texts, all_notes = [], []
    for i in range(count):
        one = replace(settings, seed=None if seed is None else (seed + i) % (SEED_MAX + 1))
        notes: Counter[str] = Counter()  # draws that backed off, or why a sample ended early
        pieces: Iterator[str] = generate(model, tokenizer, one, notes)
        if as_json:
            texts.append("".join(pieces))
            all_notes.append(notes_text(notes))
            continue
        if i:
            click.echo("\n" + "-" * 40)
        click.echo(visible_text(prime), nl=False)
        for piece in pieces:  # a model writes what its corpus held: ESC too, shown as \x1b (--json: exact)
            click.echo(visible_text(piece), nl=False)
        click.echo()
        for line in notes_text(notes):
            click.echo(f"note: {line}", err=True)
    if as_json:
        print_json({"run": name, "settings": settings.to_dict(), "unknown": unknown, "samples": texts,
                    "notes": all_notes})


@main.command()
@click.argument("name", shell_complete=complete_run)
@click.argument("context")
@click.option("--top", type=int, default=10, show_default=True, callback=_positive, help="How many tokens.")
@click.option(
    "--temperature", "-t", type=float, default=0.8, show_default=True,
    help="Show the probabilities sampling at this temperature draws with (sample's default), beside the "
    "model's own at 1 (0: greedy).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def predict(name: str, context: str, top: int, temperature: float, as_json: bool) -> None:
    """Show the most likely next tokens after CONTEXT ("the students opened their ___"): each token's
    log-probability (the softmax's input), its probability, and with --temperature how T reshapes it.

    \b
    The softmax turns scores z into probabilities, p_i = exp(z_i / T) / sum_j exp(z_j / T): a neural net's
    logits differ from log p by one constant per context, which the softmax cancels, so log p stands for
    them; an n-gram model has no logits, its log-probabilities play their part. T < 1 sharpens, T > 1
    flattens, T = 1 is the model's own distribution.

    \b
    Examples:
      lmtui predict speeches-ngram-word "the people of the"
      lmtui predict scripts-lstm-char "To be or not to " --top 5 --temperature 0.5
    """
    from lmtui.runs import load_run
    from lmtui.sampling import SampleSettings, predict_next

    SampleSettings(temperature=temperature).validate()  # a negative or infinite T: one line, exit 2
    run = load_run(name)
    tokenizer = run.tokenizer()
    preds = predict_next(run.load_model(), tokenizer, context, top, temperature)
    if as_json:
        print_json(
            {
                "run": name,
                "context": context,
                "unknown": tokenizer.unknown(context),
                "temperature": temperature,
                "next": [
                    {"token": p.token, "log_prob": _finite(p.log_prob), "prob": p.prob,
                     "prob_at_1": p.model_prob}
                    for p in preds
                ],
            }
        )
        return
    from rich.markup import escape
    from rich.table import Table

    shown_t = temperature != 1
    table = Table(title=escape(f"after {context!r}"))  # print_table: visible
    table.add_column("token")
    table.add_column("log p", justify="right")
    if shown_t:
        table.add_column("greedy" if temperature == 0 else f"log p / {temperature:g}", justify="right")
        table.add_column(f"p at T {temperature:g}", justify="right")
    table.add_column("p at T 1" if shown_t else "probability", justify="right")
    table.add_column("")
    for p in preds:
        z = p.log_prob if p.log_prob is not None else -math.inf
        row = [escape(p.token), f"{z:.3f}" if math.isfinite(z) else "-inf"]
        if shown_t:
            row.append("" if temperature == 0 else f"{z / temperature:.3f}" if math.isfinite(z) else "-inf")
            row.append(f"{p.prob:.4f}")
        row.append(f"{p.model_prob or 0.0:.4f}")
        row.append("█" * max(1, round(p.prob * 40)))
        table.add_row(*row)
    print_table(table)
    held = sum(p.model_prob or 0.0 for p in preds)
    why = ("an n-gram model has no logits: its log-probabilities play their part" if run.model_config.model ==
           "ngram" else "the net's logits less one constant, which the softmax cancels")
    line = (f"softmax: p = exp(z / T) / Σ exp(z / T) over all {len(tokenizer):,} tokens, z = log p ({why}); "
            f"these {len(preds)} hold {held:.1%} at T 1")
    if shown_t:
        line += f" and {sum(p.prob for p in preds):.1%} at T {temperature:g}"
    click.echo(line, err=not sys.stdout.isatty())  # in a pipe the table alone goes to stdout


def _finite(value: float | None) -> float | None:
    """JSON has no -inf: a token the model gives probability 0 has log_prob null."""
    return value if value is not None and math.isfinite(value) else None


@main.command(name="eval")
@click.argument("name", shell_complete=complete_run)
@click.option(
    "--text", "text_path", type=click.Path(path_type=Path), help="Score this text instead of the test split."
)
@click.option(
    "--encoding",
    help="Text encoding of your file (--text) if it is not UTF-8 (e.g. latin-1); the run's own corpus is "
    "read as it was for training unless this is given.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def eval_(name: str, text_path: Path | None, encoding: str | None, as_json: bool) -> None:
    """Perplexity of run NAME on its corpus's test split, or on another text: lower is better (exp of the
    mean surprise per token; 1 would be certainty, the vocabulary's size a uniform guess). The loss is
    teacher-forced, each token predicted from the true text before it, as in training (`lmtui forcing
    NAME` sets it beside free running, the model reading its own tokens).

    The corpus is read again to score it; a note says when that text is not the one the run was trained on
    (a changed file, another text piped in), or when --text names the training text itself.

    \b
    Examples:
      lmtui eval scripts-lstm-char
      lmtui eval scripts-lstm-char --text other-play.txt --json
      cat novel.txt | lmtui eval stdin-ngram-char      # a run trained from a pipe
    """
    from lmtui.corpus import load_text, split_text
    from lmtui.runs import load_run

    run = load_run(name)
    tokenizer = run.tokenizer()
    pending = text_path is None and bool(run.meta.get("eval_pending"))
    if text_path is not None:
        _, text = load_text(str(text_path), encoding)
        source, read = str(text_path), text
    else:
        spec = run.corpus_spec()
        _needs_stdin(name, spec, f"lmtui eval {name}", " or score a file with --text")
        _, read = load_text(spec, encoding or run.encoding)
        text, source = split_text(read, run.meta["corpus"].get("unit", "text")).test, "test split"
    training_text = _same_text(run, read, text_path)
    ids = tokenizer.encode(text)
    if len(ids) < 2:
        raise LmtuiError(f"{source} has fewer than two {tokenizer.level} tokens to score")
    stored: dict[str, Any] = {}
    if pending:  # a stopped run's full evaluation, deferred: score both splits now and keep the figures
        from lmtui.training import complete_evaluation

        stored = complete_evaluation(name, encoding)
    from lmtui.lab.scoring import score, unk_spelling

    model = run.load_model()
    scored = score(model, ids, len(text), unk_spelling(tokenizer, text))
    result = {"run": name, "text": source, "chars": len(text), **scored.to_dict()}
    result["stored"] = pending  # True: the run's pending validation and test figures were computed and saved
    result["training_text"] = training_text  # is the text read the one the run was trained on?
    if pending:
        result.update(val_loss=stored["val_loss"], val_perplexity=stored["val_ppl"])
    if run.model_config.model == "ngram":
        from lmtui.lab.sparsity import sparsity_by_order

        result["sparsity"] = [o.to_dict() for o in sparsity_by_order(model, ids)]
    if as_json:
        print_json(result)
        return
    say(f"{name} on {source}: {_eval_line(scored)}")
    for o in result.get("sparsity", []):
        click.echo(
            f"  order {o['order']}: {o['unseen']:6.1%} of its {o['held_out']:,} n-grams never seen in "
            f"training ({o['context_unseen']:.1%} with an unseen context); {o['stored']:,} stored, "
            f"{o['bytes']:,} bytes"
        )
    if pending:
        click.echo(f"stored with the run: validation perplexity {stored['val_ppl']:.2f}")


def _same_text(run: Any, read: str, text_path: Path | None) -> str:
    """Is ``read`` the text the run was trained on: "same", "different" or "unknown" (a run from before lmtui
    kept its text's SHA-256, or an imported one), with a note where that matters. Scoring another text is
    legitimate (--text): a note, never an error."""
    from lmtui.corpus import text_digest

    kept = run.meta["corpus"].get("sha256")
    if not kept:
        return "unknown"
    same = text_digest(read) == kept
    if text_path is None and not same:
        note(
            f"this text is not the one {run.name} was trained on (its SHA-256 differs: the file changed "
            "since, or another text was piped in); the test split scored is this text's"
        )
    elif text_path is not None and same:
        note(
            f"{text_path} is the text {run.name} was trained on: this score includes the training split "
            "(without --text, eval scores the test split alone)"
        )
    return "same" if same else "different"


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
    line = head + f", unknown {s.unk_rate:.2%} (<unk>); perplexity excluding <unk> {excl}"
    if s.spelling and s.spelling.chars and not s.zero_prob_tokens:  # a word model: bits/char hides these
        line += (f"; <unk> words are {s.unk_char_share:.1%} of the characters: with them spelled out "
                 f"letter by letter, {s.bits_per_char_spelled:.3f} bits/char (comparable with a char model)")
    return line


# -- runs


@main.command(name="runs")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def runs_(as_json: bool) -> None:
    """List trained runs: the perplexity table for your own models (lower perplexity is better), from
    $LMTUI_HOME/runs (your user data folder if LMTUI_HOME is not set).

    On a terminal, columns that do not fit its width are left out, lesser ones first (as in the app), and
    every name is shown whole. In a pipe or a file the table is tab-separated with every column, its
    numbers as the table shows them (639,860 parameters; --json gives numbers as numbers).

    \b
    Examples:
      lmtui runs
      lmtui runs | cut -f1,6            # names and validation perplexity
      LMTUI_HOME=/tmp/lab lmtui runs    # another runs folder
    """
    from lmtui.runs import exists, grouped, run_rows, runs_dir

    damaged: dict[str, str] = {}  # one bad file never hides the other runs: it is listed as unreadable
    rows = grouped(run_rows(damaged))  # a comparison's runs together
    if as_json:
        out = [{"name": n, "status": "unreadable", "error": e} for n, e in sorted(damaged.items())]
        print_json({"runs_dir": str(runs_dir()), "runs": rows, "damaged": out})
        return
    for name, error in sorted(damaged.items()):
        fix = f"`lmtui delete {name}` removes it" if exists(name) else "move its folder away"
        say(f"note: run {name!r} is unreadable: {error} ({fix})", err=True)
    if not rows and not damaged:
        say(f"no runs yet in {runs_dir()}; train one with: lmtui train scripts")
        return
    unreadable = [{"name": n, "status": "unreadable"} for n in sorted(damaged)]
    print_table(_runs_table(rows + unreadable), fit=LESSER + LAST)


RUNS_COLUMNS = (
    "name", "corpus", "model", "level", "parameters", "val ppl", "test ppl", "bits/char", "<unk>", "time",
    "status",
)  # fmt: skip


def _runs_table(rows: list[dict[str, Any]]) -> Any:
    """`lmtui runs`'s table: a row per run summary (Run.summary), a group column when any run has one.
    Each row is a dict of cells by column label, and a column a row has no cell for shows "-" (a row of
    another kind, a run that cannot be read say, gives the cells it has)."""
    from rich.markup import escape
    from rich.table import Table

    def num(v: Any, fmt: str) -> str:
        return format(v, fmt) if isinstance(v, int | float) else "-"

    def ppl(r: dict[str, Any], split: str) -> str:  # `lmtui eval NAME` fills a pending one
        if r.get("eval_pending"):
            sliced = r.get("slice_val_ppl") if split == "val" else None
            return f"{sliced:.2f} (slice)" if sliced else "pending"
        return "∞" if r.get(f"{split}_ppl_infinite") else num(r[f"{split}_ppl"], ".2f")

    labels = RUNS_COLUMNS + (("group",) if any(r.get("group") for r in rows) else ())
    table = Table(*labels)  # runs `lmtui compare` trained: its group, which `lmtui delete --group` deletes
    for r in rows:
        if "model" not in r:  # a run that cannot be read: its name and status (the notes above say why)
            cells = {"name": escape(r["name"]), "status": r["status"]}
        else:
            cells = {
                "name": escape(r["name"]),
                "corpus": escape(r["corpus"]),
                "model": r["model"],
                "level": r["level"],
                "parameters": num(r["parameters"], ","),
                "val ppl": ppl(r, "val"),
                "test ppl": ppl(r, "test"),
                "bits/char": num(r["bits_per_char"], ".3f"),
                "<unk>": num(r.get("val_unk_rate"), ".1%"),
                "time": num(r["train_seconds"], ".1f") + "s",
                "status": r["status"] or "",
                "group": escape(r.get("group") or ""),
            }
        table.add_row(*(cells.get(label, "-") for label in labels))
    return table


@main.command()
@click.argument("name", shell_complete=complete_run)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--group", "whole_group", is_flag=True, help="NAME is a comparison (cmp3): delete all of its runs."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def delete(name: str, yes: bool, whole_group: bool, as_json: bool) -> None:
    """Delete run NAME and its files from $LMTUI_HOME/runs (a damaged run too; never one another process is
    training). NAME may also be a comparison's group (`lmtui compare` prints it, `lmtui runs` shows it):
    all its runs go together; a run of that name wins unless --group is given. It asks first, at a terminal;
    a script says --yes.

    \b
    Examples:
      lmtui delete old-run
      lmtui delete old-run --yes --json   # no question, for scripts
      lmtui delete --group cmp3           # every run of comparison cmp3
    """
    from lmtui.runs import (
        RunBusy,
        delete_group,
        delete_run,
        exists,
        group_runs,
        holder,
        is_locked,
        load_run,
        run_path,
    )

    if whole_group or not exists(name):
        members = group_runs(name)
        if members or whole_group:
            if not members:
                raise LmtuiError(f"no comparison named {name!r} (`lmtui runs` shows the groups)")
            if not yes:
                _ask(f"delete comparison {name!r}: its {len(members)} runs and all their files?", as_json)
            deleted = delete_group(name)
            if as_json:
                print_json({"deleted": deleted, "group": name})
            else:
                click.echo(f"deleted comparison {name}: {', '.join(deleted)}")
            return
    if not exists(name):
        load_run(name)  # says "no run named …" and lists the runs there are
    if is_locked(run_path(name)):
        raise RunBusy(name, holder(run_path(name)))
    if not yes:
        _ask(f"delete run {name!r} and all its files?", as_json)
    delete_run(name)
    if as_json:
        print_json({"deleted": name})
    else:
        say(f"deleted {name}")


def _ask(question: str, as_json: bool) -> None:
    """Ask a person at a terminal; a "no" ends the command, exit 1. Piped input is no answer (``yes |``
    would delete whatever is asked): without a terminal, --yes is the way."""
    if not interactive():
        raise LmtuiError("stdin is not a terminal: add --yes to delete without asking")
    if not click.confirm(question, err=as_json):
        say("nothing deleted", err=True)
        sys.exit(1)


FORCE = click.option("--force", is_flag=True, help="Replace PATH if it exists (a regular file only).")


@main.command(name="export-arpa")
@click.argument("name", shell_complete=complete_run)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@FORCE
def export_arpa(name: str, path: Path, as_json: bool, force: bool) -> None:
    """Write n-gram run NAME as an ARPA file (KenLM, SRILM): each line of the text is a sentence, between
    <s> and </s>.

    \b
    Examples:
      lmtui export-arpa speeches-ngram-word speeches.arpa
      python -c "import kenlm; print(kenlm.Model('speeches.arpa').perplexity('we the people'))"
    """
    from lmtui.runs import load_run, runs_dir
    from lmtui.storage import atomic_write, check_target
    from lmtui.tokens import arpa_token_names

    run = load_run(name)
    if run.model_config.model != "ngram":
        raise LmtuiError(f"run {name!r} is a {run.model_config.model} model; ARPA holds n-gram models only")
    target = check_target(path, force, protected=runs_dir())
    model, tokenizer = run.load_model(), run.tokenizer()
    names, newline = arpa_token_names(tokenizer), tokenizer.newline_id()
    try:  # atomic: a full disk leaves the earlier file as it was; lines are sentences (newline: </s>, <s>)
        atomic_write(target, lambda tmp: model.write_arpa(tmp, names, newline))  # type: ignore[attr-defined]
    except ValueError as exc:
        raise LmtuiError(str(exc)) from None
    _wrote(name, target, as_json)


@main.command()
@click.argument("name", shell_complete=complete_run)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@FORCE
def export(name: str, path: Path, as_json: bool, force: bool) -> None:
    """Write run NAME as one shareable file (safetensors: weights, config and vocabulary; no pickle).

    \b
    Examples:
      lmtui export scripts-lstm-char shakespeare.safetensors
      lmtui import shakespeare.safetensors --name from-a-friend     # on another machine
    """
    from lmtui.runs import export_bundle

    _wrote(name, Path(export_bundle(name, path, force)), as_json)


@main.command(name="import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--name", help="Name for the imported run [the name it was exported with].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def import_(path: Path, name: str | None, as_json: bool) -> None:
    """Add a run someone shared (made by `lmtui export`), after checking all of it, to $LMTUI_HOME/runs.

    \b
    Examples:
      lmtui import shakespeare.safetensors
      lmtui import shakespeare.safetensors --name theirs --json
    """
    from lmtui.runs import import_bundle

    run = import_bundle(path, name)
    if as_json:
        print_json({"imported": run.name, "path": str(run.path), "summary": run.summary()})
        return
    say(  # the corpus name is the bundle author's: control characters in it are shown, not sent
        f"imported {run.name}: {run.meta['model']['model']} ({run.meta['model']['level']}) "
        f"trained on {run.meta['corpus']['name']}"
    )


def _wrote(name: str, path: Path, as_json: bool) -> None:
    if as_json:
        size = path.stat().st_size if path.is_file() else None
        print_json({"run": name, "path": str(path.resolve()), "bytes": size})
    else:
        say(f"wrote {path}")


def _add_lab_commands() -> None:
    from lmtui.cli_lab import COMMANDS
    from lmtui.cli_lessons import LESSONS

    for command in (*COMMANDS, *LESSONS):
        main.add_command(command)


_add_lab_commands()

if __name__ == "__main__":
    main()
