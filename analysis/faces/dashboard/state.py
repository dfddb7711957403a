"""Session state shared by the pages (Solara reactive variables: one value per browser session)."""

from __future__ import annotations

import solara

from analysis.faces.dashboard import jobs

WATCH_DEFAULT = "mandated_buddying"  # something happens from month 1 (the baseline forms few partnerships)

scenario_name = solara.reactive(WATCH_DEFAULT)
theory_edits: solara.Reactive[dict[str, float]] = solara.reactive({})
library_version = solara.reactive(0)  # bumped when a scenario is saved: pages read the library again
compare_baseline = solara.reactive("baseline")
compare_policies: solara.Reactive[list[str]] = solara.reactive(["mandated_mergers", "mandated_buddying"])
compare_replicates = solara.reactive(jobs.DEFAULT_REPLICATES)
compare_horizon = solara.reactive(jobs.DEFAULT_HORIZON)
compare_progress: solara.Reactive[tuple[int, int]] = solara.reactive((0, 0))
