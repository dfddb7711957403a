"""Running the checks: a table of model against evidence for one theory, saved and reused."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis.executors import Executor
from analysis.paired import mean_ci, run_studies
from analysis.plan import replicate_seeds
from analysis.studies.validation.catalogue import CHECK_NAMES, CHECKS, NOT_TESTED
from analysis.studies.validation.checks import Check, _fmt
from analysis.studies.validation.evidence import DEFAULT_REPS, DEFAULT_SEED, STUDIES, Evidence
from sim.theory import Theory, load_theory

# pandas: imported by the functions that build or read tables, not with the module, so a run's
# workers are forked without it (tests/test_architecture.py)
if TYPE_CHECKING:
    import pandas as pd


# -- running the checks -------------------------------------------------------------------------
@dataclass
class ValidationResult:
    """The table of checks for one theory.

    Attributes:
        table: one row per check: check, title, fact, source, evidence, model (value as text),
            value, ci_low, ci_high (95% t interval across replicates), band, result
            (pass | fail | no data | not applicable), unit, mapping, band_rule, distance.
        not_tested: facts and figures the model cannot speak to, with reasons.
        theory: the theory's name and path.
        seeds: the replicates' seeds.
    """

    table: pd.DataFrame
    not_tested: pd.DataFrame
    theory: str
    seeds: list[int]
    runs: int = 0

    @property
    def emergent(self) -> pd.DataFrame:
        """The rows of emergent checks (the evidence checks that count)."""
        return self.table[self.table["basis"] == "emergent"]

    @property
    def by_construction(self) -> pd.DataFrame:
        """The rows of checks that hold by construction (reported apart, never counted as passes)."""
        return self.table[self.table["basis"] != "emergent"]

    @property
    def n_checks(self) -> int:
        """Emergent checks run."""
        return len(self.emergent)

    @property
    def n_pass(self) -> int:
        """Emergent checks passed."""
        return int((self.emergent["result"] == "pass").sum())

    @property
    def n_fail(self) -> int:
        """Emergent checks failed."""
        return int((self.emergent["result"] == "fail").sum())

    @property
    def failing(self) -> list[str]:
        """Names of the emergent checks that fail."""
        return self.emergent.loc[self.emergent["result"] == "fail", "check"].tolist()

    def status(self) -> str:
        """One sentence: how many emergent evidence checks pass, and which fail."""
        text = f"{self.n_pass} of {self.n_checks} evidence checks pass"
        if self.failing:
            text += f"; failing: {', '.join(self.failing)}"
        return text + f" ({len(self.by_construction)} more hold by construction and are not counted)"


def seeds_for(reps: int, seed: int = DEFAULT_SEED) -> list[int]:
    """Replicate seeds (the runner's derivation, so replicate r matches across commands)."""
    return replicate_seeds(seed, reps)


def applicable(check: Check, theory: Theory) -> str:
    """Empty if ``check`` applies to ``theory``; otherwise why not."""
    missing = sorted({t for s in check.studies for t in STUDIES[s].types if t not in theory.type_names})
    if missing:
        return f"the theory has no partnership type {', '.join(missing)}"
    return ""


def run_evidence(
    theory: Theory,
    studies: Sequence[str],
    seeds: Sequence[int],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | None = None,
    horizon: int | None = None,
) -> Evidence:
    """Run the named studies under ``theory`` for every seed (``horizon`` overrides 120 months)."""
    plan = {name: (STUDIES[name].spec(theory, horizon), STUDIES[name].make_hook(theory)) for name in studies}
    return Evidence(theory, run_studies(plan, seeds, workers=workers, scheduler=scheduler, executor=executor), seeds)


def evaluate(checks: Sequence[Check], ev: Evidence) -> pd.DataFrame:
    """The table rows of ``checks`` computed from evidence already run."""
    import pandas as pd

    rows = []
    for c in checks:
        why = applicable(c, ev.theory)
        base = {
            "check": c.name,
            "basis": c.basis,
            "title": c.title,
            "fact": c.fact,
            "source": c.source,
            "evidence": c.evidence,
            "target": c.target,
            "band": c.band(),
            "band_rule": c.band_rule,
            "unit": c.unit,
            "mapping": c.mapping,
        }
        if why:
            rows.append(
                {
                    **base,
                    "value": np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "model": "",
                    "result": "not applicable",
                    "distance": np.nan,
                    "note": why,
                }
            )
            continue
        value = float(c.statistic(ev))
        per_rep = [float(c.statistic(ev.only(s))) for s in ev.seeds] if len(ev.seeds) > 1 and c.studies else []
        _, lo, hi = mean_ci(per_rep) if per_rep else (np.nan, np.nan, np.nan)
        ok = c.passes(value)
        rows.append(
            {
                **base,
                "value": value,
                "ci_low": lo,
                "ci_high": hi,
                "model": "no value" if ok is None else _fmt(value),
                "result": "no data" if ok is None else ("pass" if ok else "fail"),
                "distance": c.distance(value),
                "note": "",
            }
        )
    cols = [
        "check",
        "basis",
        "title",
        "evidence",
        "model",
        "band",
        "result",
        "value",
        "ci_low",
        "ci_high",
        "target",
        "unit",
        "fact",
        "source",
        "mapping",
        "band_rule",
        "distance",
        "note",
    ]
    return pd.DataFrame(rows)[cols]


def validate(
    theory: Theory | str | None = None,
    *,
    reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
    checks: Sequence[str] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | None = None,
) -> ValidationResult:
    """Run the checks (all, or those named) against ``theory`` over ``reps`` replicates.

    Args:
        theory: a Theory, a theory file, or None for the default theory.
        reps: replicates (each study runs once per replicate; common random numbers).
        seed: master seed of the replicates.
        checks: names of the checks to run (default: all of :data:`CHECKS`).
        workers: processes (default: all cores; 1 = in this process).
        scheduler: a Dask scheduler address.
        executor: an executor from :mod:`analysis.runner` to use instead.
    """
    import pandas as pd

    th = theory if isinstance(theory, Theory) else load_theory(theory)
    chosen = select_checks(checks)
    seeds = seeds_for(reps, seed)
    studies = sorted({s for c in chosen if not applicable(c, th) for s in c.studies})
    ev = run_evidence(th, studies, seeds, workers=workers, scheduler=scheduler, executor=executor)
    return ValidationResult(
        evaluate(chosen, ev),
        pd.DataFrame(NOT_TESTED, columns=["fact", "why not tested"]),
        f"{th.meta.get('name', '')} ({display_path(th.path)})",
        seeds,
        runs=len(studies) * len(seeds),
    )


def select_checks(names: Sequence[str] | None) -> list[Check]:
    """The checks called ``names`` (all when None); unknown names raise a ConfigError."""
    if names is None:
        return list(CHECKS)
    by = {c.name: c for c in CHECKS}
    out = []
    for n in names:
        if n not in by:
            from sim.errors import ConfigError

            raise ConfigError("unknown validation check", key="checks", value=n, choices=CHECK_NAMES)
        out.append(by[n])
    return out


def save_validation(result: ValidationResult, folder: str | Path) -> Path:
    """Write ``validation.csv`` and ``not_tested.csv`` into ``folder`` (what :func:`load_validation` reads)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(out / "validation.csv", index=False)
    result.not_tested.to_csv(out / "not_tested.csv", index=False)
    (out / "theory.txt").write_text(f"{result.theory}\n{len(result.seeds)} replicates\n")
    return out


def evidence_status(
    theory: Theory,
    *,
    reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
    cache: str | Path | None = None,
    workers: int | None = None,
) -> ValidationResult:
    """The validation of ``theory`` (every check), reused from ``cache`` when this theory was checked before.

    The cache key is the theory's digest (files and values), the replicates and the seed, so a
    changed theory is always checked afresh.
    """
    folder = Path(cache) / f"{theory.digest()}-r{reps}-s{seed}" if cache is not None else None
    if folder is not None and (folder / "validation.csv").is_file():
        saved = load_validation(folder)
        saved.theory = f"{theory.meta.get('name', '')} ({display_path(theory.path)})"
        saved.seeds = seeds_for(reps, seed)
        return saved
    result = validate(theory, reps=reps, seed=seed, workers=workers)
    if folder is not None:
        save_validation(result, folder)
    return result


def display_path(path: str) -> str:
    """``path`` relative to the working folder when it lies inside it (no author's absolute path)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return Path(path).name


def load_validation(folder: str | Path) -> ValidationResult:
    """A validation table saved by ``partnersim validate-theory`` (validation.csv, not_tested.csv).

    Lets the report include the table without re-running the checks; the theory's name is read
    back from ``theory.txt`` when the folder has one.
    """
    import pandas as pd

    folder = Path(folder)
    numeric = ("value", "ci_low", "ci_high", "target", "distance")
    table = pd.read_csv(folder / "validation.csv", dtype=str, keep_default_na=False)
    for col in numeric:
        table[col] = pd.to_numeric(table[col], errors="coerce")
    if "basis" not in table:
        table["basis"] = "emergent"
    nt = folder / "not_tested.csv"
    not_tested = pd.read_csv(nt) if nt.exists() else pd.DataFrame(NOT_TESTED, columns=["fact", "why not tested"])
    about = folder / "theory.txt"
    name = about.read_text().splitlines()[0] if about.is_file() else str(folder)
    return ValidationResult(table, not_tested, name, [])
