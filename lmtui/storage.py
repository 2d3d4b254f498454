"""Files on disk: atomic writes, checked reads and safe write targets.

Every file lmtui writes goes to a temporary file beside its target, is fsynced, then renamed over it, so a
crash, a kill or a full disk mid-write leaves the previous version intact. Every failure (OSError, or
safetensors' own error type on a full disk) becomes one LmtuiError line. Files get the permissions the user's
umask asks for (mkstemp alone would leave them 0600, unreadable to whoever the user shares them with).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from lmtui.errors import LmtuiError

MAX_JSON_BYTES = 256 << 20  # a run.json holds a vocabulary: megabytes, never this


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
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).strip().splitlines()[0]
    if any(s in detail for s in ("No space", "StorageFull", "os error 28", "code: 28")):
        detail = "No space left on device (the disk is full)"
    return LmtuiError(f"could not write {path}: {detail}; the previous version is kept")


def _write_errors() -> tuple[type[BaseException], ...]:
    from safetensors import SafetensorError

    return (OSError, SafetensorError)


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
    except _write_errors() as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise write_error(path, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_json(path: Path, data: dict[str, Any]) -> None:
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError:  # NaN or inf: no JSON reader (lmtui's schema included) would take it back
        raise LmtuiError(f"could not write {path}: it would hold a value that is not a number") from None
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_tensors(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> None:
    from safetensors.numpy import save_file

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


def read_json(path: Path) -> Any:
    regular_file(path)
    try:
        if os.path.getsize(path) > MAX_JSON_BYTES:
            raise LmtuiError(f"{path} is damaged (far too large for a run file)")
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise LmtuiError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise LmtuiError(f"{path} is damaged (not valid JSON)") from None


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
    except Exception as exc:  # safetensors raises its own error types for bad headers and short files
        raise LmtuiError(f"{path} is not a valid safetensors weights file ({exc})") from None


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
