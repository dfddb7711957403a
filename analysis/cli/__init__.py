"""The ``partnersim`` command: one module per command, each only parsing its options and calling one job.

Every module has ``add_parser(sub)`` (its options) and ``run(args)`` (the call of a function
of :mod:`analysis.jobs` with those options). :func:`main` is the one place that turns errors
into messages: every command prints a one-paragraph error and exits with code 2, with no
traceback, on bad input (a :class:`sim.ConfigError` or an :class:`analysis.errors.UserError`)
and on errors of the environment or of unreadable inputs (permissions, a full disk, a
read-only folder, a binary file where a table is expected: see :func:`analysis.errors.explain`).
SIGTERM stops a command as Ctrl-C does (finished batches stay stored, ``--resume`` continues),
and store warnings (runs or parts missing) print as ``partnersim: warning: …``.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from types import FrameType

from analysis.cli import (
    calibrate,
    cmoc,
    compare,
    dashboard,
    discover,
    panel,
    pathways,
    report,
    run,
    schema,
    sensitivity,
    sweep,
    theory,
    validate,
    validate_theory,
)
from analysis.errors import (
    EXIT_TERMINATED,
    EXIT_USER_ERROR,
    USER_ERRORS,
    ResumableError,
    StoreWarning,
    Terminated,
    explain,
)

COMMANDS = (
    run,
    compare,
    sweep,
    theory,
    validate,
    schema,
    sensitivity,
    discover,
    dashboard,
    report,
    pathways,
    cmoc,
    validate_theory,
    calibrate,
    panel,
)
"""The commands, in the order ``partnersim --help`` lists them."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``partnersim`` console script."""
    _skip_the_final_collection()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USER_ERROR
    with _sigterm_interrupts(), _warnings_as_messages():
        try:
            return int(args.func(args) or 0)
        except USER_ERRORS as exc:
            return _error(str(exc))
        except ResumableError as exc:
            print(f"partnersim: {exc}", file=sys.stderr)
            return 1
        except Terminated:
            print("partnersim: terminated", file=sys.stderr)
            return EXIT_TERMINATED
        except KeyboardInterrupt:
            print("partnersim: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # output piped into `head` and the like
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        except Exception as exc:  # the environment's errors and unreadable inputs; bugs keep their traceback
            text = explain(exc)
            if text is None:
                raise
            return _error(text)


def _skip_the_final_collection() -> None:
    """At exit, leave the process's objects to the OS instead of the interpreter's last garbage collection.

    Python ends by collecting every object left in a reference cycle, one by one: with pandas and
    the compiled engine loaded that took 0.2-0.4 s of CPU after the command had finished. Freezing
    the collector (:func:`gc.freeze`) at exit skips that pass; the exit handlers still run and the
    output is still flushed. Registered once per process, however often ``main`` is called.
    """
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


def _error(text: str) -> int:
    print(f"partnersim: error: {text}", file=sys.stderr)
    return EXIT_USER_ERROR


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """While a command runs, SIGTERM raises :class:`Terminated` (cleaned up like Ctrl-C)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _warnings_as_messages() -> Iterator[None]:
    """Store warnings print as one line, ``partnersim: warning: …``; others as Python prints them."""
    with warnings.catch_warnings():
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
            if issubclass(category, StoreWarning):
                print(f"partnersim: warning: {message}", file=sys.stderr)
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        warnings.simplefilter("always", StoreWarning)
        yield


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="partnersim",
        description="Agent-based model of English NHS providers forming partnerships.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser
