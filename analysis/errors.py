"""User-facing errors: mistakes the user can fix, reported in one paragraph with no traceback.

The lowest layer of ``analysis/``: any module may raise :class:`UserError` (a missing folder,
an option value out of range, an experiment folder that cannot be resumed), and the CLI
prints it and exits with :data:`EXIT_USER_ERROR`, as it does for :class:`sim.ConfigError`
(a bad scenario or theory file, which names the file, key, value and valid choices).
"""

from __future__ import annotations

import errno
import json

from sim.errors import ConfigError

EXIT_USER_ERROR = 2
"""Exit code of a command called wrongly (bad input), as argparse uses for bad options."""


class UserError(Exception):
    """A mistake in how a command or function was called (missing folder, bad option value…)."""


class StoreError(UserError):
    """A problem with an experiment folder the user can fix (exists already, settings differ…)."""


class ResumableError(RuntimeError):
    """Work stopped for a reason outside the user's input (a worker died, the cluster emptied).

    What finished is stored and ``--resume`` continues. The CLI prints it without a traceback and
    exits with code 1.
    """


USER_ERRORS: tuple[type[Exception], ...] = (ConfigError, UserError)
"""Every error that is the user's to fix: printed without a traceback."""


class StoreWarning(UserWarning):
    """An experiment folder that can be read but is not whole (runs or parts missing, a manifest that disagrees)."""


class Terminated(KeyboardInterrupt):
    """The process was asked to stop (SIGTERM): cleaned up like Ctrl-C, so the experiment can be resumed."""


EXIT_TERMINATED = 128 + 15
"""Exit code after SIGTERM, as a shell reports a process the signal ended."""

_OS_HINTS: dict[int, str] = {
    errno.EACCES: "check the permissions of the file or folder, or choose another place (--out / -o)",
    errno.EPERM: "check the permissions of the file or folder, or choose another place (--out / -o)",
    errno.ENOSPC: "the disk is full: free some space or choose a folder on another disk (--out); the batches "
    "already stored are kept, so rerun the same command with --resume",
    errno.EDQUOT: "the disk quota is used up: free some space or choose another folder (--out); the batches "
    "already stored are kept, so rerun the same command with --resume",
    errno.EROFS: "the file system is read-only: choose a writable folder (--out / -o)",
    errno.ENOENT: "check the path (a folder on the way may be missing)",
    errno.EISDIR: "a folder was given where a file is needed",
    errno.ENOTDIR: "a file was given where a folder is needed (or a part of the path is a file)",
    errno.EMFILE: "too many files are open: raise the limit (ulimit -n) or use fewer --workers",
    errno.ENAMETOOLONG: "the path is too long: choose a shorter one",
}


def explain(exc: BaseException) -> str | None:
    """A one-paragraph message, with a hint, for an error of the environment or of an unreadable input.

    Operating-system errors (permissions, a full disk, a read-only file system, a folder where a
    file is needed…), text that is not UTF-8, and tables or JSON that cannot be parsed are the
    user's to fix; anything else is a bug (None: the caller lets it show its traceback).
    """
    if isinstance(exc, OSError):
        what = exc.strerror or str(exc) or type(exc).__name__
        where = f" ({exc.filename})" if exc.filename else ""
        if getattr(exc, "filename2", None):
            where = f" ({exc.filename} -> {exc.filename2})"
        hint = _OS_HINTS.get(exc.errno or 0, "")
        return f"{what}{where}" + (f"; {hint}." if hint else ".")
    if isinstance(exc, UnicodeDecodeError):
        return (
            f"an input file is not UTF-8 text ({exc.reason} at byte {exc.start}); check that the right file was "
            "given, and save text files as UTF-8."
        )
    if isinstance(exc, json.JSONDecodeError):
        return f"an input file is not valid JSON ({exc.msg}, line {exc.lineno}); the file may be damaged."
    module = type(exc).__module__.split(".")[0]
    if module == "pyarrow" and isinstance(exc, ValueError | OSError | TypeError):
        return f"a table could not be read as Parquet ({str(exc).strip().splitlines()[0]}); the file may be damaged."
    if module == "pandas" and type(exc).__name__ in ("ParserError", "EmptyDataError"):
        return f"a table could not be read as CSV ({str(exc).strip().splitlines()[0]})."
    return None
