"""``partnersim validate`` and ``partnersim schema``: check scenario and theory files; the JSON Schema."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from analysis.errors import EXIT_USER_ERROR
from analysis.scenario import dumps_schema, load_scenario
from sim.errors import ConfigError
from sim.theory import load_theory
from sim.toml_io import read_toml


def validate_files(files: Sequence[str]) -> int:
    """Validate each scenario or theory file; print every problem; return 2 if any file is bad."""
    failures = 0
    for f in files:
        try:
            raw, _ = read_toml(f)
            if "domains" in raw or "edges" in raw:
                th = load_theory(f)
                print(f"ok  {f}: theory with {len(th.domains)} domains, {len(th.edges)} edges, {len(th.types)} types")
            elif "types" in raw:
                raise ConfigError(
                    "this is a typology file; validate the theory file that names it", file=f, key="types"
                )
            else:
                s = load_scenario(f)
                print(f"ok  {f}: scenario '{s.name}'")
        except ConfigError as exc:
            failures += 1
            print(f"bad {exc}", file=sys.stderr)
    if failures:
        print(f"{failures} of {len(files)} file(s) failed validation", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0


def print_schema() -> int:
    """Print the JSON Schema of scenario files; return 0."""
    print(dumps_schema())
    return 0
