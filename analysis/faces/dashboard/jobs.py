"""The dashboard's comparison job: replicated runs through the runner, then the comparison and figures.

No Solara here. :func:`run_comparison` is what the *Compare policies* page runs in a background
thread: it plans the experiment with :mod:`analysis.plan` (common random numbers), runs it with
:mod:`analysis.runner`, stores it with :mod:`analysis.store` under ``results/dashboard/compare/`` (a folder the user
can later turn into a report with ``partnersim report``), and summarises it with :mod:`analysis.studies.compare` and
:mod:`analysis.faces.plots` - the same code as ``partnersim compare``.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.executors import SerialExecutor
from analysis.faces import plots
from analysis.faces.dashboard.model import results_dir, scenario_library, with_edits
from analysis.plan import plan_from_scenarios
from analysis.runner import run_experiment
from analysis.scenario import Scenario
from analysis.store import BatchResult, load_experiment
from analysis.studies.compare import DEFAULT_HORIZONS, OUTCOMES, comparison_table, outcome_title
from analysis.studies.units import UnitsRun, with_units

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

DEFAULT_REPLICATES = 10
DEFAULT_HORIZON = 120  # the whole J-curve: worse at 3 years, different at 10
MASTER_SEED = 20220701


@dataclass(frozen=True)
class CompareRequest:
    """What to compare: a baseline and policies (scenario names), replicates, horizon, theory edits."""

    baseline: str
    policies: tuple[str, ...]
    replicates: int = DEFAULT_REPLICATES
    horizon: int = DEFAULT_HORIZON
    edits: tuple[tuple[str, float], ...] = ()
    seed: int = MASTER_SEED

    @property
    def names(self) -> list[str]:
        """Scenario names, baseline first, without repeats."""
        return list(dict.fromkeys([self.baseline, *self.policies]))


@dataclass
class CompareOutcome:
    """A finished comparison: the table, figures as PNG bytes, and where the experiment is stored."""

    request: CompareRequest
    folder: Path
    table: pd.DataFrame
    figures: dict[str, bytes] = field(default_factory=dict)
    runs: int = 0
    failed: int = 0
    horizons: tuple[int, ...] = ()


def horizons_for(horizon: int) -> tuple[int, ...]:
    """The months to tabulate for a run of ``horizon`` months (the usual ones that fit, and the end)."""
    return tuple(sorted({h for h in DEFAULT_HORIZONS if h <= horizon} | {int(horizon)}))


def run_comparison(
    request: CompareRequest,
    *,
    progress: Callable[[int, int], None] | None = None,
    out: str | Path | None = None,
    library: Mapping[str, Scenario] | None = None,
) -> CompareOutcome:
    """Run the comparison with the project's runner and summarise it like ``partnersim compare``.

    Args:
        request: what to compare.
        progress: called with (runs done, runs in total) after each stored batch.
        out: the experiment's folder (default: a new one under ``results/dashboard/compare/``).
        library: scenarios by name (default: the scenario library).

    Returns:
        The comparison table, figures and the experiment folder.
    """
    lib = library or scenario_library()
    unknown = [n for n in request.names if n not in lib]
    if unknown:
        raise ValueError(f"unknown scenario(s): {', '.join(unknown)}; choose from {', '.join(lib)}")
    edits = dict(request.edits)
    scenarios = [with_edits(lib[n], edits) for n in request.names]
    plan = plan_from_scenarios(
        scenarios, replicates=request.replicates, master_seed=request.seed, horizon=request.horizon, run_fn=UnitsRun()
    )
    folder = Path(out) if out is not None else new_folder(request)
    done = 0

    def on_batch(result: BatchResult) -> None:
        nonlocal done
        done += len(result.runs)
        if progress is not None:
            progress(done, plan.n_runs)

    if progress is not None:
        progress(0, plan.n_runs)
    outcome = run_experiment(
        plan,
        folder,
        executor=SerialExecutor(),
        progress=False,
        command=["partnersim dashboard (Compare policies)"],
        on_batch=on_batch,
        batch_size=max(1, len(request.names)),
    )
    exp = load_experiment(folder, partnerships=False)
    exp.series = with_units(exp.series)  # CQC bands, RTT % and vacancy % (scenarios/theory/units.toml)
    horizons = horizons_for(request.horizon)
    table, figures = summarise(
        exp.series, baseline=request.baseline, horizons=horizons, start=str(scenarios[0].spec.start)
    )
    return CompareOutcome(request, folder, table, figures, runs=plan.n_runs, failed=outcome.failed, horizons=horizons)


def new_folder(request: CompareRequest) -> Path:
    """A fresh experiment folder: ``results/dashboard/compare/<date>T<time>_<scenarios>`` (not created yet)."""
    stamp = dt.datetime.now().strftime("%Y-%m-%dT%H%M%S")
    label = "_vs_".join(request.names[:4]) + ("_etc" if len(request.names) > 4 else "")
    base = results_dir() / "compare" / f"{stamp}_{label}"
    folder, k = base, 1
    while folder.exists():
        k += 1
        folder = base.with_name(f"{base.name}-{k}")
    folder.parent.mkdir(parents=True, exist_ok=True)
    return folder


def summarise(
    series: pd.DataFrame, *, baseline: str, horizons: Sequence[int], start: str = ""
) -> tuple[pd.DataFrame, dict[str, bytes]]:
    """The comparison table (units people use first, with verdicts) and the standard figures (PNG bytes)."""
    outcomes = [o.metric for o in OUTCOMES]
    table = comparison_table(series, baseline=baseline, horizons=horizons)
    labels = {m: outcome_title(m) for m in outcomes}
    figures = {"trajectories": png(plots.trajectories(series, outcomes, labels=labels, start=start))}
    if series["scenario"].astype(str).nunique() > 1:
        figures["differences"] = png(
            plots.difference_trajectories(series, baseline, outcomes, labels=labels, start=start)
        )
    figures["partnerships"] = png(plots.partnerships_over_time(series, start=start))
    return table, figures


def png(fig: Figure, dpi: int = 90) -> bytes:
    """A figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
