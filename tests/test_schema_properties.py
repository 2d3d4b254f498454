"""Property tests of the run schema (issue 9): any value in any field of run.json, of a checkpoint's metadata
or of a bundle gives a clean LmtuiError or a run that works, never another exception; and (issue 18) every
field has a range, the options' own where it is one, checked at the bounds and past them."""

from __future__ import annotations

import contextlib
import copy
import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import save_file

from lmtui import runs, schema
from lmtui.errors import LmtuiError
from lmtui.models import ModelConfig, model_class
from lmtui.options import OPTIONS, Option
from lmtui.training_state import load_checkpoint

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
# small numbers near the real ones hit the interesting cases (an off-by-one hidden size, order 7) more often
NEAR = st.integers(min_value=-3, max_value=40) | st.sampled_from([0.0, -1.0, 0.5, 1e308, 2**64])
VALUES = JSON | NEAR | st.just("DELETE")
PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _paths(meta: dict[str, Any]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for key, value in meta.items():
        out.append((key,))
        if isinstance(value, dict) and key != "tokenizer":
            out += [(key, sub) for sub in value]
    out += [("tokenizer", "level"), ("tokenizer", "vocab"), ("corpus", "encoding"), ("corpus", "imported")]
    return out


def _set(meta: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    meta = copy.deepcopy(meta)
    holder = meta
    for key in path[:-1]:
        if not isinstance(holder.get(key), dict):
            holder[key] = {}
        holder = holder[key]
    if isinstance(value, str) and value == "DELETE":
        holder.pop(path[-1], None)
    else:
        holder[path[-1]] = value
    return meta


def _use(run: runs.Run) -> None:
    """Everything the CLI and the app do with a run that loaded."""
    run.summary()
    run.status  # noqa: B018 (a property that reads the lock)
    tokenizer = run.tokenizer()
    model = run.load_model()
    ids = tokenizer.encode("the old sailor walked")
    if len(ids) >= 2:
        model.cross_entropy(ids)
    model.start(ids[:3] if len(ids) else np.zeros(1, dtype=np.int64))
    with contextlib.suppress(LmtuiError):
        run.corpus_spec()


@pytest.fixture
def originals(trained_runs: Path) -> dict[str, bytes]:
    return {
        name: (trained_runs / name / "run.json").read_bytes() for name in ("lstm-run", "ngram-run")
    }


@PROPERTY
@given(data=st.data())
def test_any_value_in_run_json(trained_runs, originals, data):
    name = data.draw(st.sampled_from(sorted(originals)))
    meta = json.loads(originals[name])
    path = data.draw(st.sampled_from(_paths(meta)))
    edited = _set(meta, path, data.draw(VALUES))
    (trained_runs / name / "run.json").write_text(json.dumps(edited), encoding="utf-8")
    weights = trained_runs / name / "model.safetensors"
    good_weights = weights.read_bytes()
    if data.draw(st.booleans()):  # and sometimes one weight tensor of another type or shape
        tensors, _ = runs.read_tensors(weights)
        key = data.draw(st.sampled_from(sorted(tensors)))
        shape = tuple(data.draw(st.lists(st.integers(0, 30), max_size=3)))
        dtype = data.draw(st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.float16]))
        save_file({**tensors, key: np.ones(shape, dtype=dtype)}, str(weights))
    try:
        _use(runs.load_run(name))
    except LmtuiError as exc:
        assert "\n" not in str(exc)
    finally:
        (trained_runs / name / "run.json").write_bytes(originals[name])
        weights.write_bytes(good_weights)
    runs.list_runs()


