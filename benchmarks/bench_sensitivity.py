"""Cost of a Sobol analysis over every uncertain parameter of the default theory.

Runs ``partnersim sensitivity``'s own path (``analysis.studies.sensitivity.run_analysis``: Sobol design,
the experiments runner on a process pool with its Parquet store, analysis at every 12 months
with bootstrap intervals and the N/2 convergence check) at ``--N`` (default 64) on ``--workers``
(default 2) for the baseline scenario over the full 120-month horizon (``--horizon`` to shorten,
reported when used), outputs quality and efficiency. Reports:

* wall time of each phase, throughput (runs/s), the model's own cost per run (serial, median of
  5) and so the runner's overhead per run, the store's size on disk;
* peak resident memory of the parent and of parent + workers (sampled every 0.2 s);
* the extrapolated cost of N = 512 (N·(D+2) runs) against the 30-minute target, and of the
  grouped alternative (N·(G+2) runs over the pathway groups);
* the cost of one run of a policy scenario with partnerships (mergers for failing trusts,
  voluntary partnering and the collaborative duty) relative to the baseline, because an
  analysis of a policy (and ``--contrast``, which doubles the runs) costs more than the baseline.

Usage: ``python benchmarks/bench_sensitivity.py [--N 64] [--workers 2] [--horizon 120]``.
The load average is printed: other processes on a shared 2-core machine slow every figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil

from analysis.scenario import load_scenario
from analysis.studies import sensitivity as sa

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
TARGET_S = 30 * 60


class PeakMemory:
    """Samples the RSS of this process and its children in a background thread."""

    def __init__(self, every: float = 0.2) -> None:
        self.every = every
        self.parent = 0
        self.total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            try:
                own = me.memory_info().rss
                kids = sum(c.memory_info().rss for c in me.children(recursive=True))
            except psutil.Error:
                continue
            self.parent = max(self.parent, own)
            self.total = max(self.total, own + kids)
            self._stop.wait(self.every)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_cost(spec, months, metrics, n: int = 5) -> float:  # type: ignore[no-untyped-def]
    task = sa.ModelTask(spec, months, metrics)
    task({}, 0)  # warm-up
    times = []
    for seed in range(1, n + 1):
        t0 = time.perf_counter()
        task({}, seed)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--horizon", type=int, default=120)
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.toml"))
    args = ap.parse_args()

    scen = load_scenario(args.scenario)
    theory = scen.theory
    space = sa.parameter_space(theory)
    D, G = len(space), len(space.group_names)
    months = sa.timeline_months([12, 36, args.horizon] if args.horizon >= 36 else [args.horizon], 12)
    metrics = ["mean_quality", "mean_efficiency"]
    spec = scen.spec
    load0 = os.getloadavg()

    base_run = run_cost(spec, (args.horizon,), tuple(metrics))
    policy = dataclasses.replace(
        spec,
        levers=dataclasses.replace(
            spec.levers,
            failure_regime=dataclasses.replace(spec.levers.failure_regime, enabled=True, intervention="merger"),
            voluntary=dataclasses.replace(spec.levers.voluntary, enabled=True),
            collaborative_duty=dataclasses.replace(spec.levers.collaborative_duty, enabled=True),
        ),
    )
    policy_run = run_cost(policy, (args.horizon,), tuple(metrics))

    task = sa.ModelTask(spec, tuple(months), tuple(metrics))
    with tempfile.TemporaryDirectory(prefix="bench-sa-") as tmp, PeakMemory() as mem:
        t0 = time.perf_counter()
        a = sa.run_analysis(
            task,
            space,
            "sobol",
            args.N,
            months=months,
            metrics=metrics,
            reps=1,
            seed=1,
            executor="pool",
            workers=args.workers,
            folder=tmp,
            progress=True,
            convergence_months=[m for m in (12, 36, args.horizon) if m in months],
        )
        wall = time.perf_counter() - t0
        store = folder_size(Path(tmp))
    load1 = os.getloadavg()

    t = a.timings
    runs = int(t["runs"])
    rate = runs / t["evaluate_s"]
    overhead = args.workers / rate - base_run  # per run, per worker
    runs512 = 512 * (D + 2)
    eval512 = runs512 / rate
    analyse512 = t["analyse_s"] * 512 / args.N
    total512 = eval512 + analyse512
    grouped512 = 512 * (G + 2) / rate + t["analyse_s"] * 512 / args.N * G / D
    runs_needed_rate = runs512 / (TARGET_S - analyse512)

    rows = [
        ("scenario, horizon", f"{scen.name}, {args.horizon} months{'' if args.horizon == 120 else ' (SHORTENED)'}"),
        ("uncertain parameters D / pathway groups G", f"{D} / {G}"),
        (
            "design",
            f"Sobol N={args.N}: {a.design.n_points} points (N·(D+2)) + {runs - a.design.n_points} "
            f"noise-probe runs, {args.workers} workers",
        ),
        ("wall time (total)", f"{wall:.1f} s"),
        ("  design", f"{t['design_s']:.1f} s"),
        ("  evaluation (runner, pool)", f"{t['evaluate_s']:.1f} s"),
        (f"  analysis (2 outputs x {len(months)} months, bootstrap, N/2 check)", f"{t['analyse_s']:.1f} s"),
        ("throughput", f"{rate:.1f} runs/s"),
        ("one baseline run, serial (median of 5)", f"{base_run * 1000:.0f} ms"),
        ("runner + pool overhead per run per worker", f"{overhead * 1000:.0f} ms"),
        ("one policy run (mergers + voluntary + duty)", f"{policy_run * 1000:.0f} ms ({policy_run / base_run:.1f}x)"),
        ("peak memory: parent / parent + workers", f"{mem.parent / MB:.0f} MB / {mem.total / MB:.0f} MB"),
        ("store on disk", f"{store / MB:.1f} MB"),
        ("N=512 all parameters: runs", f"{runs512}"),
        (
            "N=512 all parameters: estimated time",
            f"{total512 / 60:.1f} min (evaluation {eval512 / 60:.1f}, analysis {analyse512 / 60:.1f})",
        ),
        (
            "  target 30 min met?",
            "YES"
            if total512 <= TARGET_S
            else f"NO: needs {runs_needed_rate:.0f} runs/s ({runs_needed_rate / rate:.1f}x today)",
        ),
        (
            "  policy scenario instead (est.)",
            f"{(eval512 * policy_run / base_run + analyse512) / 60:.1f} min; with --contrast x2 runs",
        ),
        ("N=512 grouped over pathways: runs / est. time", f"{512 * (G + 2)} / {grouped512 / 60:.1f} min"),
        ("load average before / after", f"{load0[0]:.1f} / {load1[0]:.1f} (2 cores)"),
    ]
    width = max(len(k) for k, _ in rows)
    print()
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    for w in a.result.warnings[:5]:
        print(f"warning: {w}")


if __name__ == "__main__":
    main()
