"""Speed of the model: medians over repeated runs, side by side (not a test; nothing is asserted).

Reports
  1. one default run (217 providers, 120 months) for the baseline and policy scenarios:
     wall time (median of N runs after a warm-up) and peak traced memory (tracemalloc);
  2. the same runs with the domain dynamics through the per-agent reference
     (tests/reference.py, swapped in as ``model.update_domains``) and the ratio;
  3. scaling at 217, 2,000 and 20,000 providers: time per run and per provider-month, and
     the growth of the per-provider time relative to 217 (1.0 = linear; > 1 = superlinear).

Targets (issue 2): default run well under 100 ms; >= 15x faster than the per-agent
reference; time growing no faster than linearly in providers.

    .venv/bin/python benchmarks/bench_model.py            # full (a few minutes)
    .venv/bin/python benchmarks/bench_model.py --quick    # fewer repeats, smaller top size
    .venv/bin/python benchmarks/bench_model.py --profile  # also cProfile hot spots
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import platform
import pstats
import statistics
import sys
import time
import timeit
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
if "--blas-threads" in sys.argv:  # must be set before numpy loads OpenBLAS
    _threads = sys.argv[sys.argv.index("--blas-threads") + 1]
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _threads

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import reference  # noqa: E402  (tests/reference.py: the per-agent oracle)

import sim  # noqa: E402
from sim.api import LOG_COLUMNS, build_model  # noqa: E402

HORIZON = 120
SCENARIOS: dict[str, dict[str, Any]] = {
    "baseline": {},
    "failure_regime": {"failure_regime_enabled": True},
    "voluntary": {"voluntary_enabled": True, "voluntary_type_mix": {"network": 1.0, "group": 1.0, "merger": 1.0}},
}


def one_run(flat: dict[str, Any], seed: int, n: int | None = None, *, per_agent: bool = False) -> pd.DataFrame:
    """Everything ``sim.run`` does (build, step to the horizon, series and log as DataFrames),
    optionally with the domain update done by the per-agent reference."""
    model = build_model({**flat, "n_providers": n} if n else flat, seed, HORIZON)
    if per_agent:
        reference.use_reference(model)
    while model.running:
        model.step()
    series = model.datacollector.get_model_vars_dataframe()
    pd.DataFrame(model.partnership_log(), columns=LOG_COLUMNS)
    return series


CPU: list[float] = []  # CPU seconds of the calls timed last (process_time: all threads of this process)


def timed(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> list[float]:
    """Wall times of ``repeats`` calls after ``warmup`` untimed ones (GC collected before each).

    The CPU times of the same calls are left in ``CPU``: on a busy machine the wall time
    includes waiting for a core, the CPU time does not.
    """
    for _ in range(warmup):
        fn()
    out = []
    CPU.clear()
    for _ in range(repeats):
        gc.collect()
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
        CPU.append(time.process_time() - c0)
    return out


def peak_memory_mb(fn: Callable[[], Any]) -> float:
    """Peak memory traced by tracemalloc during one call (Python and numpy allocations), MB."""
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def rss_mb() -> float:
    """Peak resident set size of this process so far, MB (Linux reports KB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f}"


