"""``partnersim theory``: print the causal web of a theory file."""

from __future__ import annotations

import argparse

from analysis import jobs
from analysis.cli.options import Subparsers


def add_parser(sub: Subparsers) -> None:
    """Add the command's parser to ``sub``."""
    p = sub.add_parser(
        "theory",
        help="print the causal web of a theory file",
        description="Print the theory's domains, edges (weights, lags, sources) and types.",
    )
    p.add_argument("file", nargs="?", default=None, help="theory file (default: scenarios/theory/irt.toml)")
    p.add_argument("--params", action="store_true", help="also list every parameter with its range and source")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the causal web."""
    return jobs.theory.print_theory(args.file, params=args.params)
