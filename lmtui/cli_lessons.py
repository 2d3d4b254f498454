"""The lab's commands for the lecture's later ideas (recall: what vanishing gradients cost; forcing: teacher
forcing against free running), added to the main group beside cli_lab's."""

from __future__ import annotations

import json
from typing import Any

import click

from lmtui.cliutil import complete_run
from lmtui.errors import LmtuiError


def _json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _test_text(run: Any) -> str:
    """The run's test split, read as its corpus is (its stored encoding)."""
    from lmtui.corpus import load_text, split_text

    _, text = load_text(run.corpus_spec(), run.encoding)
    return split_text(text, run.meta["corpus"].get("unit", "text")).test


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
    text = _test_text(run)
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


LESSONS = [recall]
