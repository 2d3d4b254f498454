"""The runs folder: every trained model is a run, a folder of plain JSON and safetensors files.

    <LMTUI_HOME or the platform's user data dir>/runs/<name>/
        run.json            config, corpus, tokenizer vocabulary, metrics (JSON)
        model.safetensors   the best weights by validation loss: what sample/eval/predict use
        last.safetensors    the last weights + optimizer state + data position, for --resume
        events.jsonl        the training curve, so a resumed run carries it on
        samples/            samples saved from the playground

Nothing here is ever unpickled: a run can be shared and opened safely.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from lmtui.errors import LmtuiError
from lmtui.models import MODEL_KINDS, LanguageModel, ModelConfig, estimate_parameters, model_class
from lmtui.tokens import Tokenizer

RUN_FORMAT = "lmtui-run"
RUN_VERSION = 1
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def home() -> Path:
    env = os.environ.get("LMTUI_HOME")
    return Path(env).expanduser() if env else Path(platformdirs.user_data_dir("lmtui", appauthor=False))


def runs_dir() -> Path:
    return home() / "runs"


def validate_name(name: str) -> str:
    if not NAME_RE.fullmatch(name or "") or ".." in name:
        raise LmtuiError(
            f"invalid run name {name!r}: use letters, digits, '.', '_' and '-' (at most 64), "
            "starting with a letter or digit, no '/' or '..'"
        )
    return name


def run_path(name: str) -> Path:
    return runs_dir() / validate_name(name)


def exists(name: str) -> bool:
    return (run_path(name) / "run.json").is_file()


def unique_name(base: str) -> str:
    """``base``, or ``base-2``, ``base-3``… whichever is free."""
    base = re.sub(r"\.{2,}", ".", re.sub(r"[^A-Za-z0-9._-]+", "-", base)).strip("-._")[:56] or "run"
    name, n = base, 1
    while run_path(name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


# -- atomic files: a crash (or a full disk) mid-write leaves the previous file intact


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write to a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        with contextlib.suppress(OSError):  # not every platform can fsync a directory
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LmtuiError(
            f"could not write {path.name}: {exc.strerror or exc}; the previous version is kept"
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(
        path, lambda p: p.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    )


def write_tensors(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> None:
    from safetensors.numpy import save_file

    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    atomic_write(path, lambda p: save_file(arrays, str(p), metadata=metadata))


def read_tensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors file, turning any damage into a clear error."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="numpy") as fh:
            metadata = fh.metadata() or {}
            return {k: fh.get_tensor(k) for k in fh.keys()}, metadata  # noqa: SIM118 (not a dict)
    except FileNotFoundError:
        raise LmtuiError(f"{path} is missing") from None
    except Exception as exc:  # safetensors raises its own error types for bad headers and short files
        raise LmtuiError(f"{path} is not a valid safetensors weights file ({exc})") from None


# -- runs


@dataclass
class Run:
    name: str
    path: Path
    meta: dict[str, Any]

    @property
    def model_config(self) -> ModelConfig:
        return ModelConfig.from_dict(self.meta["model"])

    @property
    def metrics(self) -> dict[str, Any]:
        return self.meta.get("metrics", {})

    def tokenizer(self) -> Tokenizer:
        try:
            return Tokenizer.from_dict(self.meta["tokenizer"])
        except (KeyError, ValueError) as exc:
            raise LmtuiError(f"run {self.name!r} has a damaged tokenizer: {exc}") from None

    def load_model(self, device: str = "cpu", which: str = "model") -> LanguageModel:
        tensors, _ = read_tensors(self.path / f"{which}.safetensors")
        return build_model(self.model_config, int(self.meta["vocab_size"]), tensors, device, self.name)

    def summary(self) -> dict[str, Any]:
        """One row of the runs table (also ``lmtui runs --json``)."""
        m, cfg = self.metrics, self.meta["model"]
        return {
            "name": self.name,
            "corpus": self.meta["corpus"]["name"],
            "model": cfg["model"],
            "level": cfg["level"],
            "status": self.meta.get("status"),
            "created": self.meta.get("created"),
            "parameters": m.get("parameters"),
            "size_bytes": m.get("size_bytes"),
            "val_ppl": m.get("val_ppl"),
            "test_ppl": m.get("test_ppl"),
            "bits_per_char": m.get("bits_per_char"),
            # what a perplexity hides (lmtui.lab.metrics): the <unk> share, and probability-0 tokens
            "val_unk_rate": m.get("val_unk_rate"),
            "val_ppl_excl_oov": m.get("val_ppl_excl_oov"),
            "val_ppl_infinite": bool(m.get("val_ppl_infinite")),
            # n-gram runs: share of validation n-grams of the model's order never seen in training
            "unseen_at_order": (m.get("sparsity_by_order") or [{}])[-1].get("unseen"),
            "train_seconds": m.get("train_seconds"),
            "step": m.get("step"),
        }

    def save_meta(self) -> None:
        self.meta["updated"] = time.time()
        write_json(self.path / "run.json", self.meta)

    def history(self) -> list[dict[str, Any]]:
        path = self.path / "events.jsonl"
        if not path.is_file():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                out.append(json.loads(line))
        return out


def build_model(
    config: ModelConfig, vocab_size: int, tensors: dict[str, np.ndarray], device: str = "cpu", name: str = "?"
) -> LanguageModel:
    check_model_config(config, f"run {name!r}")
    cls = model_class(config.model)
    if config.model != "ngram":  # a config from a stranger must not make us allocate more than the file holds
        needed = estimate_parameters(config, vocab_size)
        stored = sum(int(np.asarray(t).size) for t in tensors.values())
        if needed > stored:
            raise LmtuiError(
                f"run {name!r}: the weights do not fit the model's config "
                f"({stored:,} numbers stored, {needed:,} needed)"
            )
    try:
        if config.model == "ngram":
            return cls.from_tensors(config, vocab_size, tensors)
        return cls.from_tensors(config, vocab_size, tensors, device=device)  # type: ignore[call-arg]
    except (ValueError, TypeError, RuntimeError) as exc:
        raise LmtuiError(f"run {name!r}: {str(exc).strip().splitlines()[0]}") from None


def check_model_config(config: ModelConfig, where: str) -> None:
    """Refuse a model config (from run.json or a shared bundle) with values of the wrong type or range."""
    from lmtui.training import TrainConfig, validate

    types = {"order": int, "context": int, "embed": int, "hidden": int, "layers": int}
    types |= {"k": (int, float), "dropout": (int, float), "tie_weights": bool, "smoothing": str, "level": str}
    wrong = [
        n
        for n, t in types.items()
        if not isinstance(getattr(config, n), t) or (t is not bool and isinstance(getattr(config, n), bool))
    ]
    if wrong:
        raise LmtuiError(f"{where}: the model config has values of the wrong type ({', '.join(wrong)})")
    try:
        validate(config, TrainConfig())
    except LmtuiError as exc:
        raise LmtuiError(f"{where}: the model config is invalid ({exc})") from None


def check_meta(meta: Any, where: str) -> dict[str, Any]:
    """Refuse JSON that is not an lmtui run of a version this lmtui reads."""
    if not isinstance(meta, dict) or meta.get("format") != RUN_FORMAT:
        raise LmtuiError(f"{where} is not an lmtui run file")
    if meta.get("version") != RUN_VERSION:
        raise LmtuiError(
            f"{where} is an lmtui run of format version {meta.get('version')}; this lmtui reads {RUN_VERSION}"
        )
    model = meta.get("model")
    if not isinstance(model, dict) or model.get("model") not in MODEL_KINDS:
        raise LmtuiError(f"{where} names no model this lmtui knows")
    corpus = meta.get("corpus")
    if not isinstance(corpus, dict) or not isinstance(corpus.get("name"), str):
        raise LmtuiError(f"{where} names no corpus")
    if not isinstance(meta.get("vocab_size"), int) or meta["vocab_size"] < 1:
        raise LmtuiError(f"{where} has no valid vocabulary size")
    return meta


def load_run(name: str) -> Run:
    path = run_path(name)
    meta_path = path / "run.json"
    if not meta_path.is_file():
        known = ", ".join(r.name for r in list_runs()[:8]) or "none yet; train one with `lmtui train`"
        raise LmtuiError(f"no run named {name!r} (runs: {known})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise LmtuiError(f"{meta_path} is damaged (not valid JSON)") from None
    return Run(name, path, check_meta(meta, str(meta_path)))


def list_runs() -> list[Run]:
    folder = runs_dir()
    if not folder.is_dir():
        return []
    runs = []
    for path in sorted(folder.iterdir()):
        if (path / "run.json").is_file() and NAME_RE.fullmatch(path.name):
            with contextlib.suppress(LmtuiError):
                runs.append(load_run(path.name))
    runs.sort(key=lambda r: r.meta.get("created", 0))
    return runs


def delete_run(name: str) -> None:
    path = run_path(name)
    if not (path / "run.json").is_file():
        raise LmtuiError(f"no run named {name!r}")
    shutil.rmtree(path)


def trim_history(run: Run, step: int) -> None:
    """Drop the curve past ``step``: after a crash, the steps logged since the last checkpoint are redone."""
    path = run.path / "events.jsonl"
    if not path.is_file():
        return
    keep = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            data = json.loads(line)
            if not (isinstance(data, dict) and isinstance(data.get("step"), int) and data["step"] > step):
                keep.append(line)
    atomic_write(path, lambda p: p.write_text("".join(f"{line}\n" for line in keep), encoding="utf-8"))


def remove_leftovers(run: Run) -> None:
    """Remove temporary files a killed writer left behind (``.NAME.XXXX.tmp``, see atomic_write)."""
    for tmp in run.path.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()


def append_event(run: Run, data: dict[str, Any]) -> None:
    with open(run.path / "events.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(data, ensure_ascii=False) + "\n")


# -- sharing a run as one file: weights + run.json in a safetensors file (its metadata holds the JSON)

BUNDLE_KEY = "lmtui-run"


def export_bundle(name: str, path: Path) -> Path:
    """Write run ``name`` (config, vocabulary, metrics, best weights) as one safetensors file."""
    run = load_run(name)
    tensors, _ = read_tensors(run.path / "model.safetensors")
    meta = {k: v for k, v in run.meta.items() if k != "corpus"}
    meta["corpus"] = {
        k: v for k, v in run.meta["corpus"].items() if k != "spec" or run.meta["corpus"].get("bundled")
    }
    write_tensors(Path(path), tensors, {BUNDLE_KEY: json.dumps(meta, ensure_ascii=False)})
    return Path(path)


def import_bundle(path: Path, name: str | None = None) -> Run:
    """Check all of a shared bundle (format, config, vocabulary, weight shapes) before writing anything."""
    path = Path(path)
    if not path.is_file():
        raise LmtuiError(f"no such file: {path}")
    tensors, metadata = read_tensors(path)
    try:
        meta = json.loads(metadata[BUNDLE_KEY])
    except (KeyError, json.JSONDecodeError):
        raise LmtuiError(f"{path} is a safetensors file but not an lmtui run bundle") from None
    meta = check_meta(meta, str(path))
    tokenizer_data = meta.get("tokenizer")
    try:
        tokenizer = Tokenizer.from_dict(tokenizer_data if isinstance(tokenizer_data, dict) else {})
    except ValueError as exc:
        raise LmtuiError(f"{path}: bad vocabulary ({exc})") from None
    if len(tokenizer) != meta["vocab_size"]:
        raise LmtuiError(
            f"{path}: the vocabulary has {len(tokenizer)} tokens but the model expects {meta['vocab_size']}"
        )
    config = ModelConfig.from_dict(meta["model"])
    build_model(config, meta["vocab_size"], tensors, "cpu", str(path))  # raises if shapes do not fit
    name = validate_name(name or str(meta.get("name", path.stem)))
    if exists(name):
        raise LmtuiError(f"a run named {name!r} already exists; import it under another name with --name")
    corpus = meta["corpus"]
    corpus.setdefault("spec", corpus["name"])
    meta.update(name=name, corpus=corpus, status=meta.get("status", "done"), imported_from=path.name)
    # Assemble in a hidden folder, then rename: a half-imported run never appears in the list.
    runs_dir().mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".import-{name}-", dir=runs_dir()))
    try:
        write_tensors(staging / "model.safetensors", tensors)
        write_json(staging / "run.json", meta)
        os.replace(staging, run_path(name))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return load_run(name)
