"""The runs folder: names, listing, loading, deleting, damaged files, and never unpickling anything."""

from __future__ import annotations

import errno
import json
import pathlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from lmtui import runs
from lmtui.errors import LmtuiError
from lmtui.training_state import load_checkpoint


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert message and "\n" not in message
    return message


# -- names


@pytest.mark.parametrize("name", ["a", "run-1", "A.b_c", "x" * 64, "9lives", "scripts-lstm-char-2"])
def test_valid_names(name):
    assert runs.validate_name(name) == name
    assert runs.run_path(name) == runs.runs_dir() / name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "/",
        "a/b",
        "/abs",
        "..",
        "a..b",
        "../up",
        ".hidden",
        "-dash",
        "_under",
        "x" * 65,
        "a b",
        "ü",
        "a\\b",
        "a\x00b",
        "run\n2",
    ],
)
def test_invalid_names_are_rejected(name):
    with pytest.raises(LmtuiError) as exc:
        runs.validate_name(name)
    assert "invalid run name" in one_line(exc)
    with pytest.raises(LmtuiError):
        runs.run_path(name)


def test_name_with_trailing_newline_is_rejected():
    """re.match with '$' also matches before a trailing newline."""
    with pytest.raises(LmtuiError):
        runs.validate_name("abc\n")


def test_runs_dir_follows_lmtui_home(lmtui_home):
    assert runs.home() == lmtui_home
    assert runs.runs_dir() == lmtui_home / "runs"


def test_unique_name_sanitises_and_counts_up():
    assert runs.unique_name("my run! (v2)") == "my-run-v2"
    assert runs.unique_name("...") == "run"
    (runs.runs_dir() / "base").mkdir(parents=True)
    assert runs.unique_name("base") == "base-2"
    (runs.runs_dir() / "base-2").mkdir()
    assert runs.unique_name("base") == "base-3"
    long = runs.unique_name("y" * 100)
    assert len(long) <= 64 and runs.validate_name(long) == long


@pytest.mark.parametrize("base", ["_notes-lstm-char", "a..b-lstm-char"])
def test_unique_name_always_gives_a_valid_name(base):
    """Default names from file names like '_notes.txt' or 'a..b.txt' must pass validate_name."""
    name = runs.unique_name(base)
    assert runs.validate_name(name) == name


# -- list, load, delete


def test_list_load_and_delete(trained_runs):
    listed = runs.list_runs()
    assert [r.name for r in listed] == ["lstm-run", "ngram-run"]  # oldest first
    run = runs.load_run("lstm-run")
    assert run.path == trained_runs / "lstm-run"
    assert run.model_config.model == "lstm" and run.model_config.hidden == 24
    assert run.tokenizer().level == "char" and len(run.tokenizer()) == run.meta["vocab_size"]
    assert run.meta["status"] == "done"
    summary = run.summary()
    assert summary["name"] == "lstm-run" and summary["model"] == "lstm" and summary["corpus"] == "english"
    assert summary["val_ppl"] == pytest.approx(run.metrics["val_ppl"]) and summary["step"] == 30
    model = run.load_model()
    assert model.num_parameters() == run.metrics["parameters"]
    assert runs.exists("lstm-run") and not runs.exists("nothing")
    runs.delete_run("lstm-run")
    assert not (trained_runs / "lstm-run").exists()
    assert [r.name for r in runs.list_runs()] == ["ngram-run"]
    with pytest.raises(LmtuiError) as exc:
        runs.delete_run("lstm-run")
    assert "no run named" in one_line(exc)


def test_load_unknown_run_names_the_known_ones(trained_runs):
    with pytest.raises(LmtuiError) as exc:
        runs.load_run("nope")
    message = one_line(exc)
    assert "nope" in message and "lstm-run" in message


def test_list_runs_with_no_folder_is_empty():
    assert runs.list_runs() == []
    with pytest.raises(LmtuiError, match="none yet"):
        runs.load_run("anything")


