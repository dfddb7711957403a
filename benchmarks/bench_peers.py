"""partnersim against the runners a user would pick instead, and the engine's own costs (ratios, side by side).

1. Peers, whole processes, interleaved rounds: ``partnersim run`` of ``--runs`` (120) policy runs
   (mandated buddying, 217 trusts, 120 months, 2 workers) against ``mesa.batch_run`` on
   ``PartnershipModel`` and EMA Workbench's ``MultiprocessingEvaluator`` driving ``sim.run``,
   the same runs on the same 2 processes. Each is timed from outside (start-up, imports and
   writing included); the ratio is partnersim's runs/s over the peer's, per round, and its median.
2. Per-run CPU inside a batch: ``sim.run_many`` of 64 policy runs (metrics only, and full tables)
   against ``sim.run`` one at a time, one core.
3. Sobol cost: the sensitivity evaluation (every uncertain parameter of the default theory, the
   policy scenario, 120 months, 2 workers) at N and 4N (N = 8: 1,824 and 7,296 runs; at N = 2 the
   same code gave 8.4-12.9 min, too short a base on this noisy machine); N = 512 extrapolated
   from the marginal rate between the two (the pool's start-up counted once).
4. Scaling: one baseline run of 217, 2,000 and 20,000 trusts (120 months): seconds, and time per
   trust-month relative to 217 (1.0 = linear).
5. Memory: peak resident memory of a process that runs one batch of 256 default runs.

``--code DIR`` runs everything against another checkout (e.g. the commit before the engine, for
the "before" figures; its ``sim`` lacks ``run_many``, so section 2 falls back to ``sim.run``).

``--marginal M`` also times every runner at M runs and prints each one's cost per further run
and fixed cost (a process's time is about fixed + runs x per-run): the ratio of the per-run costs
is the ceiling the whole-process ratio approaches as the run count grows.

    .venv/bin/python benchmarks/bench_peers.py [--runs 120] [--rounds 3] [--marginal 480]
        [--sobol-n 8] [--only peers,batch,...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = "mandated_buddying"
POLICY = {"failure_regime_enabled": True, "failure_regime_intervention": "buddying"}


# -- workers for the peers (each runs in its own process) ------------------------------------------
def ema_run(seed: int = 0) -> dict[str, float]:
    """EMA's model function: one policy run through ``sim.run``; its outcomes at the horizon."""
    import sim

    res = sim.run(dict(POLICY), int(seed), 120)
    last = res.series.iloc[-1]
    return {
        "mean_quality": float(last["mean_quality"]),
        "share_special_measures": float(last["share_special_measures"]),
    }


def peer_mesa(runs: int) -> None:
    """``mesa.batch_run`` of ``runs`` policy runs on 2 processes (the model's own DataCollector)."""
    import mesa

    from sim import PartnershipModel

    mesa.batch_run(
        PartnershipModel,
        parameters={**POLICY, "horizon": 120, "rng": list(range(runs))},
        iterations=1,
        max_steps=120,
        number_processes=2,
        data_collection_period=-1,
        display_progress=False,
    )


def peer_ema(runs: int) -> None:
    """EMA Workbench's MultiprocessingEvaluator, 2 processes, ``runs`` experiments over the seed."""
    from ema_workbench import IntegerParameter, Model, MultiprocessingEvaluator, ScalarOutcome
    from ema_workbench.em_framework.samplers import LHSSampler  # noqa: F401 - the default sampler

    model = Model("partnersim", function=ema_run)
    model.uncertainties = [IntegerParameter("seed", 0, 10**6)]
    model.outcomes = [ScalarOutcome("mean_quality"), ScalarOutcome("share_special_measures")]
    with MultiprocessingEvaluator(model, n_processes=2) as evaluator:
        evaluator.perform_experiments(scenarios=runs)


def peer_partnersim(runs: int) -> None:
    """``partnersim run`` of the scenario file: 2 workers, stored, bands printed, no figures."""
    from analysis.cli import main

    with tempfile.TemporaryDirectory(prefix="bench_peers_") as tmp:
        args = [
            "run",
            str(ROOT / "scenarios" / f"{SCENARIO}.toml"),
            "--reps",
            str(runs),
            "--workers",
            "2",
            "--no-figures",
            "--no-progress",
            "--out",
            str(Path(tmp) / "exp"),
        ]
        code = main(args)
        if code:
            raise SystemExit(code)


PEERS = {"partnersim": peer_partnersim, "mesa.batch_run": peer_mesa, "EMA evaluator": peer_ema}


