"""The runs the checks need (studies) and what a check sees of them (:class:`Evidence`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.paired import Pairing, SimOut, make_spec, paired_member_path
from analysis.plan import replicate_seeds
from analysis.studies.pathways import RouteHook, channel_entries, enumerate_routes
from sim import Keep, run_many
from sim.theory import Theory

# pandas: imported by the functions that build or read tables, not with the module, so a run's
# workers are forked without it (tests/test_architecture.py)
if TYPE_CHECKING:
    import pandas as pd

DEFAULT_REPS = 4
DEFAULT_SEED = 20220701
HORIZON = 120
FACT3_TYPES = ("individual_partnering", "network", "contractual_jv", "group", "corporate_jv", "merger")
SHOCK_MONTH = 60
START_DRAWS = 10
MIX_TYPES = ("individual_partnering", "network", "contractual_jv", "corporate_jv", "group", "merger")


# -- studies: the runs the checks need ------------------------------------------------------
@dataclass(frozen=True)
class Study:
    """A named run configuration (levers in flat form), paired by seed with every other study."""

    name: str
    levers: tuple[tuple[str, Any], ...] = ()
    types: tuple[str, ...] = ()  # partnership types it needs in the theory
    hook: str = ""  # "" | "no_scale" (scale channel blocked) | "track" (routes tracked)
    description: str = ""

    def spec(self, theory: Theory, horizon: int | None = None) -> Any:
        """The RunSpec of this study under ``theory``."""
        return make_spec(theory, name=self.name, horizon=HORIZON if horizon is None else horizon, **dict(self.levers))

    def make_hook(self, theory: Theory) -> Any:
        """The hook the study runs with, if any."""
        if self.hook == "no_scale":
            return RouteHook(
                (), block_entries=tuple(("scale", d) for d in channel_entries(theory)["scale"]), track=False
            )
        if self.hook == "track":
            return RouteHook(tuple(enumerate_routes(theory, theory.roles["quality"])))
        return None


def _fr(kind: str) -> tuple[tuple[str, Any], ...]:
    return (("failure_regime_enabled", True), ("failure_regime_intervention", kind))


def _vol(*types: str) -> tuple[tuple[str, Any], ...]:
    return (("voluntary_enabled", True), ("voluntary_type_mix", {t: 1.0 for t in types}))


STUDIES: dict[str, Study] = {
    s.name: s
    for s in [
        Study("baseline", description="no policy"),
        Study("buddying", _fr("buddying"), ("buddying",), description="special measures + buddying (2013-21 regime)"),
        Study("mergers", _fr("merger"), ("merger",), description="failing trusts merged with a capable trust"),
        Study(
            "mergers_no_scale",
            _fr("merger"),
            ("merger",),
            hook="no_scale",
            description="as mergers, with the scale (shared back office) channel blocked",
        ),
        Study("vertical", _vol("vertical_ico"), ("vertical_ico",), description="voluntary vertical integration"),
        Study(
            "networks",
            _vol("network", "individual_partnering"),
            ("network", "individual_partnering"),
            description="voluntary networks and clinical partnering",
        ),
        Study(
            "networks_shock",
            (
                *_vol("network", "individual_partnering"),
                ("workforce_shock_size", 0.05),
                ("workforce_shock_start_month", SHOCK_MONTH),
            ),
            ("network", "individual_partnering"),
            description=f"as networks, with a workforce shock of 0.05 from month {SHOCK_MONTH}",
        ),
        Study("mix", _vol(*MIX_TYPES), MIX_TYPES, hook="track", description="voluntary partnering, six types"),
        *[Study(f"only_{t}", _vol(t), (t,), description=f"voluntary partnering, {t} only") for t in FACT3_TYPES],
    ]
}


# -- what a check sees ------------------------------------------------------------------------
def history(run: SimOut) -> tuple[np.ndarray, np.ndarray]:
    """A run's level history (months × providers × domains) and special-measures flags (months × providers)."""
    if run.levels is None or run.in_sm is None:
        raise ValueError("the evidence needs runs kept with their history")
    return run.levels, run.in_sm


def turnover(run: SimOut) -> np.ndarray:
    """Providers' turnover (£m) of a run."""
    if run.turnover is None:
        raise ValueError("the run did not keep the providers' turnover")
    return run.turnover


