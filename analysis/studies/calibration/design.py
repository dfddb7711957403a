"""The parameters searched, the Latin hypercube design and the evaluation of one point."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.studies.validation import CHECKS, Check, run_evidence
from sim.errors import ConfigError
from sim.theory import Theory

DEFAULT_PARAMS = (
    "domain.quality.init_mean",
    "domain.efficiency.init_mean",
    "population.common_loading",
    "domain.quality.noise",
    "domain.efficiency.rate",
    "regulation.sm_exit_margin",
    "regulation.sm_exit_months",
    "regulation.support_fade",
    "regulation.support.governance",
    "regulation.support.leadership",
    "regulation.support.quality",
    "regulation.support.efficiency",
    "partnering.scale.efficiency",
    "partnering.disruption.efficiency",
    "partnering.disruption.care_model",
    "partnering.disruption_persistence",
    "partnering.disruption_w_conflict",
    "partnering.realisation_mean",
    "partnering.realisation_sd",
    "partnering.savings_lag",
)
DEFAULT_BUDGET = 120
DEFAULT_REPS = 2


def default_targets() -> list[Check]:
    """The quantitative checks (the evidence gives a number)."""
    return [c for c in CHECKS if c.quantitative]


def select_params(theory: Theory, patterns: Sequence[str] | None) -> list[str]:
    """Uncertain parameters matching any of ``patterns`` (glob; default :data:`DEFAULT_PARAMS`)."""
    patterns = list(DEFAULT_PARAMS if patterns is None else patterns)
    uncertain = [p.name for p in theory.uncertain_params()]
    out = []
    for pat in patterns:
        hits = [n for n in uncertain if fnmatch.fnmatchcase(n, pat)]
        if not hits:
            raise ConfigError(
                "matches no uncertain parameter of the theory",
                file=theory.path,
                key="params",
                value=pat,
                choices=uncertain,
            )
        out += [h for h in hits if h not in out]
    return out


# -- sampling and simulation -----------------------------------------------------------------
def latin_hypercube(theory: Theory, names: Sequence[str], n: int, seed: int) -> pd.DataFrame:
    """``n`` points uniform over the declared ranges of ``names`` (scrambled Latin hypercube)."""
    from scipy.stats import qmc

    unit = qmc.LatinHypercube(d=len(names), seed=np.random.default_rng(seed)).random(n)
    cols = {}
    for j, name in enumerate(names):
        p = theory.params[name]
        v = p.low + unit[:, j] * (p.high - p.low)
        if p.integer or _is_whole(p):
            v = np.clip(np.rint(v), p.low, p.high)
        cols[name] = v
    return pd.DataFrame(cols)


def _is_whole(p: Any) -> bool:
    return (
        (p.name.endswith("_months") or p.name.endswith(".lag"))
        and float(p.low).is_integer()
        and float(p.high).is_integer()
    )


@dataclass(frozen=True)
class SampleTask:
    """One design point: the theory at that point, the targets, the seeds."""

    key: int
    theory: Theory
    targets: tuple[Check, ...]
    seeds: tuple[int, ...]
    horizon: int | None = None


def evaluate_sample(task: SampleTask) -> dict[str, float]:
    """Run the studies the targets need (serially, in this process) and return each target's value."""
    studies = sorted({s for c in task.targets for s in c.studies})
    ev = run_evidence(task.theory, studies, task.seeds, workers=1, horizon=task.horizon)
    return {c.name: float(c.statistic(ev)) for c in task.targets}
