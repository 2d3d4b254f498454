"""One writer per run: an OS lock on a file inside the run folder, held for the writer's whole life.

The operating system drops the lock when its process ends, however it ends (SIGKILL, a power cut), so a
killed trainer never leaves its run locked; a stored status of "training" without a live holder is how a
reader tells an interrupted run (see runs.Run.status). POSIX uses ``fcntl.flock``, Windows
``msvcrt.locking``; where neither exists, a pid file is the best effort.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from lmtui.errors import LmtuiError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
try:
    import msvcrt
except ImportError:  # POSIX
    msvcrt = None  # type: ignore[assignment]

LOCK_NAME = ".lock"
UNSUPPORTED = {getattr(errno, n) for n in ("ENOLCK", "EOPNOTSUPP", "ENOTSUP", "ENOSYS") if hasattr(errno, n)}
_WIN_OFFSET = 64  # msvcrt locks a byte range: one past the pid text, so others can still read the pid


class RunBusy(LmtuiError):
    """Another process is writing this run (training, resuming, deleting or importing it)."""

    def __init__(self, name: str, pid: int | None) -> None:
        self.name, self.pid = name, pid
        who = f" (pid {pid})" if pid else ""
        super().__init__(f"run {name!r} is being trained by another process{who}; try again when it ends")


class RunGone(LmtuiError):
    """The run folder was removed (deleted by another process) while we were locking it."""


class RunLock:
    """A held lock; ``release`` (or the process ending) gives it up."""

    def __init__(self, folder: Path, fd: int | None) -> None:
        self.folder, self.fd, self.held = folder, fd, True

    def release(self) -> None:
        """Give the lock up; calling it again does nothing."""
        if not self.held:
            return
        self.held = False
        if self.fd is None:
            if fcntl is None and msvcrt is None:
                with contextlib.suppress(OSError):
                    (self.folder / LOCK_NAME).unlink()
            return
        fd, self.fd = self.fd, None
        with contextlib.suppress(OSError):
            if msvcrt is not None and fcntl is None:
                os.lseek(fd, _WIN_OFFSET, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        os.close(fd)  # closing drops an flock


def holder(folder: Path) -> int | None:
    """The pid written by the lock's (last) holder, if any."""
    with contextlib.suppress(OSError, ValueError, IndexError), open(Path(folder) / LOCK_NAME, "rb") as fh:
        return int(fh.read(32).split()[0])
    return None


def _try_lock(fd: int, shared: bool = False) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        else:
            os.lseek(fd, _WIN_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, errno.EDEADLK):
            return False
        if exc.errno in UNSUPPORTED:  # a file system without locks (some network mounts): best effort
            return True
        raise
    return True


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def acquire(folder: Path, name: str | None = None) -> RunLock:
    """Lock run folder ``folder`` for this process, or raise RunBusy naming the holder's pid."""
    folder = Path(folder)
    name = name or folder.name
    path = folder / LOCK_NAME
    try:
        if fcntl is None and msvcrt is None:
            if is_locked(folder):
                raise RunBusy(name, holder(folder))
            path.write_text(f"{os.getpid()}\n", encoding="ascii")
            return RunLock(folder, None)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if not _try_lock(fd):
                raise RunBusy(name, holder(folder))
            # a deleter may have removed the folder between our open and our lock: then it is not the run's
            if os.fstat(fd).st_ino != os.stat(path).st_ino:
                raise FileNotFoundError(errno.ENOENT, "the run was removed", str(path))
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode().ljust(_WIN_OFFSET - 1) + b"\n")
        except BaseException:
            os.close(fd)
            raise
        return RunLock(folder, fd)
    except FileNotFoundError:
        raise RunGone(f"no run named {name!r} (it was just deleted)") from None
    except OSError as exc:
        raise LmtuiError(f"cannot lock run {name!r} in {folder}: {exc.strerror or exc}") from None


def is_locked(folder: Path) -> bool:
    """Is a live process holding this run's lock (this one included)?"""
    path = Path(folder) / LOCK_NAME
    if fcntl is None and msvcrt is None:
        pid = holder(folder)
        return pid is not None and _pid_alive(pid)
    try:
        fd = os.open(path, os.O_RDONLY if fcntl is not None else os.O_RDWR)
    except OSError:
        return False  # no lock file: nobody ever locked it (or the folder is unreadable: nobody can write)
    try:
        if not _try_lock(fd, shared=True):
            return True
        if fcntl is None:
            with contextlib.suppress(OSError):
                os.lseek(fd, _WIN_OFFSET, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return False
    except OSError:
        return False
    finally:
        os.close(fd)


@contextlib.contextmanager
def run_lock(folder: Path, name: str | None = None) -> Iterator[RunLock]:
    """``with run_lock(path):`` this process is the run's one writer until the block ends."""
    lock = acquire(folder, name)
    try:
        yield lock
    finally:
        lock.release()
