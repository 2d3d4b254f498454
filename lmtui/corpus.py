"""Corpora: the bundled texts (listed in a manifest) and the user's own files, checked and split.

A corpus is just text. Splits are deterministic so that a run's validation and test perplexity can be
compared with any other run on the same corpus: running text is cut into contiguous spans (the tail is
validation, then test); one-item-per-line corpora are shuffled with a fixed seed first, so every split gets
a fair sample of items.
"""

from __future__ import annotations

import json
import os
import random
import re
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lmtui.errors import EncodingError, LmtuiError
from lmtui.options import check_encoding

# A folder of your own text: these are read, in name order.
TEXT_SUFFIXES = (".txt",)
# Refuse (rather than half-read) texts larger than this; lmtui keeps a corpus in memory as one string.
MAX_BYTES = 1 << 30
SPLIT_SEED = 1234
STDIN = "-"  # `cat novel.txt | lmtui train -`
# A folder is searched for .txt files up to this many entries / seconds: a corpus named /usr or / is refused
# rather than scanned for minutes.
MAX_SCAN_ENTRIES = 100_000
MAX_SCAN_SECONDS = 15.0


@dataclass(frozen=True)
class CorpusInfo:
    name: str
    title: str
    description: str
    unit: str  # "text": running text; "lines": one item per line
    level: str  # suggested level: "char" or "word"
    path: Path
    bundled: bool = True
    source: str = ""
    licence: str = ""
    stream: bool = False  # standard input or a pipe: read once, cannot be read again later

    @property
    def spec(self) -> str:
        """What a run stores to find this text again: a bundled name, an absolute path, or ``-`` for text
        that came through standard input or a pipe (``eval`` and ``--resume`` then read standard input)."""
        if self.bundled:
            return self.name
        return STDIN if self.stream else str(self.path.resolve())


@dataclass(frozen=True)
class Splits:
    train: str
    val: str
    test: str


@dataclass(frozen=True)
class Stats:
    chars: int
    words: int
    lines: int
    distinct_chars: int
    distinct_words: int


def corpora_dir() -> Path:
    """Where the bundled corpora live: inside the installed wheel, or the repo's ``corpora/`` folder."""
    packaged = Path(__file__).parent / "corpora"
    if (packaged / "manifest.json").is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "corpora"


@cache
def bundled_corpora() -> tuple[CorpusInfo, ...]:
    folder = corpora_dir()
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return ()
    entries = json.loads(manifest.read_text(encoding="utf-8"))
    return tuple(
        CorpusInfo(
            name=e["name"],
            title=e["title"],
            description=e["description"],
            unit=e["unit"],
            level=e["level"],
            path=folder / e["file"],
            source=e.get("source", ""),
            licence=e.get("licence", ""),
        )
        for e in entries
    )


def find_corpus(spec: str) -> CorpusInfo:
    """A bundled corpus by name, the user's file or folder by path, or ``-``: standard input."""
    if spec == STDIN:
        return CorpusInfo(
            "stdin",
            "standard input",
            "text read from standard input",
            "text",
            "char",
            Path("/dev/stdin"),
            bundled=False,
            stream=True,
        )
    for info in bundled_corpora():
        if info.name == spec:
            return info
    path = Path(spec).expanduser()
    try:
        found = path.exists()
    except OSError as exc:  # a path longer than the system allows, a loop of links
        raise LmtuiError(f"cannot open {spec}: {exc.strerror or exc}") from None
    except ValueError:  # a NUL character: no file system has such a name
        raise LmtuiError(f"no corpus named {spec!r}: a file name cannot hold a NUL character") from None
    if not found:
        names = ", ".join(c.name for c in bundled_corpora())
        raise LmtuiError(f"no corpus named {spec!r} and no such file or folder (bundled corpora: {names})")
    stream = _is_pipe(path)  # `train <(zcat novel.txt.gz)`: /dev/fd/63, or a named FIFO
    return CorpusInfo(
        name="pipe" if stream and path.parent == Path("/dev/fd") else path.stem or path.name,
        title=path.name,
        description=f"your text at {path}",
        unit="text",
        level="char",
        path=path,
        bundled=False,
        stream=stream,
    )


