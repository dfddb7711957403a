#!/usr/bin/env python3
"""The bad-input table: every class of bad input, across every command; writes ``docs/bad_inputs.md``.

Each case prepares its files in a sandbox, runs one ``partnersim`` command and judges what happened:

* ``error`` cases must exit with code 2 and a one-paragraph message (no traceback) that contains
  the expected words (the file, key, value, bound or hint that makes the error clear);
* ``ok`` cases must do the right thing (exit 0, or the stated code), pass their check (the
  manifest is intact, the experiment was extended consistently…) and say so.

Usage::

    python scripts/bad_inputs.py                      # run every case, write docs/bad_inputs.md
    python scripts/bad_inputs.py --only report-        # the cases whose id starts with report-
    python scripts/bad_inputs.py --json FILE           # also save the outcomes as JSON
    python scripts/bad_inputs.py --python-path OLD --json before.json --no-doc   # judge another source tree
    python scripts/bad_inputs.py --before before.json  # add a "before" column from such a run

Cases run as subprocesses of the real command (``python -m analysis.cli``), each with a time limit
(60 s) and a memory limit (3 GB); cases that need an unprivileged user, a read-only or a full file
system use ``setpriv`` / ``unshare`` where the machine allows it, and are skipped (saying why)
where it does not. ``tests/test_bad_inputs.py`` runs the same cases in-process.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "scenarios" / "theory"
POPULATION = ROOT / "scenarios" / "population" / "england.toml"
TIME_LIMIT = 60.0
MEMORY_LIMIT = 3 * 1024**3

Setup = Callable[["Sandbox", Path], dict[str, str]]
Check = Callable[["Sandbox", Path], str | None]


# -- the sandbox -------------------------------------------------------------------------------
@dataclass
class Sandbox:
    """Files every case may use: small scenarios, copies of the theory, one small experiment."""

    root: Path
    repo: Path = ROOT

    @property
    def small(self) -> Path:
        """A baseline scenario: 20 providers, 12 months, 2 replicates."""
        return self.root / "scen" / "small.toml"

    @property
    def policy(self) -> Path:
        """Voluntary partnering, same size."""
        return self.root / "scen" / "policy.toml"

    @property
    def exp(self) -> Path:
        """An experiment (compare small vs policy, 2 replicates) with its tables and report."""
        return self.root / "exp"

    def placeholders(self) -> dict[str, str]:
        """What ``{name}`` in a case's command line stands for."""
        return {"small": str(self.small), "policy": str(self.policy), "exp": str(self.exp), "root": str(self.repo)}


def small_scenario(path: Path, name: str, *, horizon: int = 12, n: int = 20, extra: str = "") -> Path:
    """A copy of ``scenarios/<name>.toml`` with a short horizon and a small population."""
    text = (ROOT / "scenarios" / f"{name}.toml").read_text()
    text = text.replace("horizon = 120", f"horizon = {horizon}").replace("replications = 20", "replications = 2")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + f"\n[population]\nn_providers = {n}\n" + extra)
    return path


def build_sandbox(root: Path, run: Callable[[list[str], Path], tuple[int, str, str]], repo: Path = ROOT) -> Sandbox:
    """Create the sandbox's files and its experiment (with ``run``, the same runner as the cases)."""
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    sb = Sandbox(root, repo)
    small_scenario(sb.small, "baseline")
    small_scenario(sb.policy, "voluntary_partnering")
    code, out, err = run(
        [
            "compare",
            str(sb.small),
            str(sb.policy),
            "--reps",
            "2",
            "--workers",
            "1",
            "--horizons",
            "6,12",
            "--out",
            str(sb.exp),
            "--no-figures",
            "--no-progress",
        ],
        root,
    )
    if code != 0:
        raise RuntimeError(f"could not build the sandbox experiment:\n{out}\n{err}")
    return sb


# -- editing copies of files --------------------------------------------------------------------
def set_key(text: str, header: str, key: str, value: str) -> str:
    """Replace the line ``key = …`` of the table ``[header]`` (or the n-th ``[[edges]]``, header ``edges#n``)."""
    lines = text.splitlines()
    if header.startswith("edges#"):
        target = int(header.split("#")[1])
        heads = [i for i, ln in enumerate(lines) if ln.strip() == "[[edges]]"]
        start = heads[target]
    else:
        start = next(i for i, ln in enumerate(lines) if ln.strip() == f"[{header}]")
    for i in range(start + 1, len(lines)):
        if lines[i].startswith("["):
            break
        if re.match(rf"{re.escape(key)}\s*=", lines[i]):
            lines[i] = f"{key} = {value}"
            return "\n".join(lines) + "\n"
    raise KeyError(f"{key} not found under [{header}]")


def theory_copy(
    folder: Path, *, irt: Callable[[str], str] | None = None, typology: Callable[[str], str] | None = None
) -> Path:
    """Copies of irt.toml and typology.toml in ``folder``, one of them edited; the theory's path."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, edit in (("irt.toml", irt), ("typology.toml", typology)):
        text = (THEORY / name).read_text()
        (folder / name).write_text(edit(text) if edit else text)
    return folder / "irt.toml"


def scenario_using(
    folder: Path, *, theory: Path | None = None, population: Path | None = None, extra: str = "", name: str = "baseline"
) -> Path:
    """A small scenario in ``folder`` that uses the given theory and population files."""
    head = ""
    if theory is not None:
        head += f'theory = "{theory}"\n'
    path = folder / "scenario.toml"
    small_scenario(path, name)
    text = head + path.read_text()
    if population is not None:
        text = text.replace("[population]\n", f'[population]\nfile = "{population}"\n')
    path.write_text(text + extra)
    return path


def population_copy(folder: Path, edit: Callable[[str], str]) -> Path:
    """An edited copy of the England population file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "population.toml"
    path.write_text(edit(POPULATION.read_text()))
    return path


def copy_experiment(sb: Sandbox, folder: Path) -> Path:
    """A copy of the sandbox experiment (cases that damage one work on their own copy)."""
    out = folder / "exp"
    shutil.copytree(sb.exp, out)
    return out


# -- the cases ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One bad input: a command line (``{placeholders}``), its files, and what must happen."""

    id: str
    group: str
    argv: tuple[str, ...]
    says: tuple[str, ...] = ()
    setup: Setup | None = None
    code: int = 2
    check: Check | None = None
    needs: str = ""  # "", "unprivileged", "readonly-fs", "small-disk"
    note: str = ""
    slow: bool = False  # renders a report (seconds): the test suite runs it with -m slow only

    @property
    def kind(self) -> str:
        """``error`` (must be refused clearly) or ``ok`` (must do the right thing)."""
        return "error" if self.code == 2 else "ok"


CASES: list[Case] = []


def case(id: str, group: str, argv: str | Sequence[str], *says: str, **kw: object) -> None:
    """Declare a case; ``argv`` is split on spaces when given as one string."""
    args = tuple(argv.split()) if isinstance(argv, str) else tuple(argv)
    CASES.append(Case(id, group, args, tuple(says), **kw))  # type: ignore[arg-type]


def theory_case(
    id: str,
    what: str,
    *says: str,
    irt: Callable[[str], str] | None = None,
    typology: Callable[[str], str] | None = None,
    command: str = "validate",
) -> None:
    """A broken theory, checked by ``command`` (validate, theory, run or sensitivity on a scenario using it)."""

    def setup(sb: Sandbox, d: Path) -> dict[str, str]:
        th = theory_copy(d / "theory", irt=irt, typology=typology)
        return {"theory": str(th), "scenario": str(scenario_using(d, theory=th))}

    argv = {
        "validate": "validate {theory}",
        "theory": "theory {theory}",
        "run": "run {scenario} --reps 2 --workers 1 --no-figures --out {dir}/out",
        "sensitivity": "sensitivity {scenario} --method morris -N 2 --dry-run",
        "validate-theory": "validate-theory --theory {theory} --reps 1 --workers 1 --out {dir}/out",
        "calibrate": "calibrate --theory {theory} --budget 2 --workers 1 --out {dir}/cal.toml",
    }[command]
    case(id, "theory and typology files", argv, *says, setup=setup, note=what)