@PROPERTY
@given(data=st.data())
def test_any_value_in_a_bundle(trained_runs, tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("bundles")
    source = data.draw(st.sampled_from(["lstm-run", "ngram-run"]))
    good = folder / "good.safetensors"
    runs.export_bundle(source, good)
    tensors, metadata = runs.read_tensors(good)
    meta = json.loads(metadata[runs.BUNDLE_KEY])
    path = data.draw(st.sampled_from(_paths(meta)))
    edited = _set(meta, path, data.draw(VALUES))
    bad = folder / "bad.safetensors"
    save_file(tensors, str(bad), metadata={runs.BUNDLE_KEY: json.dumps(edited)})
    before = sorted(p.name for p in trained_runs.iterdir())
    try:
        run = runs.import_bundle(bad, "probe")
    except LmtuiError as exc:
        assert "\n" not in str(exc)
        assert sorted(p.name for p in trained_runs.iterdir()) == before
        return
    try:
        _use(run)
        assert run.meta["corpus"].get("imported") or run.meta["corpus"].get("bundled")
    except LmtuiError as exc:
        assert "\n" not in str(exc)
    finally:
        shutil.rmtree(runs.run_path("probe"))


def _checkpoint_paths(meta: dict[str, Any]) -> list[tuple[str, ...]]:
    out = [(key,) for key in meta]
    out += [("param_groups", "0", key) for key in meta["param_groups"][0]]
    out += [("opt_shapes", key) for key in meta["opt_shapes"]]
    return out


def _set_checkpoint(meta: dict[str, Any], path: tuple[str, ...], value: Any) -> Any:
    meta = copy.deepcopy(meta)
    if path[0] == "param_groups":
        holder: Any = meta["param_groups"][0]
    elif path[0] == "opt_shapes":
        holder = meta["opt_shapes"]
    else:
        holder = meta
    if isinstance(value, str) and value == "DELETE":
        holder.pop(path[-1], None)
    else:
        holder[path[-1]] = value
    return meta


@PROPERTY
@given(data=st.data())
def test_any_value_in_checkpoint_metadata(trained_runs, data):
    run = runs.load_run("lstm-run")
    path = run.path / "last.safetensors"
    tensors, metadata = runs.read_tensors(path)
    meta = json.loads(metadata["lmtui"])
    where = data.draw(st.sampled_from(_checkpoint_paths(meta)))
    edited = _set_checkpoint(meta, where, data.draw(VALUES))
    if data.draw(st.booleans()):
        edited = data.draw(JSON)  # or the whole metadata replaced
    if data.draw(st.booleans()):  # or one tensor of another type or shape
        key = data.draw(st.sampled_from(sorted(tensors)))
        shape = tuple(data.draw(st.lists(st.integers(0, 30), max_size=3)))
        dtype = data.draw(st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.float16]))
        tensors = {**tensors, key: np.ones(shape, dtype=dtype)}
    bad = path.parent / "probe.safetensors"
    save_file(tensors, str(bad), metadata={"lmtui": json.dumps(edited)})
    model = model_class("lstm")(run.model_config, run.meta["vocab_size"], "cpu")  # type: ignore[call-arg]
    net = model.net  # type: ignore[attr-defined]
    opt = torch.optim.AdamW(
        [
            {"params": [p for p in net.parameters() if p.dim() >= 2], "weight_decay": 0.01},
            {"params": [p for p in net.parameters() if p.dim() < 2], "weight_decay": 0.0},
        ],
        lr=1e-3,
    )
    try:
        resumed = load_checkpoint(bad, net, opt, "cpu")
    except LmtuiError as exc:
        assert "\n" not in str(exc)
        return
    # what loaded must train: one optimizer step from the state it brought
    x = torch.zeros((resumed.batch or 1, 4), dtype=torch.long)
    logits, _ = net(x, resumed.state if resumed.batch else None)
    logits.sum().backward()
    opt.step()


# -- ranges and sense, not only types (issue 18): a file meets the options' limits, field by field


SCHEMA_OPTIONS = [o for o in OPTIONS if o.name in schema.TRAIN_FIELDS or o.group == "model"]


