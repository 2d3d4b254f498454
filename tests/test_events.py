"""Training events: one JSON object per line, parsed back into the same event."""

from __future__ import annotations

import json
import math

import pytest

from lmtui.events import (
    EVENT_TYPES,
    Checkpoint,
    Eval,
    Failed,
    Finished,
    GradientReach,
    NgramCounts,
    Note,
    Sample,
    Started,
    Step,
    parse_event,
)

EXAMPLES = [
    Started("run-1", "scripts", "lstm", "char", 65, 12_345, 49_380, 900_000, 50_000, 500, 60.0, 0, "cpu"),
    Started("run-2", "speeches", "gru", "word", 10_001, 1, 4, 10, 2, None, None, 250, "cuda"),
    Step(12, 2.5, 0.75, 3e-3, 12_000.5, 3.25, 40.0, 0.12),
    Step(13, 2.4, 0.7, 3e-3, 12_000.5, 3.5, None, 0.13),
    Step(14, 2.4, 1.7, 3e-3, 12_000.5, 3.5, None, 0.13, 0.25),
    GradientReach(250, [0.5, 0.01, 1e-9], ""),
    Eval(250, 1.7, math.exp(1.7), 2.3, True, 12.0),
    Eval(500, 1.8, math.exp(1.8), None, False, 24.0),
    Sample(250, 'HAMLET:\nTo be, or "not" — ünïcödé\ttab ⚓\n'),
    Checkpoint(250, "/tmp/runs/x/last.safetensors", True),
    NgramCounts(3, [65, 1200, 9000], 0.25),
    NgramCounts(2, [65, 1200], 0.25, [0.0, 0.4], [520, 9600]),
    NgramCounts(1),
    Note("the text is short: batch size lowered from 32 to 4 to fit it"),
    Finished("run-1", 500, "steps", 1.7, 5.47, 1.75, 5.75, 30.5, 900_000, 50_000, 50_000),
    Finished("run-1", 0, "interrupted", None, None, None, None, 0.1, 1, 1, 1),
    Failed("the loss became nan at step 8", 8),
    Failed("could not read the file"),
]


def test_every_event_type_has_an_example():
    assert {type(e) for e in EXAMPLES} == set(EVENT_TYPES.values())
    assert {e.kind for e in EXAMPLES} == set(EVENT_TYPES)


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.kind)
def test_to_json_parse_event_round_trip(event):
    line = event.to_json()
    assert "\n" not in line
    data = json.loads(line)
    assert data["event"] == event.kind
    again = parse_event(line)
    assert type(again) is type(event)
    assert again == event
    assert parse_event(line + "\n") == event  # a line read with its newline


def test_unicode_is_kept_readable():
    line = Sample(1, "ünï ⚓").to_json()
    assert "ünï ⚓" in line


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_become_null(bad):
    event = Finished("r", 3, "steps", bad, bad, 1.0, bad, 2.0, 10, 5, 5)
    data = event.to_dict()
    assert data["val_loss"] is None and data["val_ppl"] is None and data["test_ppl"] is None
    assert data["test_loss"] == 1.0
    line = event.to_json()
    assert "NaN" not in line and "Infinity" not in line
    assert (
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))["val_loss"] is None
    )
    parsed = parse_event(line)
    assert parsed.val_loss is None and parsed.test_loss == 1.0 and parsed.step == 3
    step = Step(1, bad, bad, 0.1, 1.0, 1.0, bad, 0.5).to_dict()
    assert (
        step["train_loss"] is None and step["grad_norm"] is None and step["eta"] is None and step["lr"] == 0.1
    )


def test_extra_fields_are_ignored():
    data = Note("hi").to_dict()
    data["from_the_future"] = 1
    assert parse_event(json.dumps(data)) == Note("hi")


@pytest.mark.parametrize(
    "line",
    [
        "",
        "   ",
        "hello world",
        "Traceback (most recent call last):",
        "42",
        "null",
        '"started"',
        "[1, 2]",
        "{}",
        '{"foo": 1}',
        '{"event": "nope"}',
        '{"event": 3}',
        '{"event": null}',
        '{"event": "step"}',  # required fields missing
        '{"event": "note", "message": "x", "step": 1}'[:-1],  # cut short
        '{"event": "eval", "step": 1}',
    ],
)
def test_non_event_lines_give_none(line):
    assert parse_event(line) is None


@pytest.mark.parametrize("line", ['{"event": ["step"]}', '{"event": {"a": 1}}'])
def test_unhashable_event_field_gives_none(line):
    """An 'event' value that is a list or object once raised TypeError (unhashable)."""
    assert parse_event(line) is None
