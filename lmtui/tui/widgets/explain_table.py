"""Renders ``lmtui explain --json``: per token the context, the counts, what P is made of, P and surprise."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from lmtui.lab.ngram_terms import LEGENDS, how_text
from lmtui.visible import visible_line, visible_text


def explain_renderable(data: dict[str, Any]) -> Group:
    """A table of the explanation and the chain-rule line below it (the CLI's layout, from its JSON)."""
    ngram = data.get("model") == "ngram"
    sep = "" if data.get("level") == "char" else " "
    table = Table(box=None, padding=(0, 1), expand=True)
    table.add_column("token", no_wrap=True)
    table.add_column("context", overflow="fold")
    if ngram:
        table.add_column("how: counts at the order used, then P order by order", overflow="fold", ratio=3)
    table.add_column("P", justify="right", no_wrap=True)
    table.add_column("bits", justify="right", no_wrap=True)
    for t in data.get("tokens", []):
        context = t.get("context") or []
        if not ngram and len(context) > 10:
            context = ["…", *context[-10:]]
        row: list[Text | str]
        row = [Text(visible_line(t["token"]), style="bold"),
               Text(visible_line(sep.join(context)) or "(none)", style="dim")]
        if ngram:
            row.append(Text(visible_text(how_text(t, data.get("smoothing")))))  # one line per order
        bits = t.get("bits")
        row += [f"{t['prob']:.4g}", "∞" if bits is None else f"{bits:.2f}"]
        table.add_row(*row)
    legend = LEGENDS.get(data.get("smoothing") or "") if ngram else None
    lines = [Text(legend, style="dim")] if legend else []
    return Group(table, *lines, Text(chain_rule_line(data), style="italic"))


def chain_rule_line(data: dict[str, Any]) -> str:
    n = len(data.get("tokens", []))
    log2 = data.get("log2_prob")
    if log2 is None:
        zero = sum(1 for t in data.get("tokens", []) if t.get("prob") == 0)
        return (f"chain rule: {zero} token(s) got probability 0, so P(text) = 0 and perplexity is infinite "
                f"(unsmoothed counts give unseen n-grams nothing)")
    return (f"chain rule: log2 P(text) = Σ log2 P(token | context) = {log2:.3f} bits over {n} tokens; "
            f"perplexity = 2^({-log2:.3f} / {n}) = {data['perplexity']:.3f}")