Q = "domains.quality"
theory_case(
    "theory-nan-default",
    "a rate of nan",
    "domains.quality.rate.default",
    "finite",
    irt=lambda t: set_key(t, Q, "rate", '{default = nan, low = 0.08, high = 0.30, source = "x"}'),
    command="run",
)
theory_case(
    "theory-inf-range",
    "a range of -inf … inf",
    "low",
    "finite",
    irt=lambda t: set_key(t, "mechanisms", "trust_build", '{default = 0.04, low = -inf, high = inf, source = "x"}'),
    command="sensitivity",
)
theory_case(
    "theory-rate-above-1",
    "a relaxation rate of 2.5",
    "domains.quality.rate",
    "2.5",
    "[0, 1]",
    irt=lambda t: set_key(t, Q, "rate", '{default = 2.5, low = 2.0, high = 3.0, source = "x"}'),
    command="run",
)
theory_case(
    "theory-lag-huge",
    "a lag of 10^12 months",
    "edges[0].lag",
    "1200",
    irt=lambda t: set_key(t, "edges#0", "lag", '{default = 1e12, low = 3, high = 1e12, source = "x"}'),
)
theory_case(
    "theory-lag-negative",
    "a negative lag",
    "edges[1].lag.low",
    "-1",
    irt=lambda t: set_key(t, "edges#1", "lag", '{default = 6, low = -1, high = 24, source = "x"}'),
    command="theory",
)
theory_case(
    "theory-weight-5",
    "an edge weight of 5",
    "edges[0].weight",
    "[-1, 1]",
    irt=lambda t: set_key(t, "edges#0", "weight", '{default = 5, low = 0.1, high = 6, source = "x"}'),
)
theory_case(
    "theory-init-mean-above-1",
    "a starting level of 1.2",
    "init_mean",
    "1.2",
    irt=lambda t: set_key(t, Q, "init_mean", '{default = 1.2, low = 1.1, high = 1.3, source = "x"}'),
    command="run",
)
theory_case(
    "theory-noise-negative",
    "a negative noise",
    "noise",
    "-0.1",
    irt=lambda t: set_key(t, Q, "noise", '{value = -0.1, source = "x"}'),
)
theory_case(
    "theory-realisation-infeasible",
    "a Beta draw that cannot exist",
    "realisation_sd",
    "Beta",
    irt=lambda t: set_key(t, "partnering", "realisation_sd", '{default = 0.45, low = 0.4, high = 0.49, source = "x"}'),
)
theory_case(
    "theory-months-not-whole",
    "special-measures months of 2.5",
    "sm_exit_months",
    "whole",
    irt=lambda t: set_key(t, "regulation", "sm_exit_months", '{default = 6, low = 2.5, high = 12, source = "x"}'),
)
theory_case(
    "theory-hazard-above-1",
    "a monthly probability of 1.5",
    "base_hazard",
    "probability",
    irt=lambda t: set_key(t, "formation", "base_hazard", '{value = 1.5, source = "x"}'),
    command="run",
)
theory_case(
    "theory-scale-zero",
    "a scale of 0 (divides)",
    "pressure_scale",
    "above 0",
    irt=lambda t: set_key(t, "formation", "pressure_scale", '{default = 0.1, low = 0.0, high = 0.2, source = "x"}'),
)
theory_case(
    "theory-weight-1e300",
    "a weight of 1e300",
    "conflict_w_gap",
    "100",
    irt=lambda t: set_key(t, "mechanisms", "conflict_w_gap", '{value = 1e300, source = "x"}'),
)
theory_case(
    "theory-candidates-nan",
    "a count of nan",
    "out_of_ics_candidates",
    "finite",
    irt=lambda t: set_key(t, "formation", "out_of_ics_candidates", '{value = nan, source = "x"}'),
)
theory_case(
    "theory-default-outside-range",
    "a default outside [low, high]",
    "mechanisms.trust_init",
    "outside",
    irt=lambda t: set_key(t, "mechanisms", "trust_init", '{default = 0.9, low = 0.25, high = 0.55, source = "x"}'),
)
theory_case(
    "theory-low-above-high",
    "low > high",
    "mechanisms.trust_erosion",
    "greater than high",
    irt=lambda t: set_key(t, "mechanisms", "trust_erosion", '{default = 0.15, low = 0.3, high = 0.08, source = "x"}'),
)
theory_case(
    "theory-support-above-1",
    "a support share of 3",
    "regulation.support.quality",
    "[0, 1]",
    irt=lambda t: set_key(t, "regulation.support", "quality", '{value = 3, source = "x"}'),
    command="validate-theory",
)
theory_case(
    "theory-value-string",
    "a number written as text",
    "trust_build",
    "expected a number",
    irt=lambda t: set_key(t, "mechanisms", "trust_build", '{value = "0.04", source = "x"}'),
    command="calibrate",
)
theory_case(
    "typology-integration-above-1",
    "integration of 1.5",
    "types.merger.integration",
    "[0, 1]",
    typology=lambda t: set_key(
        t, "types.merger", "integration", '{default = 1.5, low = 1.0, high = 2.0, source = "x"}'
    ),
    command="run",
)
theory_case(
    "typology-months-nan",
    "approval months of nan",
    "approval_months",
    "finite",
    typology=lambda t: set_key(t, "types.merger", "approval_months", "nan"),
)
theory_case(
    "typology-months-huge",
    "transition of 10^9 months",
    "transition_months",
    "1200",
    typology=lambda t: set_key(t, "types.merger", "transition_months", "1000000000"),
    command="theory",
)
theory_case(
    "typology-effect-2",
    "an effect of 2",
    "effects",
    "[0, 1]",
    typology=lambda t: set_key(t, "types.merger.effects", "governance", '{value = 2.0, source = "x"}'),
)
theory_case(
    "typology-members-huge",
    "members [2, 100000]",
    "members",
    "10,000",
    typology=lambda t: set_key(t, "types.network", "members", "[2, 100000]"),
)
theory_case(
    "typology-max-per-provider-0",
    "max_per_provider 0",
    "max_per_provider",
    "(got 0)",
    typology=lambda t: set_key(t, "types.network", "max_per_provider", "0"),
)
theory_case(
    "typology-unknown-field",
    "a misspelt field",
    "exclusiv",
    "did you mean",
    typology=lambda t: set_key(t, "types.network", "exclusive", "false\nexclusiv = true"),
    command="run",
)


def _typology_missing(sb: Sandbox, d: Path) -> dict[str, str]:
    th = theory_copy(d / "theory")
    (d / "theory" / "typology.toml").unlink()
    return {"theory": str(th), "scenario": str(scenario_using(d, theory=th))}


def _typology_folder(sb: Sandbox, d: Path) -> dict[str, str]:
    th = theory_copy(d / "theory")
    (d / "theory" / "typology.toml").unlink()
    (d / "theory" / "typology.toml").mkdir()
    return {"theory": str(th)}


def _bom(path: Path) -> None:
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())


def _theory_bom(sb: Sandbox, d: Path) -> dict[str, str]:
    th = theory_copy(d / "theory")
    _bom(th)
    return {"theory": str(th)}


def _theory_latin1(sb: Sandbox, d: Path) -> dict[str, str]:
    th = theory_copy(d / "theory")
    th.write_bytes(th.read_bytes().replace(b"Greenhalgh", "Grëenhalgh".encode("latin-1")))
    return {"theory": str(th)}


