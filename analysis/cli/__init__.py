"""The ``partnersim`` command: one module per command, each only parsing its options and calling one job.

Every module has ``add_parser(sub)`` (its options) and ``run(args)`` (the call of a function
of :mod:`analysis.jobs` with those options). Every command prints a one-paragraph error and
exits with code 2 on bad input (a :class:`sim.ConfigError` or an
:class:`analysis.errors.UserError`), with no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from analysis.cli import (
    calibrate,
    cmoc,
    compare,
    dashboard,
    discover,
    pathways,
    report,
    run,
    schema,
    sensitivity,
    theory,
    validate,
    validate_theory,
)
from analysis.errors import EXIT_USER_ERROR, USER_ERRORS

COMMANDS = (
    run,
    compare,
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
)
"""The commands, in the order ``partnersim --help`` lists them."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``partnersim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as exc:
        print(f"partnersim: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("partnersim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


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