def _near(opt: Option) -> st.SearchStrategy[Any]:
    """Values at and just past the option's bounds, and of every other kind."""
    edges: list[Any] = list(opt.choices) + ["nonsense"]
    for bound in (opt.low, opt.high):
        if bound is not None:
            b = float(bound)
            edges += [b, np.nextafter(b, -math.inf), np.nextafter(b, math.inf)]
            if opt.kind == "int":
                edges += [int(bound) - 1, int(bound), int(bound) + 1]
    return (
        st.sampled_from(edges)
        | st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats(allow_nan=True, allow_infinity=True)
        | st.text(max_size=4)
    )


def _schema_accepts(opt: Option, value: Any) -> bool:
    model = {**ModelConfig(embed=64, hidden=64).to_dict(), "tie_weights": False}  # (tie_weights: either)
    try:
        if opt.group == "model":
            schema.check_model({**model, opt.name: value}, "run.json")
        else:
            schema.check_train({opt.name: value}, "run.json")
    except schema.Damaged as exc:
        assert exc.field.split(".")[-1] == opt.name  # the field is named
        assert "\n" not in str(exc)
        return False
    return True


def test_every_option_a_file_holds_is_checked_by_the_schema():
    names = {o.name for o in SCHEMA_OPTIONS}
    assert {"layers", "hidden", "embed", "context", "k", "order", "sample_length", "eval_every"} <= names
    assert {"batch_size", "seq_len", "k1", "lr", "dropout", "max_vocab", "min_count", "seed"} <= names


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_file_and_a_flag_meet_the_same_limits(data):
    """For every field that is also an option: the schema accepts a value exactly when the option does (one
    source of truth), at the bounds, just past them, and for values of every other type."""
    opt = data.draw(st.sampled_from(SCHEMA_OPTIONS))
    value = data.draw(_near(opt))
    if isinstance(value, np.floating):
        value = float(value)
    assert _schema_accepts(opt, value) == (opt.problem(value) is None), (opt.name, value)


def test_only_harmless_fields_are_unbounded_above():
    """Seconds and the clipping threshold may be any finite number (a huge one is simply no limit); every
    other stored setting has a highest value."""
    unbounded = {name for name, (_, _, hi, _) in schema.TRAIN_FIELDS.items() if not math.isfinite(hi)}
    assert unbounded == {"max_seconds", "train_seconds", "checkpoint_every", "clip"}


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_every_train_field_has_a_finite_range(data):
    """Each stored training setting, options or not (warmup, weight_decay...), is bounded: in range it is
    accepted, past either end refused naming it."""
    name = data.draw(st.sampled_from(sorted(schema.TRAIN_FIELDS)))
    kind, lo, hi, none = schema.TRAIN_FIELDS[name]
    if kind == "int":
        assert hi < 2**63
        value: Any = data.draw(st.integers(int(lo) - 3, int(lo) + 3) | st.integers(int(hi) - 3, int(hi) + 3))
        inside = lo <= value <= hi
    else:
        value = data.draw(st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([lo, hi]))
        inside = math.isfinite(value) and (lo < value if kind == "pos" else lo <= value) and value <= hi
    try:
        schema.check_train({name: value}, "run.json")
        assert inside, (name, value)
    except schema.Damaged as exc:
        assert not inside, (name, value, str(exc))
        assert exc.field == f"train.{name}"


def test_a_run_from_before_the_adaptive_softmax_has_the_full_one():
    older = {k: v for k, v in ModelConfig(model="lstm", level="word").to_dict().items() if k != "softmax"}
    assert schema.check_model(older, "run.json").softmax == "full"
    tied = {**ModelConfig(embed=64, hidden=64, tie_weights=True, softmax="adaptive").to_dict()}
    with pytest.raises(schema.Damaged, match="full softmax"):
        schema.check_model(tied, "run.json")
    with pytest.raises(schema.Damaged, match="softmax"):
        schema.check_model({**older, "softmax": "sampled"}, "run.json")