def _binary(name: str) -> Setup:
    def setup(sb: Sandbox, d: Path) -> dict[str, str]:
        d.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(bytes(range(256)) * 64)
        return {"file": str(d / name)}

    return setup


case(
    "theory-typology-missing",
    "theory and typology files",
    "run {scenario} --reps 2 --workers 1 --out {dir}/o",
    "typology",
    "meta.typology",
    "does not exist",
    setup=_typology_missing,
    note="the typology file a theory names is missing (was reported as 'theory file not found')",
)
case(
    "theory-typology-missing-validate",
    "theory and typology files",
    "validate {theory}",
    "meta.typology",
    setup=_typology_missing,
)
case("theory-typology-is-folder", "theory and typology files", "theory {theory}", "folder", setup=_typology_folder)
case(
    "theory-bom",
    "unreadable inputs",
    "validate {theory}",
    "ok",
    setup=_theory_bom,
    code=0,
    note="a UTF-8 byte-order mark is accepted",
)
case("theory-latin1", "unreadable inputs", "theory {theory}", "UTF-8", setup=_theory_latin1)
case("theory-binary", "unreadable inputs", "validate {file}", "UTF-8", setup=_binary("irt.toml"))
case(
    "theory-is-folder",
    "unreadable inputs",
    "theory {dir}",
    "folder",
    setup=lambda sb, d: (d.mkdir(parents=True, exist_ok=True), {})[1],
)
case("theory-missing", "unreadable inputs", "theory {dir}/nothing.toml", "not found")


# population files
def population_case(id: str, edit: Callable[[str], str], *says: str, command: str = "run") -> None:
    """A scenario using an edited copy of the population file, checked by ``command``."""

    def setup(sb: Sandbox, d: Path) -> dict[str, str]:
        pop = population_copy(d, edit)
        return {"scenario": str(scenario_using(d, population=pop)), "population": str(pop)}

    argv = {
        "run": "run {scenario} --reps 2 --workers 1 --no-figures --out {dir}/out",
        "validate": "validate {scenario}",
        "sensitivity": "sensitivity {scenario} --method morris -N 2 --dry-run",
    }[command]
    case(id, "population files", argv, *says, setup=setup)


population_case(
    "population-ics-above-providers",
    lambda t: t.replace("n_ics = 42", "n_ics = 50000"),
    "n_ics",
    "more ICSs than providers",
)
population_case(
    "population-one-provider",
    lambda t: t.replace("n_providers = 217", "n_providers = 1"),
    "n_providers",
    command="validate",
)
population_case("population-count-negative", lambda t: t.replace("count = 80", "count = -80"), "count", "-80")
population_case(
    "population-turnover-zero",
    lambda t: t.replace("turnover_median = 500.0", "turnover_median = 0.0"),
    "turnover_median",
    "above 0",
    command="validate",
)
population_case(
    "population-turnover-nan",
    lambda t: t.replace("turnover_median = 500.0", "turnover_median = nan"),
    "turnover_median",
    "finite",
    command="sensitivity",
)
population_case(
    "population-offset-text",
    lambda t: t.replace("efficiency = -0.03, quality = -0.02}", 'efficiency = "low", quality = -0.02}', 1),
    "offsets.efficiency",
    "expected a number",
)
population_case("population-offset-5", lambda t: t.replace("access = -0.04", "access = 5"), "offsets.access", "[-1, 1]")
population_case(
    "population-sigma-inf",
    lambda t: t.replace("ics_size_sigma = 0.35", "ics_size_sigma = inf"),
    "ics_size_sigma",
    "finite",
    command="validate",
)
population_case("population-no-kinds", lambda t: t[: t.index("[kinds.acute]")] + "[kinds]\n", "kinds")


# scenario files
def scenario_case(
    id: str, extra: str, *says: str, replace: tuple[str, str] | None = None, command: str = "validate"
) -> None:
    """A small scenario with ``extra`` text appended (and ``replace`` applied), checked by ``command``."""

    def setup(sb: Sandbox, d: Path) -> dict[str, str]:
        path = scenario_using(d, extra=extra)
        if replace:
            path.write_text(path.read_text().replace(*replace))
        return {"scenario": str(path)}

    argv = {
        "validate": "validate {scenario}",
        "run": "run {scenario} --workers 1 --no-figures --out {dir}/out",
        "compare": "compare {small} {scenario} --workers 1 --no-figures --out {dir}/out",
    }[command]
    case(id, "scenario files", argv, *says, setup=setup)


scenario_case(
    "scenario-ics-above-providers", "n_ics = 500\n", "population.n_ics", "more ICSs than providers", command="run"
)
scenario_case("scenario-one-provider", "", "population.n_providers", replace=("n_providers = 20", "n_providers = 1"))
scenario_case("scenario-horizon-zero", "", "horizon", replace=("horizon = 12", "horizon = 0"), command="run")
scenario_case(
    "scenario-horizon-huge", "", "horizon", "1200", replace=("horizon = 12", "horizon = 1000000000"), command="run"
)
scenario_case("scenario-replications-zero", "", "replications", replace=("replications = 2", "replications = 0"))
scenario_case(
    "scenario-lever-nan",
    "\n[levers.voluntary]\nenabled = true\nhazard_scale = nan\n",
    "levers.voluntary.hazard_scale",
    command="compare",
)
scenario_case("scenario-lever-inf", "\n[levers.support_fund]\nshare = inf\n", "levers.support_fund.share")
scenario_case(
    "scenario-override-nan",
    '\n[uncertainties.effect_overrides]\n"mechanism.trust_build" = nan\n',
    "mechanism.trust_build",
    command="run",
)
scenario_case(
    "scenario-override-outside",
    '\n[uncertainties.effect_overrides]\n"mechanism.trust_build" = 0.9\n',
    "mechanism.trust_build",
    "declared range",
)
scenario_case("scenario-unknown-key", "", "horizn", "did you mean", replace=("horizon = 12", "horizn = 12"))
scenario_case(
    "scenario-seed-negative", "", "seed", replace=("replications = 2", "replications = 2\nseed = -5"), command="run"
)
scenario_case(
    "scenario-theory-missing",
    "",
    "theory",
    "not found",
    replace=("replications = 2", 'replications = 2\ntheory = "nowhere/irt.toml"'),
)


def _scenario_bom(sb: Sandbox, d: Path) -> dict[str, str]:
    path = scenario_using(d)
    _bom(path)
    return {"scenario": str(path)}


def _scenario_latin1(sb: Sandbox, d: Path) -> dict[str, str]:
    path = scenario_using(d)
    path.write_bytes(path.read_bytes().replace(b'description = "', 'description = "é'.encode("latin-1"), 1))
    return {"scenario": str(path)}


case(
    "scenario-bom",
    "unreadable inputs",
    "validate {scenario}",
    "ok",
    setup=_scenario_bom,
    code=0,
    note="a UTF-8 byte-order mark is accepted",
)
case(
    "scenario-bom-run",
    "unreadable inputs",
    "run {scenario} --workers 1 --no-figures --out {dir}/out",
    "results in",
    setup=_scenario_bom,
    code=0,
    note="a scenario saved with a BOM runs",
)
case(
    "scenario-latin1",
    "unreadable inputs",
    "run {scenario} --workers 1 --out {dir}/out",
    "UTF-8",
    setup=_scenario_latin1,
)
case("scenario-binary", "unreadable inputs", "run {file} --workers 1 --out {dir}/out", "UTF-8", setup=_binary("s.toml"))
case(
    "scenario-is-folder",
    "unreadable inputs",
    "run {dir} --workers 1 --out {dir}/out",
    "folder",
    setup=lambda sb, d: (d.mkdir(parents=True, exist_ok=True), {})[1],
)
case("scenario-missing", "unreadable inputs", "compare {small} {dir}/none.toml --out {dir}/out", "not found")

