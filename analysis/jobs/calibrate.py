"""``partnersim calibrate``: ABC rejection; writes the calibrated theory and the record of every point."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

from analysis.errors import UserError
from analysis.store import check_output_file, check_output_folder
from analysis.studies.calibration import (
    calibrate,
    default_targets,
    format_summary,
    select_params,
    write_record,
    write_theory,
)
from analysis.studies.validation import format_table, select_checks, validate
from sim.theory import load_theory


def run_calibration(
    theory: str | None = None,
    *,
    targets: str | None = None,
    params: str | None = None,
    budget: int = 120,
    replicates: int = 2,
    seed: int = 20220701,
    accept_quantile: float = 0.1,
    min_accept: int = 5,
    refine_replicates: int = 4,
    out: str | None = None,
    record: str | None = None,
    validate_replicates: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    command: Sequence[str] = (),
    force: bool = False,
) -> int:
    """Calibrate ``theory`` against the quantitative checks; write the new theory and the record; return 0.

    Args:
        theory: the base theory file (default: the default theory).
        targets: comma-separated quantitative checks to meet (default: all of them).
        params: comma-separated glob patterns of the parameters to search (default: the usual ones).
        budget: design points.
        replicates: replicates per point.
        seed: seed of the design and replicates.
        accept_quantile: share accepted when too few points meet every target.
        min_accept: least accepted points.
        refine_replicates: re-run the accepted points with this many fresh replicates (0 = no refinement).
        out: the calibrated theory file (default: ``irt_calibrated.toml`` in a new folder
            ``results/calibration/<time>``). A file git tracks is never replaced; another existing
            file only with ``force``.
        record: folder for the record of design points (default: ``results/calibration/<time>``).
        validate_replicates: then validate both theories with this many replicates (0 = skip).
        workers: worker processes (1 = in this process).
        scheduler: a Dask scheduler address, or ``local``.
        command: the command line, for the theory file's header.
        force: replace an existing (untracked) output file, or outputs in the record folder.
    """
    stamp = Path("results") / "calibration" / dt.datetime.now().strftime("%Y-%m-%dT%H%M%S")
    target = Path(out) if out else stamp / "irt_calibrated.toml"
    for path in (target, target.with_name(f"{target.stem}_typology.toml")):
        check_output_file(path, force=force, option="--out", allow_tracked=False, make_parents=True)
    folder = check_output_folder(record or stamp, force=force)
    base = load_theory(theory)
    chosen = select_checks([t.strip() for t in targets.split(",")]) if targets else default_targets()
    not_numeric = [c.name for c in chosen if not c.quantitative]
    if not_numeric:
        raise UserError(
            f"not quantitative (the evidence gives only a direction), so not a calibration target: "
            f"{', '.join(not_numeric)}; choose among "
            f"{', '.join(c.name for c in default_targets())}"
        )
    patterns = [p.strip() for p in params.split(",")] if params else None
    names = select_params(base, patterns)
    print(
        f"calibrating {len(names)} parameters of {base.meta.get('name', '')} against {len(chosen)} targets: "
        f"{budget} design points x {replicates} replicates",
        flush=True,
    )

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty() or done == total or done % max(1, total // 10) == 0:
            print(f"  {done}/{total} design points", file=sys.stderr, flush=True)

    res = calibrate(
        base,
        targets=chosen,
        params=patterns,
        budget=budget,
        reps=replicates,
        seed=seed,
        accept_quantile=accept_quantile,
        min_accept=min_accept,
        refine_reps=refine_replicates,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
    )
    write_record(res, folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    written = write_theory(res, target, record=folder, command=" ".join(command))
    print()
    print(format_summary(res))
    print(f"\nwrote {written} and the record of every design point in {folder}")
    if validate_replicates:
        print(f"\nvalidation of both theories ({validate_replicates} replicates):")
        before = validate(base, reps=validate_replicates, seed=seed, workers=workers, scheduler=scheduler)
        after = validate(
            load_theory(written), reps=validate_replicates, seed=seed, workers=workers, scheduler=scheduler
        )
        print(format_table(before))
        print()
        print(format_table(after))
        before.table.to_csv(folder / "validation_base.csv", index=False)
        after.table.to_csv(folder / "validation_calibrated.csv", index=False)
    return 0
