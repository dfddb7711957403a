"""How well does the theory match the evidence? Named checks against docs/evidence.md.

Each :class:`Check` states one stylized fact (docs/evidence.md#stylized-facts) or quantitative
figure (the sources of docs/evidence.md) that the model can speak to: the evidence and its source, the model
quantity that corresponds to it and why, the runs it needs, and the band the model's value
must fall in to pass. :func:`validate` runs the studies the checks need over replicates with
common random numbers (a policy run and the baseline run of a replicate share a seed) and
returns a table with the model's value and the evidence side by side.

How the bands are set (:attr:`Check.band_rule` says which applies):

* *count*: a share reported as k of n trusts → the Wilson 95% interval of k/n (the evidence's
  own sampling uncertainty);
* *range*: a mean or range reported from a few cases → the reported range widened by 20%;
* *direction*: the evidence gives a direction only (rises, falls, matters) → the sign;
* *stated*: a band stated in the source (e.g. "1-3% of turnover") → that band.

Facts and figures the model cannot speak to are listed in :data:`NOT_TESTED` with the reason,
so the report can say what was *not* checked.

Every check carries a *falsifier*: theory values that should make it fail. The tests run each
check under its falsifier and require a fail, so no check passes by construction.

The package reads as the pipeline: :mod:`.evidence` (the runs the checks need and what a check
sees), :mod:`.checks` (one comparison), :mod:`.statistics` (the model quantity of each check),
the catalogue (:mod:`.catalogue` and its three parts), :mod:`.run` (running and saving the
checks) and :mod:`.present` (text and HTML).
"""

from analysis.studies.validation.catalogue import CHECK_NAMES, CHECKS, NOT_TESTED
from analysis.studies.validation.checks import Check
from analysis.studies.validation.evidence import (
    DEFAULT_REPS,
    DEFAULT_SEED,
    HORIZON,
    STUDIES,
    Evidence,
    Study,
    history,
    spells_from_history,
    turnover,
)
from analysis.studies.validation.present import format_table, validation_html
from analysis.studies.validation.run import (
    ValidationResult,
    applicable,
    display_path,
    evaluate,
    evidence_status,
    load_validation,
    run_evidence,
    save_validation,
    seeds_for,
    select_checks,
    validate,
)
from analysis.studies.validation.statistics import stat_merger_no_gain

__all__ = [
    "CHECKS",
    "CHECK_NAMES",
    "DEFAULT_REPS",
    "DEFAULT_SEED",
    "HORIZON",
    "NOT_TESTED",
    "STUDIES",
    "Check",
    "Evidence",
    "Study",
    "ValidationResult",
    "applicable",
    "display_path",
    "evaluate",
    "evidence_status",
    "format_table",
    "history",
    "load_validation",
    "run_evidence",
    "save_validation",
    "seeds_for",
    "select_checks",
    "spells_from_history",
    "stat_merger_no_gain",
    "turnover",
    "validate",
    "validation_html",
]