# command-line flags: the same bounds as scenario files, checked before any work
E = "--workers 1 --no-figures --out {dir}/out"
for cid, flags, says in [
    ("run-reps-1e9", "--reps 1000000000", ("--reps", "100,000")),
    ("run-reps-zero", "--reps 0", ("--reps",)),
    ("run-reps-negative", "--reps -3", ("--reps",)),
    ("run-reps-fraction", "--reps 2.5", ("whole number",)),
    ("run-horizon-1e9", "--horizon 1000000000", ("--horizon", "1200")),
    ("run-horizon-zero", "--horizon 0", ("--horizon",)),
    ("run-horizons-beyond-cap", "--horizons 5000", ("--horizons",)),
    ("run-horizons-negative", "--horizons=-1", ("--horizons",)),
    ("run-workers-zero", "--workers 0", ("--workers",)),
    ("run-workers-huge", "--workers 100000", ("--workers", "256")),
    ("run-batch-size-zero", "--batch-size 0", ("--batch-size",)),
    ("run-seed-negative", "--seed -1", ("--seed",)),
    ("run-seed-huge", "--seed 99999999999999999999999999", ("--seed",)),
]:
    case(cid, "command-line flags", f"run {{small}} {flags} --out {{dir}}/out", *says)
case("compare-reps-1e9", "command-line flags", "compare {small} {policy} --reps 1000000000 --out {dir}/out", "--reps")
case("compare-one-file", "command-line flags", "compare {small} --out {dir}/out", "at least two")
case("compare-same-name-twice", "command-line flags", "compare {small} {small} --out {dir}/out", "names must differ")
S = "sensitivity {small} --method morris -N 2 --workers 1 --out {dir}/out"
for cid, flags, says in [
    ("sensitivity-n-providers-1e8", "--n-providers 100000000", ("--n-providers", "1,000,000")),
    ("sensitivity-n-providers-zero", "--n-providers 0", ("--n-providers",)),
    ("sensitivity-n-providers-one", "--n-providers 1", ("--n-providers",)),
    ("sensitivity-at-beyond-horizon", "--at 500", ("--at", "12-month horizon")),
    ("sensitivity-at-beyond-cap", "--at 5000", ("--at", "1200")),
    ("sensitivity-at-text", "--at soon", ("--at",)),
    ("sensitivity-every-negative", "--every=-1", ("--every",)),
    ("sensitivity-n-zero", "-N 0", ("-N",)),
    ("sensitivity-n-huge", "-N 1000000000", ("-N",)),
    ("sensitivity-reps-zero", "--reps 0", ("--reps",)),
    ("sensitivity-workers-zero", "--workers 0", ("--workers",)),
    ("sensitivity-levels-one", "--levels 1", ("--levels",)),
    ("sensitivity-top-zero", "--top 0", ("--top",)),
    ("sensitivity-resamples-zero", "--resamples 0", ("--resamples",)),
    ("sensitivity-method-unknown", "--method sobolev", ("sobol",)),
]:
    case(cid, "command-line flags", f"{S} {flags}", *says)
D = "discover {policy} --baseline {small} --workers 1 --out {dir}/out"
for cid, flags, says in [
    ("discover-n-small", "-N 5", ("-N", "20")),
    ("discover-n-huge", "-N 1000000000", ("-N",)),
    ("discover-criterion-beyond-horizon", "--criterion quality@500>0", ("--criterion", "12-month horizon")),
    ("discover-criterion-garbage", "--criterion better", ("--criterion",)),
    ("discover-min-coverage-2", "--min-coverage 2", ("--min-coverage",)),
    ("discover-peel-alpha-nan", "--peel-alpha nan", ("--peel-alpha",)),
    ("discover-mass-min-inf", "--mass-min inf", ("--mass-min",)),
    ("discover-n-providers-1e8", "--n-providers 100000000", ("--n-providers",)),
    ("discover-reps-zero", "--reps 0", ("--reps",)),
    ("discover-cart-depth-zero", "--cart-depth 0", ("--cart-depth",)),
]:
    case(cid, "command-line flags", f"{D} {flags}", *says)
W = "sweep --policy {policy} --baseline {small} --reps 2 --workers 1 --out {dir}/out"
L = "--lever voluntary.hazard_scale=1,2"
for cid, flags, says in [
    ("sweep-nothing-to-sweep", "", ("'--lever'", "nothing to sweep")),
    ("sweep-lever-unknown", "--lever voluntary.hazard_scal=1,2", ("--lever voluntary.hazard_scal", "hazard_scale")),
    ("sweep-lever-beyond-bound", "--lever support_fund.share=0,2", ("--lever support_fund.share[1]", "[0, 1]")),
    ("sweep-lever-no-values", "--lever voluntary.hazard_scale", ("--lever voluntary.hazard_scale", "values")),
    ("sweep-lever-choice-unknown", "--lever failure_regime.intervention=merger,mergr", ("mergr", "merger")),
    ("sweep-design-unknown", f"{L} --design random", ("--design", "grid, lhs")),
    ("sweep-lhs-without-n", "--lever voluntary.hazard_scale=1:2 --design lhs", ("-N",)),
    ("sweep-futures-zero", f"{L} --futures 0", ("--futures",)),
    ("sweep-uncertainty-unknown", f"{L} --uncertainty workforce_shock.sise=0:0.1 --futures 3", ("sise", "size")),
    ("sweep-months-beyond-horizon", f"{L} --months 500", ("--months", "12-month horizon")),
    ("sweep-criterion-garbage", f"{L} --criterion better", ("--criterion",)),
]:
    case(cid, "command-line flags", f"{W} {flags}", *says)
PANEL = "panel {small} -o {dir}/panel.csv"
for cid, flags, says in [
    ("panel-months-garbage", "--months soon", ("--months", "all")),
    ("panel-months-beyond-horizon", "--months 0,500", ("--months", "12-month horizon")),
    ("panel-by-unknown", "--by county", ("--by", "ics, trust")),
    ("panel-horizon-zero", "--horizon 0", ("--horizon",)),
    ("panel-seed-negative", "--seed=-1", ("--seed",)),
]:
    case(cid, "command-line flags", f"{PANEL} {flags}", *says)
case("panel-output-suffix", "command-line flags", "panel {small} -o {dir}/panel.txt", "-o", ".xlsx")
C = "calibrate --workers 1 --out {dir}/cal.toml"
for cid, flags, says in [
    ("calibrate-budget-zero", "--budget 0", ("--budget",)),
    ("calibrate-budget-huge", "--budget 1000000000", ("--budget",)),
    ("calibrate-accept-quantile-zero", "--accept-quantile 0", ("--accept-quantile",)),
    ("calibrate-accept-quantile-nan", "--accept-quantile nan", ("--accept-quantile",)),
    ("calibrate-refine-reps-negative", "--refine-reps=-1", ("--refine-reps",)),
    ("calibrate-reps-zero", "--reps 0", ("--reps",)),
]:
    case(cid, "command-line flags", f"{C} {flags}", *says)
