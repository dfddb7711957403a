#!/usr/bin/env python3
"""Mutation testing of sim/: apply one meaningful change at a time, run the tests, count the kills.

Each mutation is a small edit a developer could plausibly make by mistake (a sign, a missing
term, an off-by-one month, the wrong partner chosen), written as an exact text replacement in
one file of ``sim/``. For each mutation the script applies it, runs the test command (by default
every test that runs the model, fast set), and restores the file. A mutation is *killed* when
the tests fail, *survives* when they pass.

Usage::

    .venv/bin/python scripts/mutate.py                      # every mutation, write benchmarks/out/mutation.md
    .venv/bin/python scripts/mutate.py --only relations     # mutations whose name contains 'relations'
    .venv/bin/python scripts/mutate.py --tests tests/test_mechanisms.py --list
    .venv/bin/python scripts/mutate.py --only ensemble --tests tests/test_engine.py -- -k batch -x
                                                            # after ``--``: more pytest arguments

The list of mutations, with the reason for every known survivor, is :data:`MUTATIONS` in
``scripts/mutations.py``. The result table is written to ``docs/mutation.md``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from mutations import MUTATIONS, SURVIVORS, Mutation  # noqa: E402

# The behavioural tests of the model first (pytest -x stops at the first failure, so a killed mutation
# costs only the tests up to it), then the rest of the fast suite. Every file is named: pytest 9
# collects files named beside their folder (``tests/``) in the folder's order, not the order given.
FIRST = ["test_rules", "test_mechanisms", "test_directional", "test_dynamics_reference", "test_engine"]
FIRST += ["test_stylized_facts", "test_validation", "test_properties", "test_reproducibility"]
REST = sorted(p.stem for p in (ROOT / "tests").glob("test_*.py") if p.stem not in FIRST)
DEFAULT_TESTS = ["-m", "not slow", *(f"tests/{name}.py" for name in [*FIRST, *REST])]
# Browser tests are slow and do not test the model; the golden test catches any change of results by
# construction, so it is left out: the kill rate measures whether behavioural tests notice the mistake.
# The executor and store tests (process pools, Dask, kill -9 and resume) test no model logic and
# have timeouts that a loaded machine can trip, so they are left out too.
IGNORE = [
    "--ignore=tests/test_dashboard_browser.py",
    "--ignore=tests/test_report_browser.py",
    "--ignore=tests/test_golden.py",
    "--ignore=tests/test_runner.py",
    "--ignore=tests/test_store.py",
]


def apply(m: Mutation) -> str:
    """Apply ``m``; return the original text of its file (raises if the anchor is not found once)."""
    path = ROOT / m.file
    text = path.read_text()
    count = text.count(m.old)
    if count != 1:
        raise SystemExit(f"mutation {m.name}: expected the text once in {m.file}, found it {count} times")
    path.write_text(text.replace(m.old, m.new))
    return text


def run_tests(args: list[str], timeout: float) -> tuple[bool, float, str]:
    """Run pytest; return (passed, seconds, last line)."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *IGNORE, *args]
    start = time.monotonic()
    try:
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, time.monotonic() - start, "timeout (counted as killed)"
    lines = [ln for ln in out.stdout.splitlines() if ln.strip()]
    failed = [ln.split(" - ")[0].removeprefix("FAILED ") for ln in lines if ln.startswith(("FAILED ", "ERROR "))]
    return out.returncode == 0, time.monotonic() - start, failed[0] if failed else (lines[-1] if lines else "")