def _is_pipe(path: Path) -> bool:
    try:
        return stat.S_ISFIFO(path.stat().st_mode) or stat.S_ISSOCK(path.stat().st_mode)
    except OSError:
        return False


def load_text(
    spec: str,
    encoding: str | None = None,
    deadline: float | None = None,
    stop: Callable[[], bool] | None = None,
) -> tuple[CorpusInfo, str]:
    """Find a corpus and read its text, checked and with line endings normalised to ``\\n``.

    ``deadline`` (a ``time.perf_counter()`` value) and ``stop`` bound the wait for standard input or a pipe
    (``read_stream``); a file or a bundled corpus is read whatever they say."""
    info = find_corpus(spec)
    if info.stream:
        text = read_stream(info, encoding, deadline, stop)
    elif info.path.is_dir():
        files = text_files(info.path)
        if not files:
            raise LmtuiError(
                f"the folder {info.path} holds no .txt files; point lmtui at a text file or a folder of them"
            )
        try:
            total = sum(p.stat().st_size for p in files)
        except OSError as exc:
            raise LmtuiError(f"cannot read {exc.filename}: {exc.strerror or exc}") from None
        if total > MAX_BYTES:
            raise LmtuiError(
                f"the .txt files in {info.path} hold {_size(total)} together; lmtui reads at most "
                f"{_size(MAX_BYTES)} of text: train on a folder with fewer of them"
            )
        text = "\n\n".join(read_text_file(p, encoding) for p in files)
    else:
        text = read_text_file(info.path, encoding)
    if not text.strip():
        raise LmtuiError(f"{info.path} holds no text (it is empty or only whitespace)")
    return info, text


