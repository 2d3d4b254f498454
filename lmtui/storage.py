"""Files on disk: atomic writes, checked reads and safe write targets.

Every file lmtui writes goes to a temporary file beside its target, is fsynced, then renamed over it, so a
crash, a kill or a full disk mid-write leaves the previous version intact. Every failure (OSError, or
safetensors' own error type on a full disk) becomes one LmtuiError line. Files get the permissions the user's
umask asks for (mkstemp alone would leave them 0600, unreadable to whoever the user shares them with).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from lmtui.errors import LmtuiError
from lmtui.visible import visible_line

MAX_JSON_BYTES = 256 << 20  # a run.json holds a vocabulary: megabytes, never this
MAX_INT_DIGITS = 40  # no count, size or seed lmtui stores has more (Python's own limit is 4300)


def shown(text: str, limit: int = 160) -> str:
    """``text`` (an error's detail, which may quote a file) on one line with every control character, lone
    surrogate included, as an escape, cut to ``limit``: a damaged file must not drive the terminal."""
    text = visible_line(str(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _detail(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return shown(lines[0] if lines else type(exc).__name__)


def _umask() -> int:
    """The process's umask, read without changing it where the platform says it (Linux's /proc)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: set and restore (a moment's race with other threads creating files)
    os.umask(mask)
    return mask


def file_mode() -> int:
    return 0o666 & ~_umask()


def write_error(path: Path, exc: BaseException) -> LmtuiError:
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else _detail(exc)
    if any(s in detail for s in ("No space", "StorageFull", "os error 28", "code: 28")):
        detail = "No space left on device (the disk is full)"
    return LmtuiError(f"could not write {path}: {detail}; the previous version is kept")


def _write_errors() -> tuple[type[BaseException], ...]:
    """What a writer raises for data it cannot write (a full disk, text that is not Unicode, a type
    safetensors refuses): one line, never a traceback."""
    from safetensors import SafetensorError

    return (OSError, SafetensorError, ValueError, TypeError, MemoryError)


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write to a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise write_error(path, exc) from None
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, file_mode())
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        with contextlib.suppress(OSError):  # not every platform can fsync a directory
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, _write_errors()) or type(exc).__name__ == "PanicException":  # safetensors' Rust
            raise write_error(path, exc) from None
        raise


def not_unicode(data: Any, where: str = "") -> str | None:
    """Where in ``data`` a string (key or value) holds a lone surrogate, which no UTF-8 file can: a dotted
    path such as ``corpus.name``, or None when every string can be written."""
    if isinstance(data, str):
        return None if data.isascii() or encodes(data) else (where or "a string")
    pairs: Any = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in pairs:
        inner = f"{where}.{key}" if where else str(key)
        found = inner if isinstance(key, str) and not encodes(key) else not_unicode(value, inner)
        if found is not None:
            return found
    return None