def env_for(code: Path | None) -> dict[str, str]:
    """The measured processes' environment: this one, with Python's bytecode cache on, on ``code``.

    With ``PYTHONDONTWRITEBYTECODE`` set (some sandboxes and CI images set it) every process
    compiles every module of the checkout from source again: 0.2-0.3 s a process, on both sides
    of every ratio. A user's installation keeps its bytecode, so the benchmark does too.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    return env


def run_script(script: str, code: Path | None) -> list[str]:
    """Run ``script`` in a fresh interpreter on ``code`` (or this checkout); its output lines.

    The interpreter starts in the checkout it measures: ``python -c`` puts the working folder
    first on ``sys.path``, ahead of ``PYTHONPATH``, so starting elsewhere would import that
    folder's ``sim``. The script's first line of output names the ``sim`` it imported, and a
    mismatch stops the benchmark.
    """
    where = (code or ROOT).resolve()
    prelude = "import sim as _sim, pathlib; print(pathlib.Path(_sim.__file__).resolve().parents[1])\n"
    res = subprocess.run(
        [sys.executable, "-c", prelude + script],
        check=True,
        env=env_for(code),
        cwd=where,
        capture_output=True,
        text=True,
    )
    lines = res.stdout.strip().splitlines()
    if Path(lines[0]) != where:
        raise SystemExit(f"measured {lines[0]}, not {where}")
    return lines[1:]


def timed_process(args: list[str], code: Path | None) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, env=env_for(code), cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def section_peers(runs: int, rounds: int, code: Path | None, before: Path | None, marginal: int = 0) -> None:
    print(f"\n1. Peers: {runs} policy runs ({SCENARIO}, 217 trusts, 120 months, 2 processes), whole processes")
    entries = {name: (name, code) for name in PEERS}
    if before is not None:
        entries["partnersim (before)"] = ("partnersim", before)
    counts = [runs, marginal] if marginal > runs else [runs]
    times: dict[tuple[str, int], list[float]] = {(name, n): [] for name in entries for n in counts}
    for _ in range(rounds):
        for n in counts:
            for name, (peer, where) in entries.items():
                times[name, n].append(timed_process([__file__, "--peer", peer, "--runs", str(n)], where))
    ours = times["partnersim", runs]
    for name in entries:
        ts = times[name, runs]
        line = f"   {name:<16} seconds {', '.join(f'{t:.1f}' for t in ts)}  runs/s {runs / statistics.median(ts):.1f}"
        if name != "partnersim":
            line += f"  partnersim's speed over it: {ratios_text(ts, ours)}"
        print(line)
    if len(counts) == 2:
        print_marginal(times, list(entries), runs, marginal)


def ratios_text(theirs: list[float], ours: list[float]) -> str:
    """Their times over ours, round by round, and the median: ``1.90, 2.10 (median 2.00x)``."""
    ratios = [t / o for t, o in zip(theirs, ours, strict=True)]
    return f"{', '.join(f'{r:.2f}' for r in ratios)} (median {statistics.median(ratios):.2f}x)"


def print_marginal(times: dict[tuple[str, int], list[float]], names: list[str], small: int, large: int) -> None:
    """Each runner's cost per further run and its fixed cost, from the two run counts, round by round.

    The time of a process is about ``fixed + runs * per_run``; the rounds give ``per_run`` as
    ``(T(large) - T(small)) / (large - small)`` and ``fixed`` as ``T(small) - small * per_run``.
    The ratio of the peers' ``per_run`` to partnersim's is what the whole-process ratio tends to
    as the run count grows and the fixed costs (start-up, imports, the report) weigh nothing.
    """
    print(f"   per further run (from {small} and {large} runs, medians over rounds) and the fixed cost of a process:")
    per_run: dict[str, list[float]] = {}
    for name in names:
        pairs = zip(times[name, small], times[name, large], strict=True)
        per_run[name] = [(big - few) / (large - small) for few, big in pairs]
        fixed = [few - small * p for few, p in zip(times[name, small], per_run[name], strict=True)]
        line = (
            f"   {name:<16} {1000 * statistics.median(per_run[name]):.1f} ms a run (2 processes), "
            f"fixed {statistics.median(fixed):.2f} s"
        )
        if name != "partnersim":
            line += f"  ratio per further run: {ratios_text(per_run[name], per_run['partnersim'])}"
        print(line)


def section_batch() -> None:
    import sim

    specs = [(dict(POLICY), seed) for seed in range(64)]
    sim.run(dict(POLICY), 999, 12)  # warm-up (imports, compiled code)
    out: dict[str, float] = {}
    c0 = time.process_time()
    for spec, seed in specs[:16]:
        sim.run(spec, seed, 120)
    out["sim.run, one at a time"] = (time.process_time() - c0) / 16
    if hasattr(sim, "run_many"):
        sim.run_many(specs[:2], 12)
        keep = sim.Keep(months=(12, 36, 120), metrics=("mean_quality", "share_special_measures"), tables=False)
        c0 = time.process_time()
        sim.run_many(specs, 120, keep=keep)
        out["run_many x64, metrics only"] = (time.process_time() - c0) / 64
        c0 = time.process_time()
        sim.run_many(specs, 120)
        out["run_many x64, series + tables"] = (time.process_time() - c0) / 64
    print("\n2. CPU per policy run (mandated buddying, 217 trusts, 120 months), one core")
    if hasattr(sim.api, "ensemble_size"):
        size = sim.api.ensemble_size(217, 64)
        print(f"   (run_many of 64 runs advances them {size} at a time: sim.api.ENSEMBLE_TRUSTS)")
    base = out["sim.run, one at a time"]
    for name, cpu in out.items():
        print(f"   {name:<32} {1000 * cpu:7.1f} ms   ({base / cpu:.1f}x sim.run)")


def section_sobol(n: int, code: Path | None) -> None:
    """Sobol evaluations at N and 4N in one process; N = 512 extrapolated from the marginal rate.

    Each evaluation starts its own 2-worker pool (start-up, imports and loading the compiled engine
    included), so the difference between the two cancels that fixed cost: the estimate for N = 512 is
    the fixed cost once plus the runs at the marginal rate.
    """
    script = f"""