def section_default(repeats: int, ref_repeats: int) -> list[dict[str, Any]]:
    rows = []
    for name, flat in SCENARIOS.items():
        seeds = iter(range(10_000))
        fast = timed(lambda flat=flat, seeds=seeds: one_run(flat, next(seeds)), repeats)
        fast_cpu = statistics.median(CPU)
        api = timed(lambda flat=flat, seeds=seeds: sim.run(flat, next(seeds)), repeats)
        seeds_ref = iter(range(10_000))
        slow = timed(lambda flat=flat, seeds=seeds_ref: one_run(flat, next(seeds), per_agent=True), ref_repeats)
        slow_cpu = statistics.median(CPU)
        mem = peak_memory_mb(lambda flat=flat: one_run(flat, 0))
        rows.append(
            {
                "scenario": name,
                "fast": statistics.median(fast),
                "fast_min": min(fast),
                "api": statistics.median(api),
                "ref": statistics.median(slow),
                "mem": mem,
                "fast_cpu": fast_cpu,
                "ref_cpu": slow_cpu,
                "n_fast": len(fast),
                "n_ref": len(slow),
            }
        )
    print("\n1-2. One default run: 217 providers, 120 months (median of N after a warm-up)")
    head = (
        f"{'scenario':<16}{'vectorised ms':>15}{'(min)':>9}{'(CPU)':>9}{'sim.run ms':>12}{'per-agent ref ms':>18}"
        f"{'(CPU)':>9}{'ratio':>8}{'(CPU)':>8}{'peak MB':>9}{'N':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['scenario']:<16}{fmt_ms(r['fast']):>15}{fmt_ms(r['fast_min']):>9}{fmt_ms(r['fast_cpu']):>9}"
            f"{fmt_ms(r['api']):>12}{fmt_ms(r['ref']):>18}{fmt_ms(r['ref_cpu']):>9}{r['ref'] / r['fast']:>7.1f}x"
            f"{r['ref_cpu'] / r['fast_cpu']:>7.1f}x{r['mem']:>9.1f}{r['n_fast']:>5}/{r['n_ref']}"
        )
    return rows


