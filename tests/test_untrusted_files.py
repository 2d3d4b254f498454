"""Files from strangers: nothing is unpickled, damaged or foreign files give one-line errors, and a bad
shared bundle leaves the runs folder exactly as it was."""

from __future__ import annotations

import ast
import json
import pathlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file
from test_cli import TINY, clean_error, invoke, json_out, ok

from lmtui import runs

SOURCE = Path(__file__).resolve().parent.parent / "lmtui"


# -- the source never unpickles


UNPICKLERS = {"pickle", "cPickle", "_pickle", "cloudpickle", "dill", "joblib", "shelve", "marshal", "yaml"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def _keyword_true(call: ast.Call, name: str) -> bool:
    return any(
        k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is True for k in call.keywords
    )


def unsafe_loads(source: str) -> list[tuple[int, str]]:
    """Code (not strings or comments) that could run a file's contents: pickle and friends, torch.load
    without weights_only=True, np.load with allow_pickle=True, eval/exec/__import__."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] + (
                [node.module] if isinstance(node, ast.ImportFrom) else []
            )
            if any((m or "").split(".")[0] in UNPICKLERS for m in modules):
                found.append((node.lineno, "imports an unpickler"))
        elif isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name in UNPICKLERS or "pickle" in name.lower():
                found.append((node.lineno, f"uses {name}"))
        if isinstance(node, ast.Call):
            func = _dotted(node.func)
            if func.endswith("torch.load") and not _keyword_true(node, "weights_only"):
                found.append((node.lineno, "torch.load without weights_only=True"))
            if func.split(".")[-1] == "load" and _keyword_true(node, "allow_pickle"):
                found.append((node.lineno, "np.load with allow_pickle=True"))
            if func in ("eval", "exec", "__import__", "builtins.eval", "builtins.exec"):
                found.append((node.lineno, f"calls {func}"))
    return found


def test_the_checker_finds_what_it_looks_for():
    bad = """
import pickle
from joblib import load
x = torch.load(path)
y = torch.load(path, weights_only=False)
z = np.load(path, allow_pickle=True)
eval(text)
exec(code)
data = pd.read_pickle(path)
"""
    assert [line for line, _ in unsafe_loads(bad)] == [2, 3, 4, 5, 6, 7, 8, 9]
    fine = '''"""never unpickled: no pickle here"""
# pickle.loads(x) in a comment
w = torch.load(path, weights_only=True)
a = np.load(path)
model.eval()
'''
    assert unsafe_loads(fine) == []


def test_source_has_no_unpickling_or_eval():
    files = sorted(SOURCE.rglob("*.py"))
    assert len(files) > 10
    found = [
        f"{path.relative_to(SOURCE.parent)}:{line}: {what}"
        for path in files
        for line, what in unsafe_loads(path.read_text(encoding="utf-8"))
    ]
    assert not found, "\n".join(found)


# -- a crafted pickle never runs, whichever command opens it


class Payload:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def write_pickle(path: Path, marker: Path, writer: str) -> None:
    if writer == "pickle":
        path.write_bytes(pickle.dumps({"emb.weight": Payload(marker)}))
    else:
        torch.save({"emb.weight": Payload(marker)}, path)


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
@pytest.mark.parametrize("command", ["sample", "predict", "eval", "import", "resume", "export"])
def test_malicious_pickle_runs_no_code(trained_runs, tmp_path, command, writer):
    marker = tmp_path / "pwned"
    run_dir = trained_runs / "lstm-run"
    if command == "import":
        evil = tmp_path / "shared.safetensors"
        write_pickle(evil, marker, writer)
        result = invoke("import", evil, "--name", "evil")
        assert not (trained_runs / "evil").exists()
    elif command == "resume":
        write_pickle(run_dir / "last.safetensors", marker, writer)
        result = invoke("train", "--resume", "lstm-run", "--steps", 40)
    else:
        write_pickle(run_dir / "model.safetensors", marker, writer)
        args = {"sample": ["--length", 5], "predict": ["x"], "export": [tmp_path / "out.safetensors"]}
        result = invoke(command, "lstm-run", *args.get(command, []))
    clean_error(result, "safetensors")
    assert not marker.exists()
    # the control: the same payload does run code when unpickled
    if writer == "pickle":
        pickle.loads(pickle.dumps(Payload(marker)))
        assert marker.exists()


# -- damaged and foreign run files


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"version": 7}, "version 7"),
        ({"format": "other-tool"}, "not an lmtui run"),
        ({"tokenizer": ["<unk>", "a"]}, "tokenizer"),
        ({"tokenizer": {"level": "word", "vocab": ["<unk>", ""]}}, "tokenizer"),
        ({"model": {"model": "lstm", "hidden": "24"}}, "wrong type"),
        ({"model": {"model": "lstm", "layers": -1}}, "invalid"),
        ({"model": {"model": "lstm", "dropout": float("nan")}}, "invalid"),
        ({"model": {"model": "lstm", "hidden": 5000}}, "do not fit"),  # refused before allocating 10^8
        ({"model": {"model": "lstm", "hidden": 10**7}}, "must be between 1 and 65536"),
        ({"model": {"model": "lstm", "hidden": 60000}}, "is too large"),  # each size in range, not together
        ({"model": {"model": "lstm", "layers": 10**20}}, "model.layers is invalid"),  # once a hang
        ({"vocab_size": 10**9}, "vocab_size is 1000000000"),  # the tokenizer must have exactly that many
    ],
)
def test_foreign_or_tampered_run_json(trained_runs, change, fragment):
    path = trained_runs / "lstm-run" / "run.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    for key, value in change.items():
        meta[key] = {**meta[key], **value} if key == "model" else value
    path.write_text(json.dumps(meta), encoding="utf-8")
    clean_error(invoke("sample", "lstm-run", "--length", 5), fragment)
    listed = [r["name"] for r in json_out(invoke("runs", "--json"))["runs"]]
    assert ("lstm-run" in listed) == (fragment == "do not fit")  # only a schema-valid run.json is listed
    ok(invoke("delete", "lstm-run", "--yes"))  # and a damaged run can still be deleted
    assert not (trained_runs / "lstm-run").exists()


@pytest.mark.parametrize("damage", ["truncated", "header", "empty", "json"])
def test_damaged_weights_through_the_cli(trained_runs, damage):
    path = trained_runs / "lstm-run" / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(
        {
            "truncated": data[: len(data) // 2],
            "header": data[:8] + b"[" * (len(data) - 8),
            "empty": b"",
            "json": b'{"emb.weight": [1, 2, 3]}',
        }[damage]
    )
    out = trained_runs.parent / "x"
    for args in (["sample", "lstm-run"], ["eval", "lstm-run"], ["export", "lstm-run", out]):
        clean_error(invoke(*args), "safetensors")


def test_weights_whose_shapes_do_not_match_the_config(trained_runs):
    path = trained_runs / "lstm-run" / "model.safetensors"
    tensors, _ = runs.read_tensors(path)
    tensors["rnn.weight_hh_l0"] = np.zeros((8, 8), dtype=np.float32)
    save_file(tensors, str(path))
    assert str(path) in clean_error(invoke("sample", "lstm-run"), "do not fit")  # names the file


def test_checkpoint_of_another_run_is_refused_on_resume(trained_runs, english_file):
    ok(
        invoke(
            "train",
            english_file,
            "--model",
            "lstm",
            "--steps",
            2,
            "--eval-every",
            2,
            *TINY,
            "--name",
            "other",
        )
    )  # hidden 16, where lstm-run has 24
    before = (trained_runs / "lstm-run" / "run.json").read_bytes()
    (trained_runs / "lstm-run" / "last.safetensors").write_bytes(
        (trained_runs / "other" / "last.safetensors").read_bytes()
    )
    line = clean_error(invoke("train", "--resume", "lstm-run", "--steps", 40), "another run")
    assert "do not fit" in line
    assert (trained_runs / "lstm-run" / "run.json").read_bytes() != b""  # still loadable
    assert runs.load_run("lstm-run").meta["status"] in ("failed", json.loads(before)["status"])


def test_model_weights_given_as_a_checkpoint_are_refused_on_resume(trained_runs):
    run_dir = trained_runs / "lstm-run"
    (run_dir / "last.safetensors").write_bytes((run_dir / "model.safetensors").read_bytes())
    clean_error(invoke("train", "--resume", "lstm-run", "--steps", 40), "not a usable checkpoint")


def test_checkpoint_with_negative_position_is_refused(trained_runs):
    path = trained_runs / "lstm-run" / "last.safetensors"
    tensors, metadata = runs.read_tensors(path)
    meta = json.loads(metadata["lmtui"])
    meta["position"] = -5
    save_file(tensors, str(path), metadata={"lmtui": json.dumps(meta)})
    clean_error(invoke("train", "--resume", "lstm-run", "--steps", 40), "negative")


# -- shared bundles: everything checked before anything is written


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` (hidden ones too) with its bytes; None for folders."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def _bundle(tmp_path: Path, name: str, tensors: dict, meta: dict | None, raw: str | None = None) -> Path:
    path = tmp_path / f"{name}.safetensors"
    metadata = {runs.BUNDLE_KEY: raw if raw is not None else json.dumps(meta)} if (meta or raw) else None
    save_file(tensors, str(path), metadata=metadata)
    return path


BAD_BUNDLES = [
    "text-file",
    "pickle",
    "truncated",
    "no-metadata",
    "metadata-not-json",
    "other-program",
    "wrong-version",
    "vocab-size-mismatch",
    "bad-tokenizer",
    "shapes-mismatch",
    "missing-tensor",
    "config-wrong-type",
    "config-too-big",
    "name-clash",
    "invalid-name-in-file",
    "invalid-name-option",
    # issue 18: sizes a closed-form check refuses, strict types, text no UTF-8 file can hold
    "layers-20-digits",
    "sample-length-huge",
    "version-true",
    "eval-pending-yes",
    "surrogate-in-vocabulary",
    "surrogate-in-corpus-name",
    "surrogate-in-a-metric-key",
]


# what the line names, where the issue asked for it
NAMED = {
    "layers-20-digits": "model.layers is invalid (must be between 1 and 1024, not 100000000000000000000)",
    "sample-length-huge": "train.sample_length is invalid",
    "version-true": "format version True",
    "eval-pending-yes": "eval_pending has the wrong type",
    "surrogate-in-vocabulary": "tokenizer.vocab[3] is damaged text (it holds a lone surrogate",
    "surrogate-in-corpus-name": "corpus.name is damaged text",
    "surrogate-in-a-metric-key": "metrics has a key of damaged text",
}


@pytest.mark.parametrize("kind", BAD_BUNDLES)
def test_bad_bundle_leaves_the_runs_folder_unchanged(trained_runs, tmp_path, kind):
    good = tmp_path / "good.safetensors"
    ok(invoke("export", "lstm-run", good))
    tensors, metadata = runs.read_tensors(good)
    meta = json.loads(metadata[runs.BUNDLE_KEY])
    meta["name"] = "shared"
    args: list = []
    if kind == "text-file":
        path = tmp_path / "notes.safetensors"
        path.write_text("just some text\n", encoding="utf-8")
    elif kind == "pickle":
        path = tmp_path / "evil.safetensors"
        path.write_bytes(pickle.dumps({"weights": Payload(tmp_path / "pwned")}))
    elif kind == "truncated":
        path = tmp_path / "cut.safetensors"
        path.write_bytes(good.read_bytes()[:-100])
    elif kind == "no-metadata":
        path = _bundle(tmp_path, kind, tensors, None)
    elif kind == "metadata-not-json":
        path = _bundle(tmp_path, kind, tensors, None, raw="{not json")
    elif kind == "other-program":
        path = _bundle(tmp_path, kind, tensors, {"format": "someone-else", "version": 1})
    elif kind == "wrong-version":
        path = _bundle(tmp_path, kind, tensors, {**meta, "version": 99})
    elif kind == "vocab-size-mismatch":
        path = _bundle(tmp_path, kind, tensors, {**meta, "vocab_size": meta["vocab_size"] + 1})
    elif kind == "bad-tokenizer":
        path = _bundle(tmp_path, kind, tensors, {**meta, "tokenizer": {"level": "char", "vocab": ["a", "b"]}})
    elif kind == "shapes-mismatch":
        path = _bundle(tmp_path, kind, tensors, {**meta, "model": {**meta["model"], "hidden": 20}})
    elif kind == "missing-tensor":
        path = _bundle(tmp_path, kind, {k: v for k, v in tensors.items() if k != "out.bias"}, meta)
    elif kind == "config-wrong-type":
        path = _bundle(tmp_path, kind, tensors, {**meta, "model": {**meta["model"], "embed": [12]}})
    elif kind == "config-too-big":
        path = _bundle(tmp_path, kind, tensors, {**meta, "model": {**meta["model"], "hidden": 10**8}})
    elif kind == "name-clash":
        path = _bundle(tmp_path, kind, tensors, {**meta, "name": "ngram-run"})
    elif kind == "invalid-name-in-file":
        path = _bundle(tmp_path, kind, tensors, {**meta, "name": "../../escape"})
    elif kind == "layers-20-digits":  # once a hang: the size estimate summed over range(layers)
        path = _bundle(tmp_path, kind, tensors, {**meta, "model": {**meta["model"], "layers": 10**20}})
    elif kind == "sample-length-huge":
        path = _bundle(tmp_path, kind, tensors, {**meta, "train": {**meta["train"], "sample_length": 2**30}})
    elif kind == "version-true":  # True == 1 in Python
        path = _bundle(tmp_path, kind, tensors, {**meta, "version": True})
    elif kind == "eval-pending-yes":
        path = _bundle(tmp_path, kind, tensors, {**meta, "eval_pending": "yes"})
    elif kind == "surrogate-in-vocabulary":
        vocab = list(meta["tokenizer"]["vocab"])
        vocab[3] = "\ud800"
        path = _bundle(tmp_path, kind, tensors, {**meta, "tokenizer": {**meta["tokenizer"], "vocab": vocab}})
    elif kind == "surrogate-in-corpus-name":
        path = _bundle(tmp_path, kind, tensors, {**meta, "corpus": {**meta["corpus"], "name": "a\udfffb"}})
    elif kind == "surrogate-in-a-metric-key":
        path = _bundle(tmp_path, kind, tensors, {**meta, "metrics": {**meta["metrics"], "x\ud800": 1}})
    else:
        path, args = good, ["--name", "a/b"]
    before = snapshot(trained_runs)
    line = clean_error(invoke("import", path, *args))
    assert snapshot(trained_runs) == before
    assert NAMED.get(kind, "") in line
    assert not (tmp_path / "pwned").exists()
    assert not list(trained_runs.parent.rglob("escape"))


def test_good_bundle_still_imports(trained_runs, tmp_path):
    good = tmp_path / "good.safetensors"
    ok(invoke("export", "lstm-run", good))
    ok(invoke("import", good, "--name", "shared"))
    assert [p.name for p in trained_runs.iterdir() if p.name.startswith(".")] == []
    a = json_out(invoke("sample", "shared", "--seed", 1, "--length", 30, "--json"))["samples"]
    b = json_out(invoke("sample", "lstm-run", "--seed", 1, "--length", 30, "--json"))["samples"]
    assert a == b
