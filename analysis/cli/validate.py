"""``partnersim validate``: check scenario or theory files without running."""

from __future__ import annotations

import argparse

from analysis import jobs
from analysis.cli.options import Subparsers


def add_parser(sub: Subparsers) -> None:
    """Add the command's parser to ``sub``."""
    p = sub.add_parser(
        "validate",
        help="check scenario or theory files without running",
        description="Validate scenario files (and the theory they use), or theory files.",
    )
    p.add_argument("files", nargs="+", help="scenario or theory files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate each file; report all problems, exit 2 if any."""
    return jobs.files.validate_files(args.files)