def main(argv: list[str] | None = None) -> int:
    """Run the mutations; print and write the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", help="run only mutations whose name contains this text")
    p.add_argument(
        "--tests", nargs="*", help="pytest arguments (default: the fast suite); options that start with '-' go after --"
    )
    p.add_argument("--list", action="store_true", help="list the mutations and exit")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per test run (a timeout kills)")
    p.add_argument("--out", default=str(ROOT / "docs" / "mutation.md"), help="where to write the table")
    p.add_argument(
        "--ignore", action="append", default=[], metavar="TEST_FILE", help="leave this test file out too (repeatable)"
    )
    p.add_argument("--reverse", action="store_true", help="last mutation first (a second runner on another core)")
    p.add_argument("--no-baseline", action="store_true", help="skip the unmutated run (another runner did it)")
    p.add_argument("--table-from", nargs="+", metavar="LOG", help="write the table from these runners' printouts")
    argv = sys.argv[1:] if argv is None else list(argv)
    extra: list[str] = []  # after "--": pytest's own options (argparse would take them for its own)
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    args = p.parse_args(argv)
    if args.table_from:
        write_table(rows_from_logs([Path(log) for log in args.table_from]), Path(args.out), " ".join(DEFAULT_TESTS))
        return 0
    chosen = [m for m in MUTATIONS if not args.only or args.only in m.name]
    if not chosen:
        p.error(f"no mutation's name contains {args.only!r} (--list shows them)")
    if args.reverse:
        chosen.reverse()
    if args.list:
        for m in chosen:
            print(f"{m.name:<45}{m.file:<22}{m.what}")
        return 0
    for m in chosen:  # check every anchor before running anything
        text = (ROOT / m.file).read_text()
        if text.count(m.old) != 1:
            raise SystemExit(f"mutation {m.name}: anchor found {text.count(m.old)} times in {m.file}")
    tests = [*(args.tests if args.tests else DEFAULT_TESTS), *extra, *(f"--ignore={path}" for path in args.ignore)]
    if not args.no_baseline:
        baseline_ok, secs, last = run_tests(tests, args.timeout)
        if not baseline_ok:
            raise SystemExit(f"the tests fail before any mutation: {last}")
        print(f"unmutated: pass ({secs:.0f} s)")
    rows = []
    for m in chosen:
        original = apply(m)
        try:
            passed, secs, last = run_tests(tests, args.timeout)
        finally:
            (ROOT / m.file).write_text(original)
        status = "SURVIVED" if passed else "killed"
        rows.append((m, status, last))
        print(f"{status:<9}{m.name:<45}{secs:5.0f} s  {last if not passed else ''}", flush=True)
    killed = sum(1 for _, s, _ in rows if s == "killed")
    rate = killed / len(rows) if rows else float("nan")
    print(f"\n{killed} of {len(rows)} mutations killed ({rate:.0%})")
    if not args.only and not args.reverse:
        write_table(rows, Path(args.out), " ".join(tests))
    return 0


def rows_from_logs(logs: list[Path]) -> list[tuple[Mutation, str, str]]:
    """The rows the runners printed (``killed NAME SECONDS s TEST`` or ``SURVIVED NAME SECONDS s``), in list order.

    Every mutation must appear in some log: a table of part of the list would overstate nothing but
    would not be the table of the list.
    """
    seen: dict[str, tuple[str, str]] = {}
    for log in logs:
        for line in log.read_text().splitlines():
            parts = line.split(None, 4)
            if len(parts) >= 4 and parts[0] in ("killed", "SURVIVED") and parts[3] == "s":
                seen[parts[1]] = (parts[0], parts[4] if len(parts) > 4 else "")
    missing = [m.name for m in MUTATIONS if m.name not in seen]
    if missing:
        raise SystemExit(f"no result for {len(missing)} mutation(s) in the logs: {', '.join(missing)}")
    return [(m, *seen[m.name]) for m in MUTATIONS]


EQUALITY_TESTS = ("tests/test_engine.py::", "test_whole_model_runs_the_same_through_the_reference")
"""Tests that hold the compiled engine equal to its numpy reference: they kill any one-sided change by construction."""


def write_table(rows: list[tuple[Mutation, str, str]], out: Path, tests: str) -> None:
    """The kill table in Markdown: kills by behavioural tests apart from kills by an equality test only."""
    killed = [last for _, s, last in rows if s == "killed"]
    by_equality = sum(1 for last in killed if any(e in last for e in EQUALITY_TESTS))
    lines = [
        "# Mutation testing of sim/",
        "",
        f"**{len(killed)} of {len(rows)} mutations killed ({len(killed) / len(rows):.0%})**; "
        f"{len(killed) - by_equality} of the kills come from behavioural tests and {by_equality} only from a test "
        "that holds the compiled engine equal to its numpy reference, which notices any one-sided change of a "
        "kernel by construction (the run stops at its first failing test, so later behavioural tests may catch "
        "those too; not measured). Survivors are listed with their reason.",
        "",
        "How it is run: each mutation is one meaningful change to the model, applied alone; every mutation "
        "recompiles the kernels (`sim/compile_cache.py`). The tests are `pytest " + tests + "` without the browser "
        "tests, the golden test (`tests/test_golden.py` fails on any change of results, so it would kill every "
        "mutation by construction) and the executor and store tests (no model logic; timeouts a loaded machine can "
        "trip). The mutations of `sim/kernels.py` (the compiled loops the engine runs) are run with `--ignore "
        "tests/test_engine.py`, which compares every compiled stage with its numpy function and so kills any change "
        "to one side by construction.",
        "",
        "Rerun: `.venv/bin/python scripts/mutate.py` (2-5 minutes per mutation on 2 cores; `--only NAME` for one; "
        "`--reverse --no-baseline` for a second runner on the other core; `--table-from LOG…` writes this table from "
        "the runners' printouts, later logs overriding earlier ones). The mutations are in `scripts/mutations.py`.",
        "",
        "| result | mutation | file | what it breaks | first failing test / reason it survives |",
        "|---|---|---|---|---|",
    ]
    for m, status, last in rows:
        note = SURVIVORS.get(m.name, "") if status == "SURVIVED" else last.replace("|", "/")
        if status == "killed" and any(e in last for e in EQUALITY_TESTS):
            status = "killed (equality test only)"
        lines.append(f"| {status} | `{m.name}` | {m.file} | {m.what} | {note} |")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    raise SystemExit(main())