def encodes(text: str) -> bool:
    """Can ``text`` be written as UTF-8? JSON's ``"\\ud800"`` reads as a lone surrogate, which cannot."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unwritable_text(path: Path, data: Any) -> LmtuiError:
    try:
        field = shown(not_unicode(data) or "a string", 60)
    except RecursionError:
        field = "a string"
    return LmtuiError(
        f"could not write {path}: {field} holds text that is not valid Unicode (a lone surrogate); "
        "the previous version is kept"
    )


def check_unicode(path: Path, data: Any) -> None:
    """Refuse, naming the field, data holding text no UTF-8 file can hold, before anything is written."""
    try:
        bad = not_unicode(data)
    except RecursionError:
        bad = None
    if bad is not None:
        raise _unwritable_text(path, data)


def json_line(data: dict[str, Any]) -> str:
    """One line of an append-only log (events.jsonl): UTF-8 where it can be, ASCII escapes where a string
    holds a lone surrogate, so a line is always written and always read back."""
    line = json.dumps(data, ensure_ascii=False)
    return line if encodes(line) else json.dumps(data)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as UTF-8 JSON that lmtui's own reader takes back: no NaN, no lone surrogates."""
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError:  # NaN or inf: no JSON reader (lmtui's schema included) would take it back
        raise LmtuiError(f"could not write {path}: it would hold a value that is not a number") from None
    except (TypeError, RecursionError) as exc:  # a value JSON has no form for: lmtui's bug, still one line
        raise LmtuiError(f"could not write {path}: {_detail(exc)}") from None
    if not encodes(text):
        raise _unwritable_text(path, data)
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_tensors(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> None:
    """Write ``tensors`` (and string ``metadata``: safetensors' header) as one safetensors file."""
    from safetensors.numpy import save_file

    if metadata is not None:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise LmtuiError(f"could not write {path}: its metadata must be text")
        if not_unicode(metadata) is not None:
            raise _unwritable_text(path, metadata)
    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    atomic_write(path, lambda p: save_file(arrays, str(p), metadata=metadata))


def regular_file(path: Path, what: str = "") -> Path:
    """``path`` if it is a regular file; a FIFO or a device would block or never end a read."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise LmtuiError(f"{path} is missing") from None
    except OSError as exc:
        raise LmtuiError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise LmtuiError(f"{path} is not a regular file{what}")
    return path


def _small_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise ValueError(f"a number has {digits:,} digits")
    return int(text)


def _one_of_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose key appears twice means what the reader picks; lmtui never writes one."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"the key {shown(repr(key), 40)} appears twice")
        obj[key] = value
    return obj


def _not_finite(data: Any, where: str = "") -> str | None:
    """The dotted path of the first NaN or infinite number in ``data``."""
    if isinstance(data, float):
        return None if math.isfinite(data) else (where or "the value")
    pairs: Any = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in pairs:
        found = _not_finite(value, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None


def parse_json(text: str, where: Path | str, what: str = "is damaged") -> Any:
    """Strict JSON, as write_json writes it, from ``where`` (a file, or a file's metadata): finite numbers of
    sane size and each key once (json.loads alone takes NaN, Infinity, 1e999 as inf, duplicate keys, and
    fails on a 5000-digit integer with a ValueError that is not a JSONDecodeError). Any damage is one line
    naming the file, and the field where a number is not finite."""
    odd: list[str] = []  # the non-finite numbers seen: rare, so only then is the data searched for them

    def constant(name: str) -> float:
        odd.append(name)
        return float(name)

    def number(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):
            odd.append(shown(literal, 24))
        return value

    decoder = json.JSONDecoder(
        parse_float=number, parse_int=_small_int, parse_constant=constant, object_pairs_hook=_one_of_each
    )
    try:
        data = decoder.decode(text)
    except json.JSONDecodeError as exc:
        why = f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
    except RecursionError:
        why = "not valid JSON: nested too deeply"
    except MemoryError:
        why = "too large to hold in memory"
    except ValueError as exc:
        why = f"not valid JSON: {_detail(exc)}"
    else:
        if not odd:
            return data
        try:
            field = shown(_not_finite(data) or "a value", 60)
        except RecursionError:
            field = "a value"
        why = f"{field} is {odd[0]}, an invalid JSON number"
    raise LmtuiError(f"{where} {what} ({why})")


def read_json(path: Path) -> Any:
    """A JSON file lmtui wrote (a run.json): read once, checked to be a regular file (no FIFO or device to
    block on, even if swapped in after the check) of sane size, UTF-8 (a BOM is allowed) and strict JSON."""
    regular_file(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise LmtuiError(f"{path} is not a regular file")
            raw = fh.read(MAX_JSON_BYTES + 1)
    except OSError as exc:
        raise LmtuiError(f"cannot read {path}: {exc.strerror or _detail(exc)}") from None
    except MemoryError:
        raise LmtuiError(f"cannot read {path}: it does not fit in memory") from None
    if len(raw) > MAX_JSON_BYTES:
        raise LmtuiError(f"{path} is damaged (far too large for a run file)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        why = f"not UTF-8, bad byte at offset {exc.start}"
        raise LmtuiError(f"{path} is damaged (not valid JSON: {why})") from None
    return parse_json(text, path)


def read_tensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors file, turning any damage into a clear error."""
    from safetensors import safe_open

    regular_file(path)
    try:
        with safe_open(str(path), framework="numpy") as fh:
            metadata = fh.metadata() or {}
            return {k: fh.get_tensor(k) for k in fh.keys()}, metadata  # noqa: SIM118 (not a dict)
    except FileNotFoundError:
        raise LmtuiError(f"{path} is missing") from None
    except MemoryError:
        raise LmtuiError(f"{path} does not fit in memory") from None
    except OSError as exc:
        raise LmtuiError(f"cannot read {path}: {exc.strerror or _detail(exc)}") from None
    except BaseException as exc:  # safetensors' own error types for bad headers and short files; a Rust panic
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise  # KeyboardInterrupt, SystemExit
        raise LmtuiError(f"{path} is not a valid safetensors weights file ({_detail(exc)})") from None


def check_target(path: Path, force: bool, protected: Path | None = None) -> Path:
    """A user-named file to write: refused inside ``protected`` (the runs folder), when it is not a regular
    file (a FIFO, a device, a folder, a link), or when it exists and ``force`` was not given."""
    path = Path(path).expanduser()
    try:
        where = path.parent.resolve() / path.name
        if protected is not None and where.is_relative_to(protected.resolve()):
            raise LmtuiError(f"{path} is inside lmtui's runs folder; write it somewhere else")
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise LmtuiError(f"{path} exists and is not a regular file; lmtui will not replace it")
        if path.exists() and not force:
            raise LmtuiError(f"{path} already exists; add --force to replace it")
        if not path.parent.is_dir():
            raise LmtuiError(f"cannot write {path}: no folder {path.parent}")
    except OSError as exc:
        raise LmtuiError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
