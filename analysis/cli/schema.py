"""``partnersim schema``: print the JSON Schema of scenario files."""

from __future__ import annotations

import argparse

from analysis import jobs
from analysis.cli.options import Subparsers


def add_parser(sub: Subparsers) -> None:
    """Add the command's parser to ``sub``."""
    s = sub.add_parser(
        "schema",
        help="print the JSON Schema of scenario files",
        description="Print a JSON Schema so editors can autocomplete scenario files.",
    )
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the JSON Schema."""
    return jobs.files.print_schema()