def read_stream(
    info: CorpusInfo,
    encoding: str | None = None,
    deadline: float | None = None,
    stop: Callable[[], bool] | None = None,
) -> str:
    """Standard input or a pipe, read to its end: at most MAX_BYTES, the same checks as a file.

    With a ``deadline`` (a ``time.perf_counter()`` value: the session's --max-seconds), a text that has not
    ended by then is an LmtuiError (StreamTimeout); without one a slow producer may take as long as it needs.
    The wait polls, so a signal handler runs and ``stop()`` is asked several times a second: when it says
    True (Ctrl+C or SIGTERM set the training's stop flag) the wait ends in KeyboardInterrupt."""
    is_stdin = info.name == "stdin" and info.path == Path("/dev/stdin")
    where = "standard input" if is_stdin else str(info.path)
    waiting = _Wait(where, deadline, stop)
    try:
        if is_stdin:
            stdin = sys.stdin.buffer
            if stdin.isatty():
                raise LmtuiError(
                    "standard input is a terminal, not a text: pipe one in (cat novel.txt | lmtui train -)"
                )
            mode = os.fstat(stdin.fileno()).st_mode if _has_fileno(stdin) else stat.S_IFIFO
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):  # < /dev/zero would be read forever
                raise LmtuiError("standard input is a device, not a text; pipe a text in")
            if _has_fileno(stdin) and _CAN_POLL and (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
                data = _read_fd(stdin.fileno(), waiting)  # nothing has been read through the buffer yet
            else:  # a file (`< novel.txt`) is never slow; a test runner's in-memory stdin has no descriptor
                data = stdin.read(MAX_BYTES + 1)
        else:
            data = _read_pipe(info.path, waiting=waiting)
    except OSError as exc:
        raise LmtuiError(f"cannot read {where}: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise LmtuiError(
            f"{where} holds more than {_size(MAX_BYTES)}; lmtui keeps a text in memory and reads at most "
            f"that: train on a part of it (e.g. head -c {MAX_BYTES})"
        )
    return decode_bytes(data, where, encoding)


class StreamTimeout(LmtuiError):
    """Text from standard input or a pipe that had not ended when the session's time budget ran out."""


_CAN_POLL = sys.platform != "win32"  # select() takes pipes on POSIX only; Windows reads block as before
POLL_SECONDS = 0.1  # how often a wait for piped text wakes to check the deadline and the stop flag


class _Wait:
    """A bounded wait for piped text: until ``deadline`` (perf_counter) if any, and while ``stop()`` is
    False."""

    def __init__(self, where: str, deadline: float | None, stop: Callable[[], bool] | None):
        self.where, self.deadline, self.stop = where, deadline, stop
        self.since = time.perf_counter()

    def readable(self, fd: int, arrived: int) -> None:
        """Return once ``fd`` can be read without blocking; StreamTimeout at the deadline."""
        import select

        while True:
            if self.stop is not None and self.stop():
                raise KeyboardInterrupt
            left = None if self.deadline is None else self.deadline - time.perf_counter()
            timeout = POLL_SECONDS if left is None else max(0.0, min(POLL_SECONDS, left))
            ready, _, _ = select.select([fd], [], [], timeout)
            if ready:  # text already there is read even at the deadline
                return
            if left is not None and left <= timeout:
                self.expired(arrived)

    def expired(self, arrived: int) -> None:
        budget = "the time budget (--max-seconds)"
        if arrived:
            raise StreamTimeout(
                f"{self.where} had sent {_size(arrived)} but not ended when {budget} ran out; "
                "send the whole text sooner, or give a longer --max-seconds or only --steps"
            )
        waited = max(0.0, (self.deadline or 0.0) - self.since)
        raise StreamTimeout(
            f"no text arrived on {self.where} in the {waited:.1f} s left of {budget}; "
            "start the producer first, or give a longer --max-seconds or only --steps"
        )

    def past(self) -> bool:
        return self.deadline is not None and time.perf_counter() >= self.deadline


def _read_fd(fd: int, waiting: _Wait, first: bytes = b"") -> bytes:
    """Read ``fd`` to its end (at most MAX_BYTES + 1 bytes), waiting in short polls (``_Wait``)."""
    chunks, size = [first], len(first)
    while size <= MAX_BYTES:
        waiting.readable(fd, size)
        try:
            chunk = os.read(fd, min(1 << 20, MAX_BYTES + 1 - size))
        except BlockingIOError:  # woken with nothing to read after all
            continue
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _read_pipe(path: Path, wait: float = 2.0, waiting: _Wait | None = None) -> bytes:
    """Read a pipe to its end. Opened without blocking: a named pipe nobody writes to gives no text after
    ``wait`` seconds instead of hanging (a writer blocked in open() connects within that grace)."""
    waiting = waiting or _Wait(str(path), None, None)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    grace = time.monotonic() + wait
    first = b""
    with os.fdopen(fd, "rb", buffering=0) as f:
        while True:
            try:
                first = os.read(fd, 65536)
            except BlockingIOError:  # a writer is there, with nothing written yet
                break
            if first or time.monotonic() > grace:
                break
            if waiting.stop is not None and waiting.stop():
                raise KeyboardInterrupt
            if waiting.past():
                waiting.expired(0)
            time.sleep(0.02)  # no writer yet
        if not first and time.monotonic() > grace:
            return b""
        if not _CAN_POLL:
            os.set_blocking(fd, True)
            chunks, size = [first], len(first)
            while size <= MAX_BYTES:  # unbuffered reads return what one read(2) gives: loop to the end
                chunk = f.read(min(1 << 20, MAX_BYTES + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            return b"".join(chunks)
        return _read_fd(fd, waiting, first)


def _has_fileno(stream: object) -> bool:
    try:
        stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):  # a test runner's in-memory stdin
        return False
    return True
def text_files(folder: Path) -> list[Path]:
    """The .txt files under ``folder`` in path order. An unreadable subfolder, a path too long for the
    system, or more than MAX_SCAN_ENTRIES entries / MAX_SCAN_SECONDS of searching: one LmtuiError line."""

    def fail(exc: OSError) -> None:
        raise LmtuiError(f"cannot read the folder {exc.filename or folder}: {exc.strerror or exc}")

    found: list[Path] = []
    seen, t0 = 0, time.monotonic()
    try:
        for root, dirs, names in os.walk(folder, onerror=fail):
            dirs.sort()
            seen += len(dirs) + len(names)
            if seen > MAX_SCAN_ENTRIES or time.monotonic() - t0 > MAX_SCAN_SECONDS:
                raise LmtuiError(
                    f"the folder {folder} holds too many files to search (over {MAX_SCAN_ENTRIES:,} looked "
                    "at); point lmtui at the folder that holds your texts"
                )
            for name in names:
                path = Path(root) / name
                if path.suffix.lower() in TEXT_SUFFIXES and path.is_file():
                    found.append(path)
    except OSError as exc:
        raise LmtuiError(f"cannot read {exc.filename or folder}: {exc.strerror or exc}") from None
    return sorted(found)


def read_text_file(path: Path, encoding: str | None = None) -> str:
    """Read a user's text file, refusing binaries and naming the fix for text in another encoding."""
    try:
        if not path.is_file():  # /dev/zero or a pipe would be read forever
            raise LmtuiError(f"{path} is not a regular file; give lmtui a text file or a folder of them")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise LmtuiError(
                f"{path} is {_size(size)}; lmtui keeps a text in memory and reads at most "
                f"{_size(MAX_BYTES)}: train on a part of it (e.g. head -c {MAX_BYTES} {path} > part.txt)"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise LmtuiError(f"cannot read {path}: {exc.strerror or exc}") from None
    return decode_bytes(data, str(path), encoding)


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def decode_bytes(data: bytes, where: str, encoding: str | None = None) -> str:
    if encoding:
        check_encoding(encoding)
        try:
            text = data.decode(encoding)
        except UnicodeError as exc:  # a codec may raise the base class
            at = f" (byte {exc.start})" if isinstance(exc, UnicodeDecodeError) else ""
            raise LmtuiError(f"{where} is not valid {encoding}{at}") from None
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")  # a BOM says exactly what this is
        except UnicodeDecodeError as exc:
            raise LmtuiError(f"{where} starts like UTF-16 text but is damaged (byte {exc.start})") from None
    else:
        if b"\x00" in data[:65536]:
            raise LmtuiError(f"{where} looks like a binary file, not text")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise EncodingError(where, exc.start) from None
    if "\x00" in text:
        raise LmtuiError(f"{where} looks like a binary file, not text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_text(
    text: str, unit: str = "text", fractions: tuple[float, float, float] = (0.9, 0.05, 0.05)
) -> Splits:
    """Deterministic train/validation/test split (see module docstring)."""
    train_frac, val_frac, _ = fractions
    if unit == "lines":
        lines = [line for line in text.split("\n") if line.strip()]
        random.Random(SPLIT_SEED).shuffle(lines)
        a = round(len(lines) * train_frac)
        b = a + round(len(lines) * val_frac)
        join = "\n".join
        return Splits(join(lines[:a]) + "\n", join(lines[a:b]) + "\n", join(lines[b:]) + "\n")
    a = int(len(text) * train_frac)
    b = a + int(len(text) * val_frac)
    # A cut never moves past the next one nor onto the final newline: that would empty a split.
    a, b = _at_boundary(text, a, b - 1), _at_boundary(text, b, len(text) - 1)
    return Splits(text[:a], text[a:b], text[b:])


def _at_boundary(text: str, pos: int, limit: int) -> int:
    """Move a cut forward to the next newline (within a little, before ``limit``), so no split starts
    mid-word."""
    nl = text.find("\n", pos, min(pos + 2000, limit))
    return nl + 1 if nl >= 0 else pos


_WORD = re.compile(r"\w+")


def text_stats(text: str) -> Stats:
    words = _WORD.findall(text)
    return Stats(
        chars=len(text),
        words=len(words),
        lines=text.count("\n") + (0 if text.endswith("\n") else 1),
        distinct_chars=len(set(text)),
        distinct_words=len(set(words)),
    )


def preview(text: str, lines: int = 12, width: int = 400) -> str:
    """The first lines of a text, each cut after a whole word within ``width`` characters, with "…"."""
    head: list[str]
    head, start = [], 0
    while len(head) < lines and start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        head.append(text[start : min(end, start + width + 1)])
        start = end + 1
    return "\n".join(line if len(line) <= width else _cut(line, width) for line in head)


def _cut(line: str, width: int) -> str:
    """``line`` shortened to at most ``width`` characters, ending in "…" after a whole word where one fits."""
    space = line.rfind(" ", width // 2, width)
    return line[:space].rstrip() + " …" if space > 0 else line[: width - 1] + "…"