import time
from analysis.scenario import load_scenario
from analysis.studies.sensitivity import ModelTask, evaluate_design, make_design, parameter_space
import sim
spec = load_scenario({str(ROOT / "scenarios" / (SCENARIO + ".toml"))!r}).spec
space = parameter_space(sim.load_theory())
task = ModelTask(spec, (12, 60, 120), ('mean_quality', 'share_special_measures'))
for n in ({n}, {4 * n}):
    design = make_design(space, 'sobol', n, seed=1)
    t0 = time.perf_counter()
    evaluate_design(task, design.values, design.names, seed=1, reps=1, workers=2, progress=False)
    print(len(design.values), len(design.names), time.perf_counter() - t0)
"""
    (r1, k, t1), (r2, _, t2) = (line.split() for line in run_script(script, code)[-2:])
    runs1, runs2, s1, s2 = int(r1), int(r2), float(t1), float(t2)
    marginal = (runs2 - runs1) / max(s2 - s1, 1e-9)  # runs/s once the pool is up
    fixed = max(s1 - runs1 / marginal, 0.0)
    full = runs1 * 512 / n
    print(f"\n3. Sobol over {k} uncertain parameters, {SCENARIO}, 120 months, 2 workers")
    print(f"   N = {n}: {runs1} runs in {s1:.1f} s; N = {4 * n}: {runs2} runs in {s2:.1f} s")
    per_run = 2000 / marginal
    print(f"   marginal rate {marginal:.1f} runs/s ({per_run:.1f} ms of 2 cores per run), fixed cost {fixed:.1f} s")
    minutes = (fixed + full / marginal) / 60
    print(f"   N = 512: {full:.0f} runs -> {minutes:.1f} min (fixed cost + runs at the marginal rate)")


def section_scaling(code: Path | None) -> None:
    script = """
import time, sim
sim.run({}, 1, 2)
for n in (217, 2000, 20000):
    times = []
    for _ in range(3 if n < 20000 else 1):
        t0 = time.perf_counter()
        sim.run({'n_providers': n}, 1, 120)
        times.append(time.perf_counter() - t0)
    print(n, min(times))
"""
    rows = [line.split() for line in run_script(script, code)]
    print("\n4. Scaling: one baseline run, 120 months")
    base = None
    for n_s, t_s in rows:
        n, t = int(n_s), float(t_s)
        per = t / (n * 120)
        base = base or per
        print(
            f"   {n:>6} trusts  {t:6.2f} s  {1e6 * per:6.2f} us per trust-month  ({per / base:.2f}x the 217-trust rate)"
        )


def section_memory(code: Path | None) -> None:
    script = """
import resource, sim
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if hasattr(sim, 'run_many'):
    sim.run_many([({}, s) for s in range(256)], 120, batch_size=256)
else:
    for s in range(256):
        sim.run({}, s, 120)
print(before / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
    before, peak = (float(x) for x in run_script(script, code)[-1].split())
    print("\n5. Memory: one process running a batch of 256 default runs (series and tables kept)")
    print(f"   peak RSS {peak:.0f} MB (after imports {before:.0f} MB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=120)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sobol-n", type=int, default=8, help="N of the smaller Sobol evaluation (the larger is 4N)")
    ap.add_argument("--only", default="peers,batch,sobol,scaling,memory")
    ap.add_argument("--code", type=Path, default=None, help="run against another checkout (PYTHONPATH)")
    ap.add_argument(
        "--before", type=Path, default=None, help="also time `partnersim run` of this checkout, interleaved"
    )
    ap.add_argument(
        "--marginal",
        type=int,
        default=0,
        help="also time every runner at this many runs, and print each one's cost per further run and fixed cost",
    )
    ap.add_argument("--peer", choices=list(PEERS), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer:
        PEERS[args.peer](args.runs)
        return
    if args.code is not None:
        sys.path.insert(0, str(args.code))
    print(
        f"code: {args.code or ROOT}; CPUs {os.cpu_count()}; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    only = set(args.only.split(","))
    if "peers" in only:
        section_peers(args.runs, args.rounds, args.code, args.before, args.marginal)
    if "batch" in only:
        section_batch()
    if "sobol" in only:
        section_sobol(args.sobol_n, args.code)
    if "scaling" in only:
        section_scaling(args.code)
    if "memory" in only:
        section_memory(args.code)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(json.dumps({"note": "ratios measured side by side; other processes on the machine lower every figure"}))


if __name__ == "__main__":
    main()
