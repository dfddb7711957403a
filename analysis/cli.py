"""The ``partnersim`` command.

Every command prints a one-paragraph error and exits with code 2 on bad input (a
:class:`sim.ConfigError`), with no traceback. Heavy imports (pandas, plotting, Dask) stay
inside the commands that need them, so ``--help`` and validation stay fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sim.errors import ConfigError

EXIT_USER_ERROR = 2
HORIZONS = (12, 36, 120)


class UserError(Exception):
    """A mistake in how the command was called (missing folder, bad option value…)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``partnersim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        return int(args.func(args) or 0)
    except (ConfigError, UserError) as exc:
        print(f"partnersim: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("partnersim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="partnersim",
        description="Agent-based model of English NHS providers forming partnerships.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for register in COMMANDS:
        register(sub)
    return parser


# -- run -------------------------------------------------------------------------
def _register_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run one scenario and print outcome bands",
                       description="Run one replicate of a scenario and print a summary table of the "
                                   "outcome bands at 12, 36 and 120 months.")
    p.add_argument("scenario", help="scenario file (e.g. scenarios/baseline.toml)")
    p.add_argument("--seed", type=int, default=None, help="seed (default: the scenario's)")
    p.add_argument("--horizon", type=int, default=None, help="months to run (default: the scenario's)")
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    """Run one replicate and print the outcome bands."""
    from analysis.scenario import load_scenario
    from sim import run

    scen = load_scenario(args.scenario)
    seed = scen.seed if args.seed is None else args.seed
    horizon = scen.spec.horizon if args.horizon is None else args.horizon
    if horizon < 1:
        raise UserError(f"--horizon must be at least 1 (got {horizon})")
    result = run(scen.spec, seed, horizon)
    print(f"{scen.name}: {scen.description}")
    print(f"one replicate, seed {seed}, {len(result.series) - 1} months from {result.series['date'].iloc[0]}\n")
    print(format_bands(result.series, [h for h in (0, *HORIZONS) if h <= horizon]))
    log = result.partnerships
    if len(log):
        print(f"\npartnerships formed: {len(log)}; dissolved: {int(log['dissolved'].sum())}; "
              f"by type: " + ", ".join(f"{k} {v}" for k, v in log["type"].value_counts().items()))
    return 0


BAND_ROWS = (
    ("share_good_or_outstanding", "rated good or outstanding", "{:.0%}"),
    ("share_in_deficit", "in deficit", "{:.0%}"),
    ("share_special_measures", "in special measures", "{:.0%}"),
    ("mean_surplus_pct", "mean surplus, % of turnover", "{:+.2f}"),
    ("mean_quality", "quality (index 0-1)", "{:.3f}"),
    ("mean_efficiency", "efficiency (index 0-1)", "{:.3f}"),
    ("mean_access", "access (index 0-1)", "{:.3f}"),
    ("partnerships_active", "active partnerships", "{:.0f}"),
)


def format_bands(series, horizons: Sequence[int]) -> str:  # type: ignore[no-untyped-def]
    """A text table of the outcome bands at the given months."""
    head = f"{'outcome':<30}" + "".join(f"{'month ' + str(h):>12}" for h in horizons)
    lines = [head, "-" * len(head)]
    for metric, label, fmt in BAND_ROWS:
        if metric in series:
            lines.append(f"{label:<30}" + "".join(f"{fmt.format(series[metric].iloc[h]):>12}" for h in horizons))
    return "\n".join(lines)


# -- theory ----------------------------------------------------------------------
def _register_theory(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("theory", help="print the causal web of a theory file",
                       description="Print the theory's domains, edges (weights, lags, sources) and types.")
    p.add_argument("file", nargs="?", default=None, help="theory file (default: scenarios/theory/irt.toml)")
    p.add_argument("--params", action="store_true", help="also list every parameter with its range and source")
    p.set_defaults(func=cmd_theory)


def cmd_theory(args: argparse.Namespace) -> int:
    """Print the causal web."""
    from sim.theory import load_theory

    th = load_theory(args.file)
    print(f"{th.meta.get('name', '')}: {th.meta.get('description', '')}\n")
    print("Partnering acts on structural domains (per type, typology.toml):")
    for t in th.types:
        eff = ", ".join(f"{d} {th.v(f'type.{t.name}.effect.{d}'):.2f}" for d in t.effect_domains)
        print(f"  {t.name:<22} integration {th.v(f'type.{t.name}.integration'):.2f}  "
              f"change {th.v(f'type.{t.name}.org_change'):.2f}  -> {eff}")
    for tier in ("structural", "relational", "outcome"):
        names = [d.name for d in th.domains if d.tier == tier]
        print(f"\n{tier} domains: {', '.join(names)}")
    print(f"\n{'edge':<34}{'weight':>8}{'range':>14}{'lag (mo)':>10}  source")
    for e in th.edges:
        w = th.params[f"edge.{e.name}.weight"]
        lag = th.v(f"edge.{e.name}.lag")
        mark = " [direct]" if e.direct else ""
        print(f"{e.source + ' -> ' + e.target:<34}{th.v(f'edge.{e.name}.weight'):>8.2f}"
              f"{f'[{w.low:.2f}, {w.high:.2f}]':>14}{lag:>10.0f}  {w.source}{mark}")
    if args.params:
        print(f"\n{'parameter':<48}{'value':>9}{'low':>9}{'high':>9}  source")
        for p in th.params.values():
            print(f"{p.name:<48}{th.v(p.name):>9.4g}{p.low:>9.4g}{p.high:>9.4g}  {p.source}")
    print(f"\n{len(th.params)} parameters, {len(th.uncertain_params())} uncertain (swept by sensitivity analysis)")
    return 0


# -- validate / schema -------------------------------------------------------------
def _register_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check scenario or theory files without running",
                       description="Validate scenario files (and the theory they use), or theory files.")
    p.add_argument("files", nargs="+", help="scenario or theory files")
    p.set_defaults(func=cmd_validate)
    s = sub.add_parser("schema", help="print the JSON Schema of scenario files",
                       description="Print a JSON Schema so editors can autocomplete scenario files.")
    s.set_defaults(func=cmd_schema)


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate each file; report all problems, exit 2 if any."""
    from analysis.scenario import load_scenario
    from sim.theory import load_theory
    from sim.toml_io import read_toml

    failures = 0
    for f in args.files:
        try:
            raw, _ = read_toml(f)
            if "domains" in raw or "edges" in raw:
                th = load_theory(f)
                print(f"ok  {f}: theory with {len(th.domains)} domains, {len(th.edges)} edges, "
                      f"{len(th.types)} types")
            elif "types" in raw:
                raise ConfigError("this is a typology file; validate the theory file that names it",
                                  file=f, key="types")
            else:
                s = load_scenario(f)
                print(f"ok  {f}: scenario '{s.name}'")
        except ConfigError as exc:
            failures += 1
            print(f"bad {exc}", file=sys.stderr)
    if failures:
        print(f"{failures} of {len(args.files)} file(s) failed validation", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema."""
    from analysis.scenario import dumps_schema

    print(dumps_schema())
    return 0


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _register_run, _register_theory, _register_validate,
]


def existing_dir(path: str) -> Path:
    """argparse type: an existing folder."""
    p = Path(path)
    if not p.is_dir():
        raise UserError(f"no such folder: {path}")
    return p


if __name__ == "__main__":
    raise SystemExit(main())
