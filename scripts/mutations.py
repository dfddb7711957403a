"""The mutations scripts/mutate.py applies to sim/, one at a time.

Each is a meaningful mistake: a sign, a missing term of an arrow of the theory, a phase that ends
a month late, the wrong partner chosen. ``old`` must occur exactly once in ``file``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutation:
    """One change to the model: replace ``old`` by ``new`` in ``file``."""

    name: str
    file: str
    old: str
    new: str
    what: str


M = Mutation
MUTATIONS: tuple[Mutation, ...] = (
    # -- typology and phases ------------------------------------------------------------------
    M(
        "types.all_reversible",
        "sim/registry.py",
        "reversible=np.array([t.reversible for t in types]),",
        "reversible=np.ones(len(types), dtype=bool),",
        "every type made reversible",
    ),
    M(
        "phases.end_a_month_late",
        "sim/kernels.py",
        "g[PHASE_END, p] <= month",
        "g[PHASE_END, p] < month",
        "a phase ends a month late",
    ),
    M(
        "phases.approval_lever_ignored",
        "sim/registry.py",
        "approval = np.where(needs, float(approval_override), approval)",
        "approval = approval",
        "the approval-time lever is ignored",
    ),
    # -- mechanisms ---------------------------------------------------------------------------
    M(
        "relations.conflict_ignores_gap",
        "sim/relations.py",
        "m.conflict_w_gap * gap",
        "m.conflict_w_gap * 0.0",
        "cultural gap no longer raises conflict",
    ),
    M(
        "relations.no_trust_erosion",
        "sim/relations.py",
        "erode = m.trust_erosion * conflict * trust",
        "erode = 0.0 * conflict * trust",
        "conflict no longer erodes trust",
    ),
    M(
        "relations.noisy_or_risk",
        "sim/relations.py",
        "return m.risk_w_trust * trust + (1.0 - m.risk_w_trust) * confidence",
        "return 1.0 - (1.0 - trust) * (1.0 - confidence)",
        "the saturating noisy-OR risk threshold is back",
    ),
    M(
        "relations.confidence_no_ceiling",
        "sim/relations.py",
        "return m.confidence_ceiling * unit(",
        "return unit(",
        "confidence can reach 1",
    ),
    M(
        "relations.legal_ignored",
        "sim/relations.py",
        " + m.trust_w_legal * legal",
        "",
        "legal agreements no longer raise initial trust",
    ),
    M(
        "relations.same_ics_ignored",
        "sim/relations.py",
        " + m.trust_w_same_ics * same_ics)",
        ")",
        "a shared ICS no longer raises initial trust",
    ),
    M(
        "relations.mandate_raises_faith",
        "sim/relations.py",
        "m.faith_init - m.faith_w_mandate * mandated",
        "m.faith_init + m.faith_w_mandate * mandated",
        "a mandate raises initial faith",
    ),
    M(
        "relations.absence_ignored",
        "sim/relations.py",
        "* (1.0 - m.faith_w_absence * absence)",
        "",
        "absent partners no longer lower faith",
    ),
    M(
        "relations.instability_ignored",
        "sim/relations.py",
        "progress * (1.0 - m.faith_w_instability * instability)",
        "progress",
        "workforce instability no longer lowers faith",
    ),
    M(
        "relations.leadership_ignored_in_trust",
        "sim/relations.py",
        "np.maximum(1.0 + m.trust_w_leadership * leadership, 0.0)",
        "1.0",
        "leadership behaviour no longer speeds trust",
    ),
    M(
        "relations.ambition_sign",
        "sim/relations.py",
        "+ m.progress_w_ambition * ambition",
        "- m.progress_w_ambition * ambition",
        "ambitious aims lower perceived progress (the old sign)",
    ),
    M(
        "relations.conflict_not_slowing_progress",
        "sim/relations.py",
        "\n        - m.progress_w_conflict * conflict\n",
        "\n",
        "conflict no longer slows perceived progress",
    ),
    M(
        "relations.ambition_ignores_trust",
        "sim/relations.py",
        " + m.ambition_w_trust * (trust0 - m.trust_init)",
        "",
        "initial trust no longer raises ambition",
    ),
    M(
        "relations.behaviour_ignores_faith",
        "sim/relations.py",
        "return m.behaviour_w_risk * risk + (1.0 - m.behaviour_w_risk) * faith",
        "return risk",
        "faith no longer drives collaborative behaviour",
    ),
    M(
        "registry.no_dissolution_penalty",
        "sim/registry.py",
        'left = self.trust[p] * (1.0 - m.dissolution_trust_penalty) if reason == "inertia" else self.trust[p]',
        "left = self.trust[p]",
        "dissolution leaves no trust penalty",
    ),
    M(
        "registry.memory_lost",
        "sim/registry.py",
        "for a, b in combinations(_ints(members), 2):",
        "for a, b in ():",
        "past partnerships are not remembered",
    ),
    # -- partnership input --------------------------------------------------------------------
    M(
        "dynamics.convergence_ignores_behaviour",
        "sim/kernels.py",
        "realised = f[BEHAVIOUR, p] * f[REALISATION, p]\n                scaled",
        "realised = f[REALISATION, p]\n                scaled",
        "convergence ignores collaborative behaviour",
    ),
    M(
        "dynamics.convergence_ignores_realisation",
        "sim/kernels.py",
        "realised = f[BEHAVIOUR, p] * f[REALISATION, p]\n                scaled",
        "realised = f[BEHAVIOUR, p]\n                scaled",
        "convergence ignores the realisation draw",
    ),
    M(
        "dynamics.best_practice_pulls_down",
        "sim/kernels.py",
        "gap = max(gap, 0.0)",
        "gap = gap",
        "'best practice' convergence pulls members down",
    ),
    M(
        "dynamics.offsets_ignore_realisation",
        "sim/kernels.py",
        "realised = f[BEHAVIOUR, p] * f[REALISATION, p]\n        conflict",
        "realised = f[BEHAVIOUR, p]\n        conflict",
        "savings and synergy ignore the realisation draw",
    ),
    M(
        "dynamics.savings_from_formation",
        "sim/kernels.py",
        "_ramp(float(month - g[COMPLETION, p]), pa.savings_lag)",
        "_ramp(float(month - g[2, p]), pa.savings_lag)",
        "savings ramp from formation, not completion",
    ),
    M(
        "dynamics.disruption_ignores_conflict",
        "sim/kernels.py",
        "factor = 1.0 + pa.disruption_w_conflict * conflict",
        "factor = 1.0",
        "the transition dip no longer grows with conflict",
    ),
    M(
        "dynamics.no_persistence",
        "sim/kernels.py",
        "factor = pa.disruption_persistence * conflict",
        "factor = 0.0 * conflict",
        "unresolved conflict costs nothing once operating",
    ),
    M(
        "dynamics.lead_gains",
        "sim/kernels.py",
        "out[o, 3, d] += -lead_cost[r, d]",
        "out[o, 3, d] += lead_cost[r, d]",
        "the lead of a mandated support gains instead of paying",
    ),
    M(
        "dynamics.synergy_ignores_effect",
        "sim/kernels.py",
        "out[o, 0, d] += (pa.synergy * t_effects[r, k, d]) * realised",
        "out[o, 0, d] += pa.synergy * realised",
        "synergy acts on every domain",
    ),
    M(
        "dynamics.no_noise",
        "sim/kernels.py",
        "return min(max(x + (rate * (target - x) + z * sd), 0.0), 1.0)",
        "return min(max(x + (rate * (target - x) + 0.0 * z * sd), 0.0), 1.0)",
        "providers' idiosyncratic noise is dropped",
    ),
    M(
        "dynamics.signals_ignore_start",
        "sim/kernels.py",
        "delta[d, i] = x[i, d] - x0[i, d]",
        "delta[d, i] = x[i, d]",
        "edges carry levels, not changes",
    ),
    M(
        "dynamics.no_lags",
        "sim/dynamics.py",
        "alpha = np.where(lag > 0, -np.expm1(-1.0 / np.where(lag > 0, lag, 1.0)), 1.0)",
        "alpha = np.ones_like(lag)",
        "every edge acts without its lag",
    ),
    # -- formation and policy -----------------------------------------------------------------
    M(
        "formation.worst_partner",
        "sim/formation.py",
        "partner = int(pool[np.argmax(quality[pool])])",
        "partner = int(pool[np.argmin(quality[pool])])",
        "the failure regime picks the worst capable partner",
    ),
    M(
        "formation.capacity_ignored",
        "sim/formation.py",
        "& (ledger.mandated_led < lever.partner_capacity)",
        "& (ledger.mandated_led < 10**6)",
        "a partner's capacity limit is ignored",
    ),
    M(
        "formation.ics_first_ignored",
        "sim/formation.py",
        "if lever.same_ics_first:",
        "if False:",
        "partners are never sought in the failing trust's ICS first",
    ),
    M(
        "events.worst_partner",
        "sim/event_kernels.py",
        "if best < 0 or levels[r, p, q_col] > levels[r, best, q_col]:",
        "if best < 0 or levels[r, p, q_col] < levels[r, best, q_col]:",
        "the compiled failure regime (batches) picks the worst capable partner",
    ),
    M(
        "events.capacity_ignored",
        "sim/event_kernels.py",
        "                and mandated_led[r, i] < capacity[r]\n",
        "                and mandated_led[r, i] < 10**6\n",
        "the compiled failure regime ignores a partner's capacity at the month's start",
    ),
    M(
        "events.ics_first_ignored",
        "sim/event_kernels.py",
        "            if same_ics_first[r]:",
        "            if False:",
        "the compiled failure regime never looks in the failing trust's ICS first",
    ),
    M(
        "formation.duty_a_month_late",
        "sim/formation.py",
        "model.month < lever.start_month",
        "model.month <= lever.start_month",
        "the collaborative duty starts a month late",
    ),
    M(
        "formation.hazard_ignores_pressure",
        "sim/formation.py",
        'hazard = base * (1.0 + th.v("formation.pressure_sensitivity") * pressure)',
        "hazard = base * (1.0 + 0.0 * pressure)",
        "the voluntary hazard ignores pressure",
    ),
    M(
        "formation.prior_trust_lowers_score",
        "sim/formation.py",
        '+ th.v("formation.w_prior_trust") * prior',
        '- th.v("formation.w_prior_trust") * prior',
        "prior trust lowers the partner score",
    ),
    M(
        "formation.never_recover",
        "sim/kernels.py",
        "recovered = ends_on_recovery[r, k] and client >= 0",
        "recovered = ends_on_recovery[r, k] and client < -1",
        "mandated supports never end on recovery",
    ),
    M(
        "formation.inertia_at_once",
        "sim/kernels.py",
        "g[INERTIA_RUN, p] >= inertia_months[r]",
        "g[INERTIA_RUN, p] >= 1",
        "one month of inertia dissolves a partnership",
    ),
    M(
        "start.no_groups",
        "sim/start_kernels.py",
        "if 2 * formed + 2 > want:",
        "if True:",
        "the July 2022 groups are not seeded",
    ),
    M(
        "start.collaboratives_always_mandated",
        "sim/formation.py",
        "mandated=duty.enabled, ages=ages)",
        "mandated=True, ages=ages)",
        "the 2022 collaboratives never lapse, duty or not",
    ),
    M(
        "model.support_fund_raises_costs",
        "sim/world.py",
        "1.0 - levers.support_fund.share",
        "1.0 + levers.support_fund.share",
        "the support fund raises transaction costs",
    ),
    M(
        "policy.shock_sign",
        "sim/policy.py",
        "return self.size * min(1.0,",
        "return -self.size * min(1.0,",
        "an external shock helps instead of hurting",
    ),
    # -- regulation ---------------------------------------------------------------------------
    M(
        "regulation.no_finance_entry",
        "sim/kernels.py",
        "below_e[r, i] = below_e[r, i] + 1 if e < g.entry_efficiency else 0",
        "below_e[r, i] = below_e[r, i] + 1 if e < -1.0 else 0",
        "special measures no longer entered on finance",
    ),
    M(
        "regulation.no_support",
        "sim/kernels.py",
        "delta = support[r, d] * max(standard[r, d] - x[i, d], 0.0)",
        "delta = 0.0 * support[r, d] * max(standard[r, d] - x[i, d], 0.0)",
        "trusts in special measures get no standard support",
    ),
    M(
        "regulation.entry_a_month_early",
        "sim/kernels.py",
        "due = (1 if below_q[r, i] >= g.entry_months else 0)",
        "due = (1 if below_q[r, i] >= g.entry_months - 1 else 0)",
        "special measures entered a month early",
    ),
    M(
        "regulation.exit_ignores_finance",
        "sim/kernels.py",
        "(c & 2) == 0 or e >= g.entry_efficiency + g.exit_margin",
        "(c & 2) == 0 or e >= -1.0",
        "exit without recovering on finance",
    ),
    # -- population ---------------------------------------------------------------------------
    M(
        "population.no_common_loading",
        "sim/population.py",
        "z = np.sqrt(rho) * common + np.sqrt(1.0 - rho) * own",
        "z = own",
        "starting levels no longer correlated across domains",
    ),
    # -- the ensemble (runs advanced together) ---------------------------------------------------
    # Each of these changes some run's results only when it runs beside others (or only in some
    # batch composition): a run alone (an ensemble of one) is its own first run.
    M(
        "ensemble.mechanisms_of_the_first_run",
        "sim/ensemble.py",
        "self.mech[r] = m.mechanism_record[0]",
        "self.mech[r] = ms[0].mechanism_record[0]",
        "every run's mechanism parameters are the first run's",
    ),
    M(
        "ensemble.regulation_of_the_first_run",
        "sim/ensemble.py",
        "for g in (m.regulation for m in ms)",
        "for g in (ms[0].regulation for m in ms)",
        "every run's special-measures thresholds and months are the first run's",
    ),
    M(
        "ensemble.partner_quality_of_the_first_run",
        "sim/ensemble.py",
        "(q := m.levers.failure_regime.partner_min_quality)",
        "(q := ms[0].levers.failure_regime.partner_min_quality)",
        "the failure regime's partner-quality lever is the first run's",
    ),
    M(
        "ensemble.duty_start_of_the_first_run",
        "sim/ensemble.py",
        "self.month >= m.levers.collaborative_duty.start_month for m in self.models",
        "self.month >= self.models[0].levers.collaborative_duty.start_month for m in self.models",
        "the collaborative duty starts in the first run's start month in every run",
    ),
    M(
        "ensemble.noise_stream_shared",
        "sim/ensemble.py",
        'views = [pcg.state_view(m.streams["noise"]) for m in ms]',
        'views = [pcg.state_view(ms[0].streams["noise"]) for m in ms]',
        "every run draws its noise from the first run's stream",
    ),
    M(
        "ensemble.shocks_of_the_first_run",
        "sim/ensemble.py",
        "m = self.models[r]\n                for col, s in zip(m.shock_cols",
        "m = self.models[0]\n                for col, s in zip(m.shock_cols",
        "a shocked run gets the first run's external shocks",
    ),
    M(
        "ensemble.spells_to_the_compacted_index",
        "sim/ensemble.py",
        "zip(moved.tolist(), counts[moved].tolist(), strict=True)",
        "zip(range(len(moved)), counts[moved].tolist(), strict=True)",
        "special-measures spells recorded to the k-th run, not the k-th run with an event",
    ),
    M(
        "ensemble.realisation_shape_of_the_first_run",
        "sim/ensemble.py",
        "beta = np.array([beta_shape(m.partnering) for m in self.models])",
        "beta = np.array([beta_shape(self.models[0].partnering) for m in self.models])",
        "the supports' realisation draws use the first run's Beta shape",
    ),
    M(
        "ensemble.inertia_months_of_the_first_run",
        "sim/kernels.py",
        "g[INERTIA_RUN, p] >= inertia_months[r]",
        "g[INERTIA_RUN, p] >= inertia_months[0]",
        "the endings kernel reads the first run's months of inertia for every run",
    ),
    M(
        "ensemble.summaries_if_first_watched",
        "sim/api.py",
        "watched = any(watch)",
        "watched = any(watch[:1])",
        "months not kept are summarised only when the batch's first run has observers",
    ),
    M(
        "ensemble.kept_month_off_by_one",
        "sim/api.py",
        "ens.step(summarise=watched or ens.month + 1 in slot)",
        "ens.step(summarise=watched or ens.month in slot)",
        "the summary is computed the month after a kept month, not in it",
    ),
    M(
        "ensemble.structure_ignores_horizon",
        "sim/ensemble.py",
        "        tuple(th.domain_names),\n        model.horizon,\n",
        "        tuple(th.domain_names),\n",
        "runs of different horizons are batched together (and run to the first's)",
    ),
)

# Why a surviving mutation is not caught (filled in from the last run; see docs/mutation.md).
SURVIVORS: dict[str, str] = {
    "formation.never_recover": "survived the run (only the reference rule was tested); "
    "`tests/test_rules.py::test_mandated_supports_end_on_recovery_in_a_run` was added since and fails on this mutation",
    "regulation.entry_a_month_early": "survived the run (only the reference `SpecialMeasures.update` was tested); "
    "`tests/test_mechanisms.py::test_the_compiled_regulation_enters_exactly_after_the_declared_months` was added "
    "since and fails on this mutation",
    "ensemble.regulation_of_the_first_run": "survived the run "
    "(no test batched design points of different special-measures rules); "
    "`tests/test_batch_isolation.py::test_each_runs_special_measures_thresholds_hold_in_a_batch`"
    " was added since and fails on this mutation",
    "ensemble.partner_quality_of_the_first_run": "survived the run "
    "(no test batched runs of different partner-quality levers); "
    "`tests/test_batch_isolation.py::test_each_runs_failure_regime_levers_and_realisation_hold_in_a_batch`"
    " was added since and fails on this mutation",
    "ensemble.duty_start_of_the_first_run": "survived the run "
    "(the duty checks its own start month too: only a duty starting before the first run's is held back,"
    " and no test batched one); "
    "`tests/test_batch_isolation.py::test_each_runs_collaborative_duty_starts_in_its_own_month_in_a_batch`"
    " was added since and fails on this mutation",
    "ensemble.realisation_shape_of_the_first_run": "survived the run "
    "(no test batched design points of different realisation draws); "
    "`tests/test_batch_isolation.py::test_each_runs_failure_regime_levers_and_realisation_hold_in_a_batch`"
    " was added since and fails on this mutation",
    "ensemble.inertia_months_of_the_first_run": "survived the run "
    "(no test batched design points of different months of inertia); "
    "`tests/test_batch_isolation.py::test_each_runs_months_of_inertia_hold_in_a_batch`"
    " was added since and fails on this mutation",
    "ensemble.summaries_if_first_watched": "survived the run (the observer test watched every run of its batch); "
    "`tests/test_batch_isolation.py::test_an_observer_of_any_run_reads_every_months_summary`"
    " was added since and fails on this mutation",
    "ensemble.structure_ignores_horizon": "survived the run (no test batched runs of different horizons); "
    "`tests/test_batch_isolation.py::test_runs_of_different_horizons_each_run_their_own`"
    " was added since and fails on this mutation",
}
