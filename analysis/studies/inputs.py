"""What a realist study compares: a baseline, policies and seeds, from an experiment or scenario files.

``partnersim pathways`` and ``partnersim cmoc`` take either one experiment folder (its first
scenario is the baseline, its seeds are reused, so replicate r is the same run as in
``partnersim compare``) or scenario files (a file with every lever off is the baseline).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from analysis.errors import UserError
from analysis.plan import replicate_seeds, spec_digest
from analysis.scenario import load_scenario, scenario_from_dict
from analysis.store import read_manifest
from sim import RunSpec
from sim.policy import Levers
from sim.theory import Theory


@dataclass
class Inputs:
    """What a realist command compares: a baseline, policies, and the replicates' seeds."""

    baseline: RunSpec
    policies: dict[str, RunSpec]
    seeds: list[int]
    theory: Theory
    source: str
    notes: list[str] = field(default_factory=list)


DEFAULT_BASELINE = "scenarios/baseline.toml"


def resolve_inputs(
    paths: Sequence[str],
    *,
    baseline: str | None = None,
    reps: int | None = None,
    seed: int | None = None,
    horizon: int | None = None,
    default_reps: int = 4,
) -> Inputs:
    """Policies and baseline from an experiment folder (first scenario = baseline) or scenario files.

    Scenario files: the baseline is ``baseline`` if given, else the first file whose levers are all
    off, else scenarios/baseline.toml; every other file is a policy. Seeds are the runner's
    (``replicate_seeds(master, reps)``), so replicate r is the same run as in ``partnersim compare``.
    """
    notes: list[str] = []
    paths = list(paths)
    if not paths:
        raise UserError("give an experiment folder or at least one scenario file")
    if len(paths) == 1 and Path(paths[0]).is_dir():
        folder = Path(paths[0])
        if not (folder / "manifest.json").is_file():
            raise UserError(f"{folder} is a folder but not an experiment (no manifest.json)")
        manifest = read_manifest(folder)
        scens = []
        for rec in manifest["scenarios"]:
            scen = scenario_from_dict(rec["raw"], path=rec.get("path") or "<experiment>")
            resolved = rec.get("resolved", {})
            if resolved.get("horizon") is not None:  # the experiment may have overridden the file's horizon
                scen = dataclasses.replace(scen, spec=dataclasses.replace(scen.spec, horizon=int(resolved["horizon"])))
            scens.append(scen)
        if baseline is not None:
            scens = [load_scenario(baseline)] + [s for s in scens if s.name != load_scenario(baseline).name]
        if len(scens) < 2:
            raise UserError(f"the experiment {folder} has one scenario; it needs a baseline and at least one policy")
        all_seeds = [int(s) for s in manifest.get("seeds", [])]
        n = reps or len(all_seeds) or default_reps
        seeds = all_seeds[:n] if len(all_seeds) >= n else replicate_seeds(int(manifest.get("master_seed", 0)), n)
        recorded = {s["name"]: s.get("resolved", {}).get("digest") for s in manifest["scenarios"]}
        for s in scens:
            if recorded.get(s.name) and recorded[s.name] != spec_digest(s.spec):
                notes.append(
                    f"scenario '{s.name}' or its theory changed since the experiment ran; using the current files"
                )
        source = str(folder)
    else:
        for p in paths:
            if Path(p).is_dir():
                raise UserError(f"{p} is a folder: give either one experiment folder or scenario files")
        files = list(paths)
        loaded = [load_scenario(f) for f in files]
        if baseline is None:  # a file with every lever off is the baseline; otherwise the default one
            off = [f for f, s in zip(files, loaded, strict=True) if s.spec.levers == Levers()]
            baseline = off[0] if off else DEFAULT_BASELINE
        base_file = Path(baseline).resolve()
        scens = [load_scenario(baseline)] + [
            s for f, s in zip(files, loaded, strict=True) if Path(f).resolve() != base_file
        ]
        files = [baseline] + [f for f in files if Path(f).resolve() != base_file]
        if len(scens) < 2:
            raise UserError("give at least one policy scenario besides the baseline")
        seeds = replicate_seeds(scens[0].seed if seed is None else seed, reps or default_reps)
        source = ", ".join(files)
    names = [s.name for s in scens]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UserError(f"scenario names must be unique; repeated: {', '.join(dupes)}")
    specs = {s.name: (s.spec if horizon is None else dataclasses.replace(s.spec, horizon=int(horizon))) for s in scens}
    base = specs.pop(scens[0].name)
    theory = scens[0].theory
    for name, spec in specs.items():
        if spec.theory is not None and spec.theory.digest() != theory.digest():
            notes.append(f"'{name}' uses another theory than the baseline; paired differences mix policy and theory")
    return Inputs(base, specs, [int(s) for s in seeds], theory, source, notes)
