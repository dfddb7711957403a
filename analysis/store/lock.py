"""One writer per experiment folder: an exclusive lock on ``<folder>/.lock``.

The lock is an advisory ``flock`` held for as long as a command writes the folder; the
operating system releases it when the process ends, however it ends (``kill -9`` included),
so a stale lock never blocks a resume. The file itself stays, and says who holds the lock
(process, host, start time, command) for the error the second writer gets.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from analysis.errors import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, one writer is the user's care
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".lock"


class FolderLock:
    """An exclusive lock on an experiment folder, taken by :meth:`acquire` and given back by :meth:`release`."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self._fh: IO[str] | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fh is not None

    def acquire(self, command: Sequence[str] | None = None) -> None:
        """Take the lock, or raise :class:`StoreError` naming the process that holds it."""
        if self._fh is not None:
            return
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held open as long as the lock
        if fcntl is not None:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                who = fh.read().strip() or "another process"
                fh.close()
                raise StoreError(
                    f"{self.path.parent} is being written by {who}; two commands cannot write one experiment "
                    "folder at once: wait for it to finish (or stop it), then rerun with --resume"
                ) from None
        fh.seek(0)
        fh.truncate()
        started = dt.datetime.now().isoformat(timespec="seconds")
        text = " ".join(command) if command else "partnersim"
        fh.write(f"process {os.getpid()} on {socket.gethostname()} since {started} ({text})\n")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        """Give the lock back (idempotent)."""
        fh, self._fh = self._fh, None
        if fh is None:
            return
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def writer_of(folder: str | Path) -> str | None:
    """Who is writing ``folder`` right now (from its lock file), or None if nobody is."""
    path = Path(folder) / LOCK_NAME
    if fcntl is None or not path.is_file():
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return fh.read().strip() or "another process"
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    except OSError:
        return None
    return None