for cid, argv, says in [
    ("cmoc-alpha-zero", "cmoc {policy} --baseline {small} --alpha 0", ("--alpha",)),
    ("cmoc-alpha-above-1", "cmoc {policy} --baseline {small} --alpha 1.5", ("--alpha",)),
    ("cmoc-min-count-zero", "cmoc {policy} --baseline {small} --min-count 0", ("--min-count",)),
    (
        "cmoc-context-unknown",
        "cmoc {policy} --baseline {small} --contexts mandate,colour --out {dir}/out",
        ("--contexts", "colour"),
    ),
    ("pathways-min-share-2", "pathways {policy} --baseline {small} --min-share 2", ("--min-share",)),
    ("pathways-tolerance-nan", "pathways {policy} --baseline {small} --tolerance nan", ("--tolerance",)),
    ("pathways-horizons-negative", "pathways {policy} --baseline {small} --horizons=-5", ("--horizons",)),
    ("pathways-reps-zero", "pathways {policy} --baseline {small} --reps 0", ("--reps",)),
    ("report-month-negative", "report {exp} --month=-1 -o {dir}/r.html", ("--month",)),
    ("report-month-huge", "report {exp} --month 99999 -o {dir}/r.html", ("--month",)),
    ("report-month-not-stored", "report {exp} --month 7 -o {dir}/r.html", ("--month 7",)),
    ("validate-theory-reps-zero", "validate-theory --reps 0", ("--reps",)),
    ("validate-theory-check-unknown", "validate-theory --checks nothing --out {dir}/out", ("nothing",)),
    ("dashboard-port-huge", "dashboard --port 70000", ("--port",)),
    ("dashboard-port-negative", "dashboard --port=-1", ("--port",)),
    ("schema-extra-argument", "schema please", ("unrecognized",)),
]:
    case(cid, "command-line flags", argv, *says)


# operating-system errors: files and folders that cannot be used
def _a_file(sb: Sandbox, d: Path) -> dict[str, str]:
    d.mkdir(parents=True, exist_ok=True)
    (d / "taken").write_text("a file, not a folder\n")
    return {"file": str(d / "taken")}


def _garbage_csv(sb: Sandbox, d: Path) -> dict[str, str]:
    d.mkdir(parents=True, exist_ok=True)
    (d / "sweep.csv").write_bytes(b'"unterminated,\x00\x01\n1,2,3,4\n' * 3)
    return {"file": str(d / "sweep.csv")}


case("run-out-is-a-file", "operating-system errors", "run {small} --workers 1 --out {file}", "is a file", setup=_a_file)
case(
    "run-out-not-experiment",
    "operating-system errors",
    "run {small} --workers 1 --out {dir}",
    "not an experiment",
    setup=_a_file,
)
case(
    "cmoc-out-is-a-file",
    "operating-system errors",
    "cmoc {policy} --baseline {small} --reps 1 --workers 1 --out {file}",
    "is a file",
    setup=_a_file,
)
case(
    "pathways-out-is-a-file",
    "operating-system errors",
    "pathways {policy} --baseline {small} --reps 1 --workers 1 --out {file}",
    "is a file",
    setup=_a_file,
)
case(
    "validate-theory-out-is-a-file",
    "operating-system errors",
    "validate-theory --reps 1 --workers 1 --out {file}",
    "is a file",
    setup=_a_file,
)
case(
    "sensitivity-out-is-a-file",
    "operating-system errors",
    f"{S.replace('{dir}/out', '{file}')}",
    "is a file",
    setup=_a_file,
)
case(
    "discover-out-is-a-file",
    "operating-system errors",
    f"{D.replace('{dir}/out', '{file}')} -N 20",
    "is a file",
    setup=_a_file,
)
case(
    "calibrate-out-is-a-folder",
    "operating-system errors",
    "calibrate --workers 1 --out {dir}",
    "is a folder",
    setup=lambda sb, d: (d.mkdir(parents=True, exist_ok=True), {})[1],
)
case(
    "report-o-is-a-folder",
    "operating-system errors",
    "report {exp} -o {dir}",
    "is a folder",
    setup=lambda sb, d: (d.mkdir(parents=True, exist_ok=True), {})[1],
    check=lambda sb, d: "a hidden temporary file was left" if list(d.parent.glob(f".{d.name}*")) else None,
)
case("report-o-missing-folder", "operating-system errors", "report {exp} -o {dir}/no/such/r.html", "does not exist")
case("report-experiment-is-a-file", "operating-system errors", "report {file}", "is a file", setup=_a_file)
case("report-experiment-missing", "operating-system errors", "report {dir}/none", "no such experiment")
case(
    "sensitivity-from-binary",
    "unreadable inputs",
    "sensitivity --method pawn --from {file} --out {dir}/out",
    "Parquet",
    setup=_binary("sweep.parquet"),
)
case(
    "sensitivity-from-garbage-csv",
    "unreadable inputs",
    "sensitivity --method pawn --from {file} --out {dir}/out",
    "sweep.csv",
    setup=_garbage_csv,
)
case(
    "sensitivity-from-text-file",
    "unreadable inputs",
    "sensitivity --method pawn --from {file} --out {dir}/out",
    ".parquet or .csv",
    setup=_a_file,
)
case("sensitivity-from-missing", "unreadable inputs", "sensitivity --method pawn --from {dir}/none.csv", "not found")
case(
    "discover-from-binary",
    "unreadable inputs",
    "discover {policy} --from {file} --out {dir}/out",
    "Parquet",
    setup=_binary("sweep.parquet"),
)


def _unreadable(sb: Sandbox, d: Path) -> dict[str, str]:
    path = scenario_using(d)
    path.chmod(0o000)
    return {"scenario": str(path)}


def _unreadable_theory(sb: Sandbox, d: Path) -> dict[str, str]:
    th = theory_copy(d / "theory")
    th.chmod(0o000)
    return {"theory": str(th)}


def _unwritable(sb: Sandbox, d: Path) -> dict[str, str]:
    (d / "locked").mkdir(parents=True, exist_ok=True)
    (d / "locked").chmod(0o555)
    return {}


case(
    "scenario-unreadable",
    "operating-system errors",
    "run {scenario} --workers 1 --out {dir}/out",
    "permission",
    setup=_unreadable,
    needs="unprivileged",
)
case(
    "theory-unreadable",
    "operating-system errors",
    "validate {theory}",
    "permission",
    setup=_unreadable_theory,
    needs="unprivileged",
)
case(
    "run-out-unwritable",
    "operating-system errors",
    "run {small} --workers 1 --no-figures --out {dir}/locked/e",
    "Permission denied",
    "permissions",
    setup=_unwritable,
    needs="unprivileged",
)
case(
    "run-out-read-only-fs",
    "operating-system errors",
    "run {small} --workers 1 --no-figures --out {dir}/ro/e",
    "read-only",
    setup=lambda sb, d: ((d / "ro").mkdir(parents=True, exist_ok=True), {})[1],
    needs="readonly-fs",
)
case(
    "run-disk-full",
    "operating-system errors",
    "run {small} --reps 12 --batch-size 1 --workers 1 --no-figures --out {dir}/disk/e",
    "disk is full",
    "--resume",
    setup=lambda sb, d: ((d / "disk").mkdir(parents=True, exist_ok=True), {})[1],
    needs="small-disk",
)


