"""Self-contained HTML report of an experiment, for policymakers (``partnersim report``).

One file, figures as inline PNG (base64) and styles inline, no request leaves the page. It
reads top-down:

1. **Summary**: the theory's evidence status, the caveats (failed runs, few replicates), the
   headline across horizons (short run, year 5, year 10: only differences that pass each
   outcome's minimum important difference), what the results say at the headline month with
   numbers, intervals and verdicts, and what was compared (each scenario in words).
2. **Assumptions**: the theory file, the effect sizes that matter most (from a sensitivity
   analysis in the experiment folder when there is one, otherwise the widest declared ranges)
   with their sources, and the scenarios' own overrides and shocks.
3. **Outcomes over time**: one figure per outcome with median and 50%/90% bands.
4. **Differences from the baseline**: every month, mean and interval per scenario and the
   paired difference, formatted exactly as ``partnersim compare`` prints them, and the
   difference trajectories.
5. **Partnerships**: formed, dissolved and completed per replicate, by type, over time; and the
   realist context-mechanism-outcome tables of :mod:`analysis.studies.realist` (what works for whom).
6. **The causal web** as a diagram (shaded by total-order index when sensitivity exists).
7. **Sensitivity**, **scenario discovery**, **pathway attribution**, saved **CMOC tables** and
   the **validation** table when the folder holds them (or they are given).
8. **Provenance**: versions, commit, seeds, dates.

The numbers come from :mod:`analysis.studies.compare` and the figures from :mod:`analysis.faces.plots`
and :mod:`analysis.faces.diagrams`, the same code as the CLI and the dashboard. Modules: ``data``
(reading the folder), ``fragments`` (tables, sentences, figures; shared with the dashboard),
``sections`` and ``studies`` (the sections), ``render`` (the page).
"""

from analysis.faces.report.data import MARKERS, Extras, ReportData, load_report_data
from analysis.faces.report.fragments import (
    comparison_html_table,
    headline_sentences,
    horizon_html,
    single_scenario_sentences,
)
from analysis.faces.report.render import render, write_report
from analysis.faces.report.sections import partnership_counts
from analysis.faces.report.studies import sensitivity_index

__all__ = [
    "MARKERS",
    "Extras",
    "ReportData",
    "comparison_html_table",
    "headline_sentences",
    "horizon_html",
    "load_report_data",
    "partnership_counts",
    "render",
    "sensitivity_index",
    "single_scenario_sentences",
    "write_report",
]