class Evidence:
    """The runs of every study for a set of seeds, with helpers the checks share."""

    def __init__(self, theory: Theory, runs: Pairing, seeds: Sequence[int]) -> None:
        self.theory = theory
        self.runs = runs
        self.seeds = [int(s) for s in seeds]

    def only(self, seed: int) -> Evidence:
        """The same evidence restricted to one replicate."""
        return Evidence(self.theory, self.runs, [seed])

    def run(self, study: str, seed: int) -> SimOut:
        """One run."""
        return self.runs.get(study, seed)

    def series0(self, metric: str) -> float:
        """Mean of a metric at month 0 over ``START_DRAWS`` population draws per replicate.

        Starting shares vary a lot between population draws (0.05-0.19 in special measures),
        so each replicate adds draws of the population alone (cheap: no month is run).
        """
        values = [self.run("baseline", s).series[metric].iloc[0] for s in self.seeds]
        draws = [({"theory": self.theory}, d) for s in self.seeds for d in replicate_seeds(s, START_DRAWS - 1)]
        month0 = Keep(months=(0,), metrics=(metric,), tables=False)
        values += [float(r.values((metric,))[0, 0]) for r in run_many(draws, 0, keep=month0)]
        return float(np.mean(values))

    def sm_spells(self, study: str) -> pd.DataFrame:
        """Special-measures spells (entered ≥ 1) of every replicate, open ones with ``left`` NaN."""
        import pandas as pd

        frames = []
        for s in self.seeds:
            frame = spells_from_history(self.run(study, s).in_sm)
            frame["seed"] = s
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def member_paths(
        self,
        study: str,
        domain: str,
        *,
        types: Sequence[str],
        origin: str = "completion",
        months: int = 48,
        baseline: str = "baseline",
        mandated: bool | None = None,
    ) -> np.ndarray:
        """Members' paired change in a role's domain since formation, from ``origin`` on, per partnership.

        Rows: partnerships of ``types`` (all replicates) with ``months`` of follow-up after their
        ``origin`` (``start``, ``completion`` or ``operating`` month); columns: months 0…months
        after the origin. The change is measured from the formation month, so a dip during
        approval or transition shows.
        """
        rows = []
        dom = self.theory.roles.get(domain, domain)
        for s in self.seeds:
            pol, base = self.run(study, s), self.run(baseline, s)
            log = pol.log
            keep = log["type"].isin(list(types)).to_numpy()
            if mandated is not None:
                keep &= log["mandated"].to_numpy() == mandated
            offset = (log[f"{origin}_month"] - log["start_month"]).to_numpy() if origin != "start" else 0 * keep
            ok = keep & (log["start_month"].to_numpy() + offset + months <= HORIZON)
            if not ok.any():
                continue
            sub = dataclasses.replace(pol, log=log[ok].reset_index(drop=True))
            full = paired_member_path(sub, base, dom, sub.log["start_month"], int(offset[ok].max()) + months)
            for row, off in zip(full, offset[ok], strict=True):
                rows.append(row[int(off) : int(off) + months + 1])
        return np.array(rows) if rows else np.zeros((0, months + 1))

    def scale_paths(self, *, months: int = 48) -> np.ndarray:
        """Efficiency the scale channel adds to merger members, month by month after completion.

        Per merger: members' efficiency in the mergers run minus in the run with the scale
        channel blocked (same seed; mergers matched by members and start month).
        """
        eff = self.theory.roles["efficiency"]
        rows = []
        for s in self.seeds:
            a, b = self.run("mergers", s), self.run("mergers_no_scale", s)
            col = list(a.domains).index(eff)
            keys_b = set(zip(b.log["members"], b.log["start_month"], strict=True))
            for _, r in a.log[a.log["type"] == "merger"].iterrows():
                c = int(r["completion_month"])
                if (r["members"], r["start_month"]) not in keys_b or c + months > HORIZON:
                    continue
                m = [int(x) for x in r["members"].split()]
                la, lb = history(a)[0], history(b)[0]
                rows.append((la[c : c + months + 1, m, col] - lb[c : c + months + 1, m, col]).mean(axis=1))
        return np.array(rows) if rows else np.zeros((0, months + 1))

    def log(self, study: str) -> pd.DataFrame:
        """Partnership logs of every replicate."""
        import pandas as pd

        return pd.concat([self.run(study, s).log.assign(seed=s) for s in self.seeds], ignore_index=True)


def spells_from_history(in_sm: np.ndarray | None) -> pd.DataFrame:
    """Special-measures spells that start after month 0: provider, entered, left (NaN if open)."""
    import pandas as pd

    if in_sm is None:
        raise ValueError("needs a run with history")
    rows = []
    flags = in_sm.astype(np.int8)
    change = np.diff(flags, axis=0)  # +1 entry at month t+1, -1 exit
    for i in range(flags.shape[1]):
        entries = np.flatnonzero(change[:, i] == 1) + 1
        exits = np.flatnonzero(change[:, i] == -1) + 1
        for e in entries:
            later = exits[exits > e]
            rows.append((i, int(e), float(later[0]) if len(later) else np.nan))
    return pd.DataFrame(rows, columns=["provider", "entered", "left"])