# data safety: no command writes into an experiment's files; nothing is overwritten unasked
def _manifest_intact(sb: Sandbox, d: Path) -> str | None:
    try:
        data = json.loads((d / "exp" / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        return f"the manifest was damaged ({exc})"
    return None if data.get("format", "").startswith("partnersim-experiment/") else "the manifest was replaced"


def _same_bytes(rel: str) -> Check:
    def check(sb: Sandbox, d: Path) -> str | None:
        return None if (d / "exp" / rel).read_bytes() == (sb.exp / rel).read_bytes() else f"{rel} was changed"

    return check


def _own_exp(sb: Sandbox, d: Path) -> dict[str, str]:
    return {"x": str(copy_experiment(sb, d))}


def _with_report(sb: Sandbox, d: Path) -> dict[str, str]:
    exp = copy_experiment(sb, d)
    (exp / "report.html").write_text("<p>an earlier report</p>")
    return {"x": str(exp)}


case(
    "report-o-manifest",
    "data safety",
    "report {x} -o {x}/manifest.json",
    "experiment store",
    setup=_own_exp,
    check=_manifest_intact,
    note="was: exit 0, the manifest replaced by HTML",
)
case(
    "report-o-comparison-csv",
    "data safety",
    "report {x} -o {x}/comparison.csv",
    "own files",
    setup=_own_exp,
    check=_same_bytes("comparison.csv"),
)
case(
    "report-o-series-part",
    "data safety",
    "report {x} -o {x}/series/part-000000.parquet",
    "experiment store",
    setup=_own_exp,
    check=_same_bytes("series/part-000000.parquet"),
)
case(
    "report-twice",
    "data safety",
    "report {x}",
    "--force",
    setup=_with_report,
    check=lambda sb, d: None if "an earlier report" in (d / "exp" / "report.html").read_text() else "replaced",
)
case(
    "report-twice-force",
    "data safety",
    "report {x} --force",
    "report written",
    setup=_with_report,
    code=0,
    check=lambda sb, d: "not replaced" if "an earlier report" in (d / "exp" / "report.html").read_text() else None,
    slow=True,
)
case(
    "run-out-existing-experiment",
    "data safety",
    "run {small} --workers 1 --out {x}",
    "--resume",
    setup=_own_exp,
    check=_manifest_intact,
)
case(
    "sensitivity-out-experiment",
    "data safety",
    f"{S.replace('{dir}/out', '{x}')}",
    "--out",
    setup=_own_exp,
    check=_manifest_intact,
)
case(
    "cmoc-out-experiment",
    "data safety",
    "cmoc {policy} --baseline {small} --reps 1 --workers 1 --out {x}",
    "experiment folder",
    setup=_own_exp,
    check=_same_bytes("comparison.csv"),
)
case(
    "pathways-out-experiment-store",
    "data safety",
    "pathways {policy} --baseline {small} --reps 1 --workers 1 --out {x}/series",
    "experiment store",
    setup=_own_exp,
)
case(
    "validate-theory-out-experiment",
    "data safety",
    "validate-theory --reps 1 --workers 1 --out {x}",
    "experiment folder",
    setup=_own_exp,
    check=_manifest_intact,
)


def _earlier_outputs(sb: Sandbox, d: Path) -> dict[str, str]:
    (d / "out").mkdir(parents=True, exist_ok=True)
    (d / "out" / "cmoc_configurations.csv").write_text("earlier\n")
    return {}


case(
    "cmoc-existing-output",
    "data safety",
    "cmoc {policy} --baseline {small} --reps 1 --workers 1 --out {dir}/out",
    "--force",
    setup=_earlier_outputs,
    check=lambda sb, d: None if (d / "out" / "cmoc_configurations.csv").read_text() == "earlier\n" else "replaced",
)
case(
    "pathways-existing-output",
    "data safety",
    "pathways {policy} --baseline {small} --reps 1 --workers 1 --out {dir}/out",
    "--force",
    setup=_earlier_outputs,
)
case(
    "validate-theory-existing-output",
    "data safety",
    "validate-theory --reps 1 --workers 1 --out {dir}/out",
    "--force",
    setup=_earlier_outputs,
)
case("sensitivity-existing-output", "data safety", S, "--resume", setup=_earlier_outputs)
case("discover-existing-output", "data safety", f"{D} -N 20", "--resume", setup=_earlier_outputs)
case(
    "panel-existing-output",
    "data safety",
    "panel {small} -o {dir}/out/panel.csv",
    "--force",
    setup=lambda sb, d: (
        (d / "out").mkdir(parents=True, exist_ok=True),
        (d / "out" / "panel.csv").write_text("x\n"),
        {},
    )[2],
    check=lambda sb, d: None if (d / "out" / "panel.csv").read_text() == "x\n" else "replaced",
)
case(
    "calibrate-tracked-file",
    "data safety",
    "calibrate --workers 1 --force --out {root}/scenarios/theory/irt.toml",
    "git tracks",
    note="even with --force: a tracked file is never replaced",
)
case(
    "calibrate-tracked-typology",
    "data safety",
    "calibrate --workers 1 --out {root}/scenarios/theory/typology.toml",
    "git tracks",
    note="the old default target, scenarios/theory/irt_calibrated.toml, was tracked too",
)


def _untracked(sb: Sandbox, d: Path) -> dict[str, str]:
    d.mkdir(parents=True, exist_ok=True)
    (d / "cal.toml").write_text("# mine\n")
    return {}


case(
    "calibrate-existing-file",
    "data safety",
    "calibrate --workers 1 --out {dir}/cal.toml",
    "--force",
    setup=_untracked,
    check=lambda sb, d: None if (d / "cal.toml").read_text() == "# mine\n" else "replaced",
)

# resume: the same experiment, consistently
R = "run {small} --workers 1 --no-figures --no-progress --out {x}"


def _two_reps(sb: Sandbox, d: Path) -> dict[str, str]:
    return {"x": str(d / "e")}


def _prepared(setup: Setup, first: str) -> Setup:
    """``setup``, then a first run of ``first`` (the experiment the case resumes)."""

    def both(sb: Sandbox, d: Path) -> dict[str, str]:
        values = setup(sb, d)
        code, out, err = RUNNER(first.format(**sb.placeholders(), **values, dir=str(d)).split(), sb.root)
        if code != 0:
            raise RuntimeError(f"case setup failed: {first}\n{err}")
        return values

    return both


def _manifest_consistent(reps: int) -> Check:
    def check(sb: Sandbox, d: Path) -> str | None:
        m = json.loads((d / "e" / "manifest.json").read_text())
        c = m.get("counts", {})
        if m["replicates"] != reps or c.get("total") != reps or c.get("ok") != reps or c.get("not_run") != 0:
            return f"manifest inconsistent: {m['replicates']} replicates, counts {c}"
        return None

    return check


case(
    "resume-fewer-reps",
    "resume",
    f"{R} --resume --reps 1",
    "holds 2",
    "--reps 2",
    setup=_prepared(_two_reps, f"{R} --reps 2"),
    check=_manifest_consistent(2),
    note="was: exit 0 and a manifest reading '60 ok of 10'",
)
case(
    "resume-more-reps",
    "resume",
    f"{R} --resume --reps 3",
    "resumed: 2 run(s) were already stored",
    code=0,
    setup=_prepared(_two_reps, f"{R} --reps 2"),
    check=_manifest_consistent(3),
)
case(
    "resume-keeps-its-reps",
    "resume",
    f"{R} --resume",
    "resumed: 2 run(s) were already stored, 0 run now",
    code=0,
    setup=_prepared(_two_reps, f"{R} --reps 2"),
    check=_manifest_consistent(2),
    note="without --reps a resume keeps the experiment's replicates",
)
case(
    "resume-other-seed",
    "resume",
    f"{R} --resume --seed 7",
    "different settings",
    setup=_prepared(_two_reps, f"{R} --reps 2"),
)
case(
    "resume-other-horizon",
    "resume",
    f"{R} --resume --horizon 6 --horizons 6",
    "different settings",
    setup=_prepared(_two_reps, f"{R} --reps 2"),
)


# damaged experiments: read what can be read, and say what is missing
def _deleted_part(sb: Sandbox, d: Path) -> dict[str, str]:
    exp = copy_experiment(sb, d)
    part = sorted((exp / "series").glob("part-*.parquet"))[0]
    part.unlink()
    return {"x": str(exp)}


def _leftover_part(sb: Sandbox, d: Path) -> dict[str, str]:
    exp = copy_experiment(sb, d)
    shutil.copy(exp / "series" / "part-000000.parquet", exp / "series" / "part-000099.parquet")
    (exp / "series" / "part-000100.parquet.tmp").write_bytes(b"half")
    return {"x": str(exp)}


def _edited_manifest(sb: Sandbox, d: Path) -> dict[str, str]:
    exp = copy_experiment(sb, d)
    m = json.loads((exp / "manifest.json").read_text())
    m["runs"] = m["runs"][:-1]
    (exp / "manifest.json").write_text(json.dumps(m))
    return {"x": str(exp)}


def _damaged_part(sb: Sandbox, d: Path) -> dict[str, str]:
    exp = copy_experiment(sb, d)
    part = exp / "series" / "part-000000.parquet"
    part.write_bytes(part.read_bytes()[:100])
    return {"x": str(exp)}


def _manifest(text: str) -> Setup:
    def setup(sb: Sandbox, d: Path) -> dict[str, str]:
        exp = copy_experiment(sb, d)
        (exp / "manifest.json").write_text(text)
        return {"x": str(exp)}

    return setup


def _html_says(word: str) -> Check:
    def check(sb: Sandbox, d: Path) -> str | None:
        page = d / "r.html"
        return None if page.is_file() and word in page.read_text() else f"the report does not say '{word}'"

    return check


case(
    "report-deleted-series-part",
    "damaged experiments",
    "report {x} -o {dir}/r.html",
    "missing",
    code=0,
    setup=_deleted_part,
    check=_html_says("missing"),
    note="was: the report used 6 of 8 runs and said nothing",
)
case(
    "report-leftover-parts",
    "damaged experiments",
    "report {x} -o {dir}/r.html",
    "never committed",
    code=0,
    setup=_leftover_part,
    check=_html_says("never committed"),
    slow=True,
)
case(
    "report-manifest-disagrees",
    "damaged experiments",
    "report {x} -o {dir}/r.html",
    "manifest lists",
    code=0,
    setup=_edited_manifest,
    slow=True,
)
case(
    "report-damaged-part",
    "damaged experiments",
    "report {x} -o {dir}/r.html",
    "could not be read",
    code=0,
    setup=_damaged_part,
    slow=True,
)
case(
    "report-manifest-not-json",
    "damaged experiments",
    "report {x} -o {dir}/r.html",
    "not valid JSON",
    setup=_manifest("{not json"),
)
case(
    "report-manifest-wrong-format",
    "damaged experiments",
    "report {x} -o {dir}/r.html",
    "not the manifest",
    setup=_manifest('{"format": "something-else"}'),
)
case(
    "report-not-experiment",
    "damaged experiments",
    "report {dir}",
    "not an experiment folder",
    setup=lambda sb, d: (d.mkdir(parents=True, exist_ok=True), (d / "x.txt").write_text("x"), {})[2],
)
case(
    "resume-deleted-part-reruns",
    "damaged experiments",
    "compare {small} {policy} --workers 1 --horizons 6,12 --no-figures --out {x} --resume",
    "resumed",
    code=0,
    setup=_deleted_part,
    check=lambda sb, d: _whole(d / "exp"),
    note="a run whose data part was lost is run again",
)
case("cmoc-stored-on-file", "damaged experiments", "cmoc {file} --stored", "one experiment folder", setup=_a_file)


def _whole(folder: Path) -> str | None:
    import warnings

    from analysis.store import load_experiment

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exp = load_experiment(folder)
    return f"still not whole: {exp.problems}" if exp.problems else None


# -- running the cases ------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What one case did, and the verdict."""

    id: str
    group: str
    command: str
    expected: str
    code: int | None
    verdict: str
    good: bool
    message: str
    seconds: float
    skipped: str = ""
    extra: dict[str, str] = field(default_factory=dict)


Runner = Callable[[list[str], Path], tuple[int, str, str]]


def subprocess_runner(python_path: str | None = None, prefix: Sequence[str] = ()) -> Runner:
    """Run ``partnersim`` as a subprocess (time and memory limits), optionally on another source tree."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    def run(argv: list[str], cwd: Path) -> tuple[int, str, str]:
        env = dict(os.environ)
        if python_path:
            env["PYTHONPATH"] = python_path
        # its own process group, so a command killed for its time limit takes its workers with it (code that
        # leaves orphans behind, as the old code did, would otherwise fill the machine)
        proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "analysis.cli", *argv],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=limit,
            start_new_session=True,
        )
        timed_out = False
        try:
            out, err = proc.communicate(timeout=TIME_LIMIT)
        except subprocess.TimeoutExpired:
            out, err, timed_out = "", f"(still running after {TIME_LIMIT:.0f} s: killed)", True
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the command's leftover workers, if any
            proc.wait()
        return (-9 if timed_out else proc.returncode), out, err

    return run


def inprocess_run(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run ``partnersim`` in this process (``analysis.cli.main``), in ``cwd``."""
    from analysis.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), contextlib.chdir(cwd):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 2
        except BaseException:  # noqa: BLE001 - a traceback is the finding
            err.write(traceback.format_exc())
            code = 1
    return int(code), out.getvalue(), err.getvalue()


RUNNER: Runner = inprocess_run
"""The runner the cases' own set-up steps use (the one running the cases)."""


def privilege_prefix(needs: str, folder: Path) -> tuple[list[str] | None, str]:
    """The command prefix a case needs (``[]`` for none), or None and why the machine cannot give it."""
    if needs == "":
        return [], ""
    if needs == "unprivileged":
        if os.geteuid() != 0:
            return [], ""
        prefix = ["unshare", "-U", "--map-user=1000", "--map-group=1000"]  # a plain user's view of the files
        if shutil.which("unshare") and subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix, ""
        return None, "running as root, and no user namespace to drop the privileges in"
    if needs in ("readonly-fs", "small-disk"):
        sub = folder / ("ro" if needs == "readonly-fs" else "disk")
        script = (
            f'mount --bind "{sub}" "{sub}" && mount -o remount,bind,ro "{sub}" && exec "$@"'
            if needs == "readonly-fs"
            else f'mount -t tmpfs -o size=400k partnersim-test "{sub}" && exec "$@"'
        )
        for prefix in (["unshare", "-rm", "sh", "-c", script, "sh"], ["unshare", "-m", "sh", "-c", script, "sh"]):
            if shutil.which("unshare") and subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
                return prefix, ""
        return None, "cannot mount here (needs user namespaces or root)"
    raise ValueError(needs)


def render_argv(c: Case, sb: Sandbox, folder: Path, values: dict[str, str]) -> list[str]:
    """The case's command line with its placeholders filled in."""
    return [a.format(**sb.placeholders(), **values, dir=str(folder)) for a in c.argv]


def judge(c: Case, code: int, out: str, err: str, problem: str | None) -> tuple[str, bool]:
    """The verdict on one case: ``clear error`` / ``right thing`` or ``BAD: why``."""
    text = out + err
    if code == -9:
        return f"BAD: {err}", False
    if "Traceback (most recent call last)" in text:
        return "BAD: traceback", False
    if code != c.code:
        return f"BAD: exit {code} (expected {c.code})", False
    if c.kind == "error" and not any(
        line.startswith(("partnersim: error:", "usage:", "bad ", "partnersim ")) for line in err.splitlines()
    ):
        return "BAD: no error message", False
    missing = [w for w in c.says if w.lower() not in text.lower()]
    if missing:
        return f"BAD: the message lacks {', '.join(repr(w) for w in missing)}", False
    if problem:
        return f"BAD: {problem}", False
    return ("clear error" if c.kind == "error" else "right thing"), True


def message_of(c: Case, out: str, err: str) -> str:
    """The line that matters: the error (or warning), else the last line printed."""
    lines = [ln for ln in err.splitlines() if ln.startswith(("partnersim: error:", "partnersim: warning:", "bad "))]
    lines += [ln for ln in err.splitlines() if "error:" in ln]
    if not lines:
        lines = [ln for ln in (out + err).splitlines() if ln.strip()][-1:]
    return lines[0].strip() if lines else ""


def run_case(c: Case, sb: Sandbox, folder: Path, runner: Runner, *, python_path: str | None = None) -> Outcome:
    """Prepare, run and judge one case in ``folder``; cases that need a prefix run as a subprocess."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o777)
    t0 = time.monotonic()
    values = c.setup(sb, folder) if c.setup else {}
    argv = render_argv(c, sb, folder, values)
    prefix, why = privilege_prefix(c.needs, folder)
    command = "partnersim " + " ".join(
        a.replace(str(folder), "DIR").replace(str(sb.root), "SB").replace(str(ROOT), "REPO") for a in c.argv
    )
    if prefix is None:
        return Outcome(c.id, c.group, command, c.kind, None, f"skipped: {why}", True, "", 0.0, skipped=why)
    run = runner if not prefix else subprocess_runner(python_path, prefix=prefix)
    code, out, err = run(argv, sb.root)  # one working folder: commands share results/.cache (evidence checks)
    problem = c.check(sb, folder) if c.check else None
    verdict, good = judge(c, code, out, err, problem)
    return Outcome(c.id, c.group, command, c.kind, code, verdict, good, message_of(c, out, err), time.monotonic() - t0)


@contextlib.contextmanager
def sandbox_at(root: Path | None, runner: Runner, repo: Path = ROOT) -> Iterator[Sandbox]:
    """A sandbox in ``root`` (kept) or in a temporary folder (removed)."""
    if root is not None:
        yield build_sandbox(root, runner, repo)
        return
    with tempfile.TemporaryDirectory(prefix="partnersim-bad-inputs-") as tmp:
        Path(tmp).chmod(0o755)
        yield build_sandbox(Path(tmp) / "sb", runner, repo)
        for p in Path(tmp).rglob("*"):  # restore permissions so the folder can be removed
            with contextlib.suppress(OSError):
                p.chmod(0o777) if p.is_dir() else None


# -- the document -------------------------------------------------------------------------------------
SANDBOX_PATH = re.compile(r"/[^\s'\"]*?partnersim-bad-inputs-\w+/sb")


def short(text: str, case_id: str) -> str:
    """``text`` with the sandbox's temporary paths written as ``DIR`` (the case's folder) and ``SB``."""
    return SANDBOX_PATH.sub("SB", text).replace(f"SB/cases/{case_id}", "DIR")


def write_doc(outcomes: Sequence[Outcome], path: Path, before: dict[str, dict[str, object]] | None) -> None:
    """Write the table of cases and the counts."""
    ran = [o for o in outcomes if not o.skipped]
    errors = [o for o in ran if o.expected == "error"]
    oks = [o for o in ran if o.expected == "ok"]
    lines = [
        "# Bad inputs: what every command does with them",
        "",
        "Generated by `python scripts/bad_inputs.py` (rerun it after changing validation, the CLI or the",
        "store); `tests/test_bad_inputs.py` runs the same cases in-process and fails on any bad outcome.",
        "Each case prepares its files in a sandbox and runs one command as a user would",
        "(`python -m analysis.cli …`, 60 s and 3 GB limits). An *error* case must exit with code 2 and one",
        "paragraph naming what is wrong (file, key, value, bound or a hint), with no traceback; an *ok* case",
        "must do the right thing and say so. `DIR` is the case's own folder, `SB` the sandbox (small",
        "scenarios and a small experiment), `REPO` this repository.",
        "",
        "## Counts",
        "",
        f"- cases: {len(outcomes)} ({len(errors)} bad inputs that must be refused, {len(oks)} that must be handled)"
        + (f"; {len(outcomes) - len(ran)} skipped on this machine" if len(ran) < len(outcomes) else ""),
        f"- **clear errors: {sum(o.good for o in errors)} of {len(errors)}**; right thing done: "
        f"{sum(o.good for o in oks)} of {len(oks)}",
        f"- bad outcomes: {sum(not o.good for o in ran)}",
    ]
    if before:
        judged = [o for o in ran if o.id in before]
        bad_before = [before[o.id] for o in judged if not before[o.id]["good"]]
        vaguer = [b for b in bad_before if str(b["verdict"]).startswith("BAD: the message lacks") and b["code"] == 2]
        lines.append(
            f"- before this work (commit 0fbb213, the same cases on the old code): {len(bad_before)} bad outcomes of "
            f"{len(judged)}: tracebacks, exit 0 on bad input (runs on nan, data overwritten, silence about missing "
            f"runs), runs that never end, refusals of good input (a byte-order mark); {len(vaguer)} of them exited "
            "with 2 but with a message that misled or lacked the key, value or bound"
        )
    groups = list(dict.fromkeys(o.group for o in outcomes))
    lines += [
        "",
        "| class | cases | good |" + (" bad before |" if before else ""),
        "|---|---|---|" + ("---|" if before else ""),
    ]
    for g in groups:
        these = [o for o in ran if o.group == g]
        row = f"| {g} | {len(these)} | {sum(o.good for o in these)} |"
        if before:
            row += f" {sum(1 for o in these if o.id in before and not before[o.id]['good'])} |"
        lines.append(row)
    for g in groups:
        lines += [
            "",
            f"## {g}",
            "",
            "| case | command | expected | outcome | message |" + (" before |" if before else ""),
            "|---|---|---|---|---|" + ("---|" if before else ""),
        ]
        for o in [o for o in outcomes if o.group == g]:
            note = next((c.note for c in CASES if c.id == o.id and c.note), "")
            msg = short(o.message or o.skipped, o.id).replace("|", "\\|")
            msg = msg if len(msg) <= 220 else msg[:217] + "…"
            cmd = o.command.replace("|", "\\|")
            row = f"| `{o.id}` | `{cmd}` | {o.expected} | {o.verdict} | {msg}{' (' + note + ')' if note else ''} |"
            if before:
                b = before.get(o.id)
                row += f" {short(str(b['verdict']), o.id) if b else 'n/a'} |"
            lines.append(row)
    path.write_text("\n".join(lines) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the cases; print one line each; write the document; exit 1 if any outcome is bad."""
    global RUNNER
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "bad_inputs.md"), help="the document to write")
    parser.add_argument("--no-doc", action="store_true", help="do not write the document")
    parser.add_argument(
        "--only", default=None, help="run the cases whose id starts with one of these (comma-separated)"
    )
    parser.add_argument("--python-path", default=None, help="run the cases on the source tree at this path")
    parser.add_argument("--json", default=None, help="also save the outcomes here")
    parser.add_argument("--before", default=None, help="outcomes (JSON) of the same cases on the old code")
    parser.add_argument("--sandbox", default=None, help="keep the sandbox in this folder (default: temporary)")
    parser.add_argument(
        "--outcomes", default=None, help="write the document from saved outcomes (JSON), running nothing"
    )
    args = parser.parse_args(argv)
    if args.outcomes:
        saved = [Outcome(**o) for o in json.loads(Path(args.outcomes).read_text())]
        before = {o["id"]: o for o in json.loads(Path(args.before).read_text())} if args.before else None
        write_doc(saved, Path(args.out), before)
        print(f"wrote {args.out}")
        return 0
    RUNNER = subprocess_runner(args.python_path)
    chosen = [c for c in CASES if not args.only or c.id.startswith(tuple(args.only.split(",")))]
    outcomes = []
    repo = Path(args.python_path) if args.python_path else ROOT
    with sandbox_at(Path(args.sandbox) if args.sandbox else None, RUNNER, repo) as sb:
        for i, c in enumerate(chosen):
            o = run_case(c, sb, sb.root / "cases" / c.id, RUNNER, python_path=args.python_path)
            outcomes.append(o)
            print(f"{i + 1:>3}/{len(chosen)} {o.verdict:<40} {c.id} ({o.seconds:.1f} s)", flush=True)
    bad = [o for o in outcomes if not o.good]
    print(f"\n{sum(o.good for o in outcomes)} of {len(outcomes)} good; {len(bad)} bad: {', '.join(o.id for o in bad)}")
    if args.json:
        Path(args.json).write_text(json.dumps([o.__dict__ for o in outcomes], indent=1))
    if not args.no_doc:
        before = {o["id"]: o for o in json.loads(Path(args.before).read_text())} if args.before else None
        write_doc(outcomes, Path(args.out), before)
        print(f"wrote {args.out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
