"""One writer per run: an OS lock on a file inside the run folder, held for the writer's whole life.

The operating system drops the lock when its process ends, however it ends (SIGKILL, a power cut), so a
killed trainer never leaves its run locked; a stored status of "training" without a live holder is how a
reader tells an interrupted run (see runs.Run.status).

Readers must never disturb a writer (the app polls every run's status). On Linux the writer takes an
open-file-description lock (``F_OFD_SETLK``: per open file like flock, so closing another descriptor of the
file does not drop it) and a reader asks with ``F_OFD_GETLK``, which takes nothing. The writer also takes an
``fcntl.flock``, the lock older lmtui versions and other POSIX systems use; there a reader's test is a
shared flock held for microseconds, so a writer retries briefly before it reports the run busy. Windows uses
``msvcrt.locking`` (with the same retry); where neither exists, a pid file is the best effort.

The lock file is opened without following links (the run folder and ``.lock`` itself): a link planted
there never makes lmtui create or lock a file outside the runs folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import struct
import sys
import time
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
BLOCKED = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, errno.EDEADLK}
_WIN_OFFSET = 64  # msvcrt locks a byte range: one past the pid text, so others can still read the pid
_OFD = sys.platform.startswith("linux") and fcntl is not None and hasattr(fcntl, "F_OFD_GETLK")
# struct flock {short l_type, l_whence; off_t l_start, l_len; pid_t l_pid;} with C's padding ("0q" pads
# the end); off_t is 64 bits in every Linux Python build (large-file support)
_FLOCK = "hhqqi0q"
# a reader's flock test lasts microseconds: a writer that meets one retries this long before "busy"
_RETRY_PAUSES = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIR_FD = os.open in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")


class RunBusy(LmtuiError):
    """Another process is writing this run (training, resuming, deleting or importing it)."""

    def __init__(self, name: str, pid: int | None) -> None:
        self.name, self.pid = name, pid
        who = f" (pid {pid})" if pid else ""
        super().__init__(f"run {name!r} is being trained by another process{who}; try again when it ends")


class RunGone(LmtuiError):
    """The run folder was removed (deleted by another process) while we were locking it."""


class RunLock:
    """A held lock; ``release`` (or the process ending) gives it up. ``claim`` is the token of the claim
    marker (see runs.claim) when this lock came with a new run folder."""

    def __init__(self, folder: Path, fd: int | None) -> None:
        self.folder, self.fd, self.held = folder, fd, True
        self.claim: str | None = None

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
        os.close(fd)  # closing drops the flock and the open-file-description lock


def open_lock_file(folder: Path, create: bool = False, write: bool = False) -> int:
    """The run's lock file, opened without following a link at the folder or at ``.lock`` (and without
    waiting: a FIFO planted as ``.lock`` never blocks the open). A link raises OSError(ELOOP)."""
    folder = Path(folder)
    flags = os.O_RDWR if create or write else os.O_RDONLY
    flags |= (os.O_CREAT if create else 0) | _NOFOLLOW | _NONBLOCK | getattr(os, "O_BINARY", 0)
    if _DIR_FD:
        try:
            dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW)
        except NotADirectoryError:  # some kernels say ENOTDIR for a link opened with O_NOFOLLOW
            if folder.is_symlink():
                raise OSError(errno.ELOOP, "the run folder is a link", str(folder)) from None
            raise
        try:
            return os.open(LOCK_NAME, flags, 0o666, dir_fd=dir_fd)
        finally:
            os.close(dir_fd)
    if folder.is_symlink():  # Windows: no O_NOFOLLOW; a check is the best it offers
        raise OSError(errno.ELOOP, "the run folder is a link", str(folder))
    return os.open(folder / LOCK_NAME, flags, 0o666)


def holder(folder: Path) -> int | None:
    """The pid written by the lock's (last) holder, if any."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fd = open_lock_file(folder)
        try:
            return int(os.read(fd, 32).split()[0])
        finally:
            os.close(fd)
    return None


def _ofd(fd: int, command: int) -> int | None:
    """An open-file-description lock request for a write lock on the whole file: the resulting l_type
    (F_UNLCK from GETLK: nobody holds it), or None where the file system or kernel has no such locks."""
    try:
        request = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        return struct.unpack(_FLOCK, fcntl.fcntl(fd, command, request))[0]
    except OSError as exc:
        if exc.errno in UNSUPPORTED or exc.errno == errno.EINVAL:
            return None
        raise


def _try_lock(fd: int, shared: bool = False) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        else:
            os.lseek(fd, _WIN_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError as exc:
        if exc.errno in BLOCKED:
            return False
        if exc.errno in UNSUPPORTED:  # a file system without locks (some network mounts): best effort
            return True
        raise
    return True


def _lock_writer(fd: int) -> bool:
    """Take the writer's locks on ``fd``; False: another writer holds them."""
    if _OFD:
        try:
            _ofd(fd, fcntl.F_OFD_SETLK)
        except OSError as exc:
            if exc.errno in BLOCKED:
                return False
            raise
    for pause in (*_RETRY_PAUSES, None):
        if _try_lock(fd):
            return True
        if pause is None:
            return False
        time.sleep(pause)  # a reader's test lock, or a writer: a moment tells them apart
    return False


def pid_alive(pid: int) -> bool:
    """Is process ``pid`` running (this one included)?"""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _refused(folder: Path, name: str, exc: OSError) -> LmtuiError:
    """An error opening the lock file, as one line (a link planted in the run folder named as such)."""
    if exc.errno in (errno.ELOOP, getattr(errno, "EMLINK", -1)):
        link = folder if folder.is_symlink() else folder / LOCK_NAME
        return LmtuiError(f"{link} is a link; lmtui locks and writes no run through a link (remove the link)")
    return LmtuiError(f"cannot lock run {name!r} in {folder}: {exc.strerror or exc}")


def acquire(folder: Path, name: str | None = None) -> RunLock:
    """Lock run folder ``folder`` for this process, or raise RunBusy naming the holder's pid."""
    folder = Path(folder)
    name = name or folder.name
    path = folder / LOCK_NAME
    try:
        if fcntl is None and msvcrt is None:
            if is_locked(folder):
                raise RunBusy(name, holder(folder))
            fd = open_lock_file(folder, create=True)
            try:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            finally:
                os.close(fd)
            return RunLock(folder, None)
        fd = open_lock_file(folder, create=True)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "the lock is not a regular file", str(path))
            if not _lock_writer(fd):
                raise RunBusy(name, holder(folder))
            # a deleter may have removed the folder between our open and our lock: then it is not the run's
            if os.fstat(fd).st_ino != os.stat(path, follow_symlinks=False).st_ino:
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
        raise _refused(folder, name, exc) from None


def is_locked(folder: Path) -> bool:
    """Is a live process holding this run's lock (this one included)? Asks without taking the lock where
    the platform can (Linux): a status read never makes a writer fail."""
    if fcntl is None and msvcrt is None:
        pid = holder(folder)
        return pid is not None and pid_alive(pid)
    try:
        fd = open_lock_file(folder, write=fcntl is None)  # msvcrt locks need a writable descriptor
    except OSError:
        return False  # no lock file: nobody ever locked it (or a link, or unreadable: nobody can write)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False  # no lmtui process locks anything but a regular file
        if _OFD:
            held = _ofd(fd, fcntl.F_OFD_GETLK)
            if held is not None:
                return held != fcntl.F_UNLCK
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
