"""The manifest of an experiment: everything needed to reproduce it, in ``manifest.json``.

What ran (scenarios and theory with their full content and hashes, population, design
digest), with which seeds, under which package versions and git commit, in which sessions,
and each run's status and timing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.plan import DesignPoints, Plan, run_fn_name, spec_digest, spec_summary
from sim import RunSpec

if TYPE_CHECKING:
    import pandas as pd

FORMAT = "partnersim-experiment/1"
VERSIONED = ("partnersim", "mesa", "numpy", "pandas", "pyarrow", "scipy", "dask", "distributed", "matplotlib")


def new_manifest(plan: Plan, path: Path, session: dict[str, Any]) -> dict[str, Any]:
    """The manifest of a new experiment (everything needed to reproduce it)."""
    theories: dict[str, Any] = {}
    populations: dict[str, Any] = {}
    scenarios = []
    for s in plan.scenarios:
        theories.update(theory_record(s.spec))
        populations.update(population_record(s.spec))
        scenarios.append(
            {**s.record, "name": s.name, "resolved": {**spec_summary(s.spec), "digest": spec_digest(s.spec)}}
        )
    return {
        "format": FORMAT,
        "id": path.name,
        "status": "running",
        "created": session["started"],
        "finished": None,
        "fingerprint": plan.fingerprint(),
        "master_seed": int(plan.master_seed),
        "replicates": plan.replicates,
        "seeds": plan.seeds,
        "seeding": "numpy.random.SeedSequence(master_seed).spawn(replicates); replicate r of every "
        "scenario and design point uses seeds[r] (common random numbers)",
        "run_fn": run_fn_name(plan.run_fn),
        "scenarios": scenarios,
        "design": {"file": None, "n_points": len(plan.points), "digest": plan.design_digest},
        "theories": theories,
        "populations": populations,
        "versions": package_versions(),
        "git": dict(session["git"]) if "git" in session else git_info(),  # the session's, looked up just now
        "sessions": [session],
    }


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of an experiment folder."""
    data: dict[str, Any] = json.loads((Path(path) / "manifest.json").read_text())
    return data


def manifest_json(manifest: Mapping[str, Any]) -> str:
    """The manifest as JSON text (numpy numbers, tuples and dates converted)."""
    return json.dumps(manifest, indent=1, default=_json_default)


def theory_record(spec: RunSpec) -> dict[str, Any]:
    """The theory a spec uses, keyed by digest: files (content + sha256) and every value in force."""
    th = spec.theory
    if th is None:
        return {}
    files = {}
    for f in dict.fromkeys([th.path, th.typology_path]):
        p = Path(f)
        if p.is_file():
            data = p.read_bytes()
            files[str(p)] = {"sha256": hashlib.sha256(data).hexdigest(), "content": data.decode("utf-8")}
    return {
        th.digest(): {
            "name": th.meta.get("name", ""),
            "path": th.path,
            "typology_path": th.typology_path,
            "file_hashes": th.file_hashes,
            "files": files,
            "values": th.values,
        }
    }


def population_record(spec: RunSpec) -> dict[str, Any]:
    """The population spec a scenario uses, keyed by digest (file content + sha256)."""
    pop = spec.population
    if pop is None:
        return {}
    p = Path(pop.path) if pop.path else None
    content = p.read_text() if p is not None and p.is_file() else None
    return {
        pop.digest or pop.name: {
            "name": pop.name,
            "path": pop.path,
            "n_providers": pop.n_providers,
            "n_ics": pop.n_ics,
            "content": content,
        }
    }


def design_frame(points: Sequence[Mapping[str, float]]) -> pd.DataFrame:
    """Design points as a wide table: ``point`` then one column per parameter."""
    import pandas as pd

    if isinstance(points, DesignPoints):
        frame = pd.DataFrame(points.values, columns=list(points.names))
        frame.insert(0, "point", np.arange(len(points), dtype=np.int32))
        return frame
    first = tuple(points[0]) if len(points) else ()
    if all(tuple(p) == first for p in points):  # the usual case: every point sets the same parameters
        flat = itertools.chain.from_iterable(p.values() for p in points)
        values = np.fromiter(flat, dtype=np.float64, count=len(points) * len(first)).reshape(len(points), len(first))
        frame = pd.DataFrame(values, columns=list(first))
    else:
        frame = pd.DataFrame([dict(p) for p in points])
    frame.insert(0, "point", np.arange(len(points), dtype=np.int32))
    return frame


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages results depend on."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in VERSIONED:
        try:
            out[name] = package_version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def package_version(name: str) -> str:
    """``importlib.metadata.version(name)``, read from the ``Version:`` line of the package's metadata.

    ``metadata.version`` parses the whole metadata file as an e-mail (scipy's and matplotlib's hold
    their long descriptions): 30-90 ms for the nine packages, while the pool's workers wait for the
    first batch. The version is a line of the header; a metadata file without one is left to it.
    """
    dist = metadata.distribution(name)
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    for line in text.splitlines():
        if not line:  # the end of the header
            break
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "version":
            return value.strip()
    return metadata.version(name)


def git_info() -> dict[str, Any]:
    """Commit of the source tree (and whether it had uncommitted changes), if it is a git checkout."""
    root = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str | None:
        try:
            res = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return res.stdout.strip() if res.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no", "--", "sim", "analysis", "scenarios")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def run_entry(run: Mapping[str, Any]) -> dict[str, Any]:
    """One run's row of the ``runs`` table as the manifest lists it (its traceback if it failed)."""
    entry = {
        "scenario": str(run["scenario"]),
        "point": int(run["point"]),
        "replicate": int(run["replicate"]),
        "seed": int(run["seed"]),
        "status": run["status"],
        "seconds": round(float(run["seconds"]), 4),
        "cpu_seconds": round(float(run.get("cpu_seconds", 0.0)), 4),
        "worker": run["worker"],
        "batch": int(run["batch"]),
    }
    if run["status"] != "ok":
        entry["error"] = run["error"]
    return entry


def now() -> str:
    """The time now, UTC, ISO 8601 to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _json_default(obj: object) -> object:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, tuple | set):
        return list(obj)
    if isinstance(obj, dt.date | dt.datetime):
        return obj.isoformat()
    return str(obj)