def test_history_skips_damaged_lines(trained_runs):
    run = runs.load_run("lstm-run")
    history = run.history()
    assert [h["step"] for h in history if h["event"] == "eval"] == [15, 30]
    with open(run.path / "events.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"event": "step", "st\n')
    assert run.history() == history


# -- damaged run.json


def write_meta(run_dir: Path, content: str | bytes) -> None:
    path = run_dir / "run.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def good_meta(trained_runs: Path) -> dict:
    return json.loads((trained_runs / "lstm-run" / "run.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "damaged"),
        (b"\xff\xfe\x00garbage", "damaged"),
        ("", "damaged"),
        ("[1, 2, 3]", "not an lmtui run"),
        ('{"name": "x", "version": 1, "settings": {}}', "not an lmtui run"),
        ('{"format": "some-other-tool", "version": 1}', "not an lmtui run"),
    ],
)
def test_damaged_or_foreign_run_json(trained_runs, content, fragment):
    write_meta(trained_runs / "lstm-run", content)
    with pytest.raises(LmtuiError) as exc:
        runs.load_run("lstm-run")
    assert fragment in one_line(exc)
    assert [r.name for r in runs.list_runs()] == ["ngram-run"]  # the list skips it rather than failing


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"version": 2}, "version 2"),
        ({"version": None}, "version None"),
        ({"model": {"model": "transformer"}}, "no model"),
        ({"model": "lstm"}, "no model"),
        ({"vocab_size": 0}, "vocabulary size"),
        ({"vocab_size": "65"}, "vocabulary size"),
    ],
)
def test_run_json_of_another_version_or_shape(trained_runs, change, fragment):
    meta = good_meta(trained_runs)
    meta.update(change)
    write_meta(trained_runs / "lstm-run", json.dumps(meta))
    with pytest.raises(LmtuiError) as exc:
        runs.load_run("lstm-run")
    assert fragment in one_line(exc)


def test_damaged_tokenizer(trained_runs):
    meta = good_meta(trained_runs)
    meta["tokenizer"] = {"level": "char", "vocab": ["no-unk"]}
    write_meta(trained_runs / "lstm-run", json.dumps(meta))
    with pytest.raises(LmtuiError) as exc:
        runs.load_run("lstm-run").tokenizer()
    assert "damaged tokenizer" in one_line(exc)


# -- damaged weights


def test_truncated_weights(trained_runs):
    path = trained_runs / "lstm-run" / "model.safetensors"
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 1, 20, 4, 0):
        path.write_bytes(data[:cut])
        with pytest.raises(LmtuiError) as exc:
            runs.load_run("lstm-run").load_model()
        assert "not a valid safetensors" in one_line(exc)


def test_corrupted_header(trained_runs):
    path = trained_runs / "lstm-run" / "model.safetensors"
    data = bytearray(path.read_bytes())
    header_len = int.from_bytes(data[:8], "little")
    data[8 : 8 + header_len] = b"{" + b"x" * (header_len - 1)
    path.write_bytes(bytes(data))
    with pytest.raises(LmtuiError) as exc:
        runs.load_run("lstm-run").load_model()
    assert "not a valid safetensors" in one_line(exc)
    path.write_bytes((2**62).to_bytes(8, "little") + b"{}")
    with pytest.raises(LmtuiError):
        runs.load_run("lstm-run").load_model()


def test_missing_weights(trained_runs):
    (trained_runs / "lstm-run" / "model.safetensors").unlink()
    with pytest.raises(LmtuiError) as exc:
        runs.load_run("lstm-run").load_model()
    assert "missing" in one_line(exc)


def test_weights_of_another_shape(trained_runs):
    save_file(
        {"emb.weight": np.zeros((3, 3), dtype=np.float32)},
        str(trained_runs / "lstm-run" / "model.safetensors"),
    )
    with pytest.raises(LmtuiError) as exc:
        runs.load_run("lstm-run").load_model()
    assert "lstm-run" in one_line(exc)


def test_weights_file_is_not_a_checkpoint(trained_runs):
    run = runs.load_run("lstm-run")
    net = run.load_model().net
    opt = torch.optim.AdamW(net.parameters())
    with pytest.raises(LmtuiError) as exc:
        load_checkpoint(run.path / "model.safetensors", net, opt, "cpu")
    assert "not a usable checkpoint" in one_line(exc)


