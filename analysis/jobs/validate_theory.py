"""``partnersim validate-theory``: the table of evidence checks for a theory (and optionally a second one)."""

from __future__ import annotations

from pathlib import Path

from analysis.store import atomic_text, check_output_folder
from analysis.studies.validation import format_table, select_checks, validate, validation_html
from sim.theory import load_theory


def run_validation(
    theory: str | None = None,
    *,
    compare: str | None = None,
    replicates: int = 4,
    seed: int = 20220701,
    checks: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | None = None,
    strict: bool = False,
    force: bool = False,
) -> int:
    """Run the checks against ``theory`` (and ``compare``); write CSV and HTML; print the table.

    Args:
        theory: the theory file (default: the default theory).
        compare: a second theory file to show side by side.
        replicates: replicates.
        seed: master seed.
        checks: comma-separated names of the checks to run (default: all).
        workers: worker processes (1 = in this process).
        scheduler: a Dask scheduler address, or ``local``.
        out: the output folder (default: ``results/validation/<theory>``).
        strict: return 1 if any check fails.
        force: replace earlier outputs in ``out`` (else a folder holding files is refused).

    Returns:
        0, or 1 with ``strict`` when a check fails.
    """
    names = [c.strip() for c in checks.split(",")] if checks else None
    if names:
        select_checks(names)
    th = load_theory(theory)
    other_theory = load_theory(compare) if compare else None
    folder = check_output_folder(out or Path("results") / "validation" / Path(th.path).stem, force=force)
    print(f"validating {th.meta.get('name', '')} ({th.path}) over {replicates} replicates …")
    res = validate(th, reps=replicates, seed=seed, checks=names, workers=workers, scheduler=scheduler)
    other = None
    if other_theory is not None:
        print(f"… and {other_theory.meta.get('name', '')} ({other_theory.path})")
        other = validate(other_theory, reps=replicates, seed=seed, checks=names, workers=workers, scheduler=scheduler)
    folder.mkdir(parents=True, exist_ok=True)
    res.table.to_csv(folder / "validation.csv", index=False)
    res.not_tested.to_csv(folder / "not_tested.csv", index=False)
    atomic_text(folder / "validation.html", validation_html(res, compare=other))
    print()
    print(format_table(res))
    if other is not None and other_theory is not None:
        other.table.to_csv(folder / f"validation_{Path(other_theory.path).stem}.csv", index=False)
        print()
        print(format_table(other))
        print("\nside by side (result: this theory | compared theory):")
        both = res.table.set_index("check")[["model", "result"]].merge(
            other.table.set_index("check")[["model", "result"]],
            left_index=True,
            right_index=True,
            suffixes=("", "_other"),
        )
        for name, r in both.iterrows():
            flag = "" if r["result"] == r["result_other"] else "   <- differs"
            print(
                f"  {name:<32}{r['model']:>10} {r['result']:<6} | {r['model_other']:>10} {r['result_other']:<6}{flag}"
            )
    print(f"\nnot tested ({len(res.not_tested)}), see {folder / 'not_tested.csv'}")
    print(f"wrote {folder / 'validation.csv'} and {folder / 'validation.html'}")
    return 1 if strict and res.n_fail else 0