def section_scaling(sizes: list[int], repeats: dict[int, int]) -> list[dict[str, Any]]:
    rows = []
    for name in ("baseline", "failure_regime", "voluntary"):
        flat = SCENARIOS[name]
        row: dict[str, Any] = {"scenario": name}
        for n in sizes:
            seeds = iter(range(10_000))
            ts = timed(
                lambda n=n, flat=flat, seeds=seeds: one_run(flat, next(seeds), n),
                repeats[n],
                warmup=1 if n <= 2000 else 0,
            )
            row[n] = statistics.median(ts)
            row[("cpu", n)] = statistics.median(CPU)
        rows.append(row)
    print(
        f"\n3. Scaling with providers ({HORIZON} months; median wall time per run; CPU µs per provider-month;"
        " growth = CPU per provider relative to n=217, and from the last size but one to the last;"
        " 1.0 = linear, > 1 = superlinear)"
    )
    head = (
        f"{'scenario':<16}"
        + "".join(f"{f'n={n:,} ms':>14}" for n in sizes)
        + "".join(f"{f'µs/pm @{n:,}':>15}" for n in sizes)
        + "".join(f"{f'growth @{n:,}':>15}" for n in sizes[1:])
        + f"{f'{sizes[-2]:,} -> {sizes[-1]:,}':>17}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        per = {n: r[("cpu", n)] / (n * HORIZON) * 1e6 for n in sizes}
        print(
            f"{r['scenario']:<16}"
            + "".join(f"{fmt_ms(r[n]):>14}" for n in sizes)
            + "".join(f"{per[n]:>15.3f}" for n in sizes)
            + "".join(f"{per[n] / per[sizes[0]]:>15.2f}" for n in sizes[1:])
            + f"{per[sizes[-1]] / per[sizes[-2]]:>17.2f}"
        )
    return rows


def section_update(sizes: list[int]) -> None:
    """The domain update alone (one call, random state), vectorised and per-agent."""
    from sim.dynamics import update_domains, web_arrays

    web = web_arrays(sim.load_theory())
    rng = np.random.default_rng(0)
    print("\n4. The domain update alone, per call (best of 5 timings; ns per provider; per-agent at the first size)")
    head = f"{'providers':>10}{'vectorised µs':>15}{'ns/provider':>13}{'per-agent µs':>14}{'ratio':>8}"
    print(head)
    print("-" * len(head))
    for i, n in enumerate(sizes):
        d, e = len(web.rate), len(web.src)
        state = [
            rng.random((n, d)),
            rng.random((n, d)),
            rng.random((n, d)),
            rng.random((n, e)) * 0.1,
            np.zeros((n, d)),
            np.zeros((n, d)),
        ]
        reps = max(3, 200_000 // n)
        fast = min(timeit.repeat(lambda state=state: update_domains(*state, web), number=reps, repeat=5)) / reps
        ref = (
            min(timeit.repeat(lambda state=state: reference.update_domains(*state, web), number=1, repeat=3))
            if i == 0
            else float("nan")
        )
        ref_cols = f"{ref * 1e6:>14,.0f}{ref / fast:>7.0f}x" if i == 0 else f"{'-':>14}{'-':>8}"
        print(f"{n:>10,}{fast * 1e6:>15.1f}{fast / n * 1e9:>13.1f}{ref_cols}")


def profile(flat: dict[str, Any], n: int | None, label: str, top: int = 15) -> None:
    prof = cProfile.Profile()
    prof.enable()
    for seed in range(3):
        one_run(flat, seed, n)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
    print(f"\ncProfile, 3 runs of {label} (sorted by own time):")
    print("\n".join(line for line in buf.getvalue().splitlines()[4:] if line.strip()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats; scale to 2,000 and 20,000 once")
    parser.add_argument("--profile", action="store_true", help="print cProfile hot spots too")
    parser.add_argument("--blas-threads", default=None, help="BLAS threads (default: the library's choice)")
    parser.add_argument("--sizes", default="217,2000,20000", help="population sizes for the scaling table")
    args = parser.parse_args()
    repeats, ref_repeats = (7, 2) if args.quick else (21, 5)
    sizes = [int(x) for x in args.sizes.split(",")]
    scale_repeats = {
        n: (7 if n <= 500 else 3 if n <= 5_000 else 1) if args.quick else (15 if n <= 500 else 5 if n <= 5_000 else 3)
        for n in sizes
    }

    print(
        f"partnersim {sim.__version__} benchmark — Python {platform.python_version()}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs, BLAS threads {args.blas_threads or 'default'}, "
        f"load average {os.getloadavg()[0]:.2f} (other work on the machine inflates wall times; CPU times less so)"
    )
    rows = section_default(repeats, ref_repeats)
    scaling = section_scaling(sizes, scale_repeats)
    section_update(sizes)

    growth = max(r[("cpu", sizes[-1])] / sizes[-1] / (r[("cpu", sizes[0])] / sizes[0]) for r in scaling)
    growth_top = max(r[("cpu", sizes[-1])] / sizes[-1] / (r[("cpu", sizes[-2])] / sizes[-2]) for r in scaling)
    print("\nTargets")
    print(
        "  default run well under 100 ms:       "
        + ", ".join(f"{r['scenario']} {fmt_ms(r['fast'])} ms (CPU {fmt_ms(r['fast_cpu'])})" for r in rows)
    )
    print(
        "  >= 15x faster than per-agent ref:    "
        + ", ".join(
            f"{r['scenario']} {r['ref'] / r['fast']:.1f}x (CPU {r['ref_cpu'] / r['fast_cpu']:.1f}x)" for r in rows
        )
    )
    print(
        f"  no faster than linear in providers:  worst CPU-per-provider growth {sizes[0]:,} -> {sizes[-1]:,}: "
        f"{growth:.2f}x; {sizes[-2]:,} -> {sizes[-1]:,}: {growth_top:.2f}x"
    )
    print(f"  process peak RSS: {rss_mb():,.0f} MB")
    if args.profile:
        profile({}, None, "the baseline at 217 providers")
        profile(SCENARIOS["failure_regime"], None, "the failure regime at 217 providers")
        profile(SCENARIOS["failure_regime"], sizes[-1], f"the failure regime at {sizes[-1]:,} providers")


if __name__ == "__main__":
    main()