class Payload:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_pickle_payload_really_runs_code_when_unpickled(tmp_path):
    """The control experiment: the payload used below does create its marker when unpickled."""
    marker = tmp_path / "control-marker"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()


@pytest.mark.parametrize("which", ["model", "last"])
@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_pickle_renamed_to_safetensors_is_refused_without_running_it(trained_runs, tmp_path, which, writer):
    marker = tmp_path / f"pwned-{which}-{writer}"
    path = trained_runs / "lstm-run" / f"{which}.safetensors"
    if writer == "pickle":
        path.write_bytes(pickle.dumps({"emb.weight": Payload(marker)}))
    else:
        torch.save({"emb.weight": Payload(marker)}, path)
    run = runs.load_run("lstm-run")
    with pytest.raises(LmtuiError) as exc:
        if which == "model":
            run.load_model()
        else:
            net = runs.load_run("lstm-run").load_model().net
            load_checkpoint(path, net, torch.optim.AdamW(net.parameters()), "cpu")
    assert "safetensors" in one_line(exc)
    assert not marker.exists()


# -- atomic writes


def test_failed_json_write_keeps_the_previous_file(trained_runs, monkeypatch):
    run = runs.load_run("lstm-run")
    before = (run.path / "run.json").read_bytes()
    real_write_text = pathlib.Path.write_text

    def full_disk(self, *args, **kwargs):
        real_write_text(self, "{half", encoding="utf-8")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_text", full_disk)
    run.meta["status"] = "changed"
    with pytest.raises(LmtuiError) as exc:
        run.save_meta()
    monkeypatch.setattr(pathlib.Path, "write_text", real_write_text)
    assert "No space left on device" in one_line(exc) and "run.json" in str(exc.value)
    assert (run.path / "run.json").read_bytes() == before
    hidden = [p.name for p in run.path.iterdir() if p.name.startswith(".") and p.name != runs.LOCK_NAME]
    assert hidden == []
    assert runs.load_run("lstm-run").meta["status"] == "done"


def test_interrupted_write_removes_its_temporary_file(tmp_path):
    target = tmp_path / "w" / "file.json"
    runs.write_json(target, {"a": 1})

    def interrupted(path: Path) -> None:
        path.write_text("partial", encoding="utf-8")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runs.atomic_write(target, interrupted)
    assert json.loads(target.read_text(encoding="utf-8")) == {"a": 1}
    assert [p.name for p in target.parent.iterdir()] == ["file.json"]


def test_write_and_read_tensors_round_trip(tmp_path):
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([7], dtype=np.int64)}
    runs.write_tensors(tmp_path / "t.safetensors", arrays, {"k": "v"})
    got, meta = runs.read_tensors(tmp_path / "t.safetensors")
    assert meta == {"k": "v"}
    for key, value in arrays.items():
        np.testing.assert_array_equal(got[key], value)
        assert got[key].dtype == value.dtype


# -- sharing a run as one file


def test_export_and_import_bundle(trained_runs, tmp_path):
    bundle = runs.export_bundle("lstm-run", tmp_path / "shared.safetensors")
    imported = runs.import_bundle(bundle, "copy")
    original = runs.load_run("lstm-run")
    assert imported.name == "copy" and imported.meta["tokenizer"] == original.meta["tokenizer"]
    _, bundle_meta = runs.read_tensors(bundle)
    assert original.meta["corpus"]["spec"] not in bundle_meta[runs.BUNDLE_KEY]  # no private paths shared
    ids = original.tokenizer().encode("The king walked to the river.\n")
    assert imported.load_model().nll(ids) == original.load_model().nll(ids)
    with pytest.raises(LmtuiError, match="already exists"):
        runs.import_bundle(bundle, "copy")
    with pytest.raises(LmtuiError, match="not an lmtui run bundle"):
        runs.import_bundle(original.path / "model.safetensors", "other")
    marker = tmp_path / "pwned-bundle"
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(LmtuiError):
        runs.import_bundle(evil, "evil")
    assert not marker.exists() and not runs.exists("evil")
