"""Pathway attribution (analysis/studies/pathways/) on a hand-built linear theory with a known answer.

The tiny theory has one structural domain S, one relational R, an outcome O and a quality
domain Q that nothing feeds (so special-measures status, and hence who partners, is the same
in every run). Failing trusts are given a partnership whose only action is a scale effect
``s_S`` on S and ``s_O`` on O from month 1 on; the web is S → R → O and S → O; there is no
noise and nothing is clipped. At steady state the policy raises O, per member, by exactly

    s_S·w_SR·w_RO   (route scale → S → R → O)
    s_S·w_SO        (route scale → S → O)
    s_O             (route scale → O)

and the population mean by these times the share of providers who are members.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.paired import SimTask, make_spec, simulate
from analysis.studies.pathways import (
    PathwayResult,
    Route,
    RouteHook,
    attribute,
    channel_entries,
    enumerate_routes,
    format_table,
    pathways_html,
    theory_in_force,
    waterfall_figure,
    within_noise,
)
from sim import load_population_spec, load_theory

W_SR, W_RO, W_SO = 0.6, 0.5, 0.2
S_S, S_O = 0.05, 0.02

# Relational stocks never move (every rate 0), so collaborative behaviour is a constant B, and the
# realisation draw is (to 1e-9) its mean MU: the scale input is S × B × MU from completion on.
MECHANISMS = {
    "conflict_rate": 0.0,
    "conflict_base": 0.05,
    "conflict_w_gap": 1.0,
    "conflict_w_asymmetry": 0.15,
    "conflict_w_mandate": 0.1,
    "conflict_w_slow": 0.25,
    "conflict_w_change": 0.15,
    "conflict_w_accountability": 0.3,
    "trust_init": 0.6,
    "trust_w_prior": 0.0,
    "trust_w_legal": 0.0,
    "trust_w_same_ics": 0.0,
    "trust_build": 0.0,
    "trust_erosion": 0.0,
    "trust_w_leadership": 0.0,
    "dissolution_trust_penalty": 0.5,
    "confidence_init": 0.6,
    "confidence_rate": 0.0,
    "confidence_w_mandate": 0.15,
    "confidence_ceiling": 0.9,
    "faith_init": 0.6,
    "faith_w_mandate": 0.0,
    "faith_rate": 0.0,
    "faith_w_instability": 0.5,
    "faith_w_absence": 0.0,
    "faith_w_leadership": 0.0,
    "instability_scale": 0.1,
    "absence_per_commitment": 0.25,
    "progress_rate": 0.15,
    "progress_scale": 0.06,
    "progress_neutral": 0.5,
    "progress_w_ambition": 0.2,
    "progress_w_conflict": 0.3,
    "ambition_w_integration": 0.5,
    "ambition_w_trust": 1.0,
    "risk_w_trust": 0.5,
    "behaviour_w_risk": 0.5,
    "inertia_threshold": 0.4,
    "inertia_months": 12,
}
B, MU = 0.6, 0.5
PARTNERING = {
    "convergence_rate": 0.4,
    "synergy": 0.0,
    "best_practice_share": 0.5,
    "disruption_w_conflict": 1.0,
    "disruption_persistence": 0.5,
    "savings_lag": 0.0,
    "realisation_mean": MU,
    "realisation_sd": 1e-9,
}
FORMATION = {
    "base_hazard": 0.002,
    "pressure_sensitivity": 3.0,
    "pressure_scale": 0.1,
    "w_same_ics": 1.0,
    "w_culture": 3.0,
    "w_prior_trust": 2.0,
    "w_size": 0.5,
    "w_quality": 2.0,
    "choice_noise": 0.5,
    "out_of_ics_candidates": 12,
}


def fixed(v: float) -> str:
    return f'{{value = {v}, source = "test"}}'


def write_tiny_theory(folder: Path, *, extra_edges: str = "") -> Path:
    """A linear, noise-free theory of four domains and one partnership type, in ``folder``."""

    def domain(name: str, tier: str, mean: float, sd: float, rate: float) -> str:
        return (
            f'[domains.{name}]\ntier = "{tier}"\ninit_mean = {fixed(mean)}\ninit_sd = {fixed(sd)}\n'
            f"rate = {fixed(rate)}\nnoise = {fixed(0.0)}\n"
        )

    def edge(src: str, tgt: str, w: float, lag: float) -> str:
        return f'[[edges]]\nsource = "{src}"\ntarget = "{tgt}"\nweight = {fixed(w)}\nlag = {fixed(lag)}\n'

    def section(name: str, values: dict[str, float]) -> str:
        return f"[{name}]\n" + "".join(f"{k} = {fixed(v)}\n" for k, v in values.items())

    text = "\n".join(
        [
            '[meta]\nname = "tiny"\ntypology = "tiny_typology.toml"\n',
            '[roles]\nquality = "Q"\nefficiency = "O"\naccess = "O"\nculture = "R"\naccountability = "S"\n'
            'workforce = "R"\nleadership = "S"\nprogress = ["S"]\n',
            domain("Q", "outcome", 0.5, 0.1, 0.2),
            domain("S", "structural", 0.5, 0.1, 0.5),
            domain("R", "relational", 0.5, 0.1, 0.3),
            domain("O", "outcome", 0.5, 0.1, 0.4),
            edge("S", "R", W_SR, 2),
            edge("R", "O", W_RO, 1),
            edge("S", "O", W_SO, 0),
            extra_edges,
            section("population", {"common_loading": 0.3, "ics_sd": 0.0}),
            section(
                "bands",
                {
                    "good_quality": 0.55,
                    "outstanding_quality": 0.75,
                    "inadequate_quality": 0.40,
                    "deficit_efficiency": 0.5,
                    "surplus_pct_per_unit": 20.0,
                },
            ),
            section(
                "regulation",
                {
                    "sm_entry_quality": 0.45,
                    "sm_entry_efficiency": 0.0,
                    "sm_exit_margin": 0.02,
                    "support_fade": 0.0,
                    "sm_entry_months": 3,
                    "sm_exit_months": 6,
                },
            ),
            section("mechanisms", MECHANISMS),
            section("partnering", PARTNERING),
            section("partnering.scale", {"S": S_S, "O": S_O}),
            section("formation", FORMATION),
            '[start_2022]\ngroup_type = "pact"\n'
            + "".join(
                f"{k} = {fixed(v)}\n"
                for k, v in {
                    "group_share": 0.0,
                    "group_age_max": 0,
                    "collaborative_age_max": 0,
                    "history_share": 0.0,
                    "history_trust_sd": 0.1,
                }.items()
            ),
        ]
    )
    (folder / "tiny.toml").write_text(text)
    (folder / "tiny_typology.toml").write_text(
        '[types.pact]\nlabel = "Pact"\ndefinition = "test"\ncategory = "contractual"\nsource = "test"\n'
        'integration = 1.0\norg_change = 0.0\ncontract_strength = 0.5\nled = true\ntarget = "lead"\n'
        "reversible = false\nexclusive = true\nmax_per_provider = 1\nmembers = [2, 2]\nneeds_approval = false\n"
        "shares_back_office = true\napproval_months = 0\ntransition_months = 0\neffects = {S = 0.0}\n"
    )
    (folder / "pop.toml").write_text(
        'n_providers = 40\nn_ics = 2\nics_size_sigma = 0.0\n[meta]\nname = "tiny"\n'
        '[kinds.acute]\ncount = 40\nsector = "acute"\nturnover_median = 500.0\nturnover_sigma = 0.3\n'
    )
    return folder / "tiny.toml"


@pytest.fixture
def tiny(tmp_path):
    theory = load_theory(write_tiny_theory(tmp_path))
    pop = load_population_spec(tmp_path / "pop.toml")
    names = {
        "failure_regime_intervention": "pact",
        "collaborative_duty_type": "pact",
        "voluntary_type_mix": {"pact": 1.0},
        "collaborative_duty_kinds": ("acute",),
    }  # what this theory has
    base = make_spec(theory, name="baseline", horizon=120, population=pop, start_partnerships="none", **names)
    policy = make_spec(
        theory,
        name="pact",
        horizon=120,
        population=pop,
        failure_regime_enabled=True,
        failure_regime_partner_capacity=1,
        start_partnerships="none",
        **names,
    )
    return theory, base, policy


def test_routes_come_from_the_theory_data(tmp_path):
    theory = load_theory(write_tiny_theory(tmp_path))
    assert channel_entries(theory) == {
        "convergence": (),
        "synergy": (),
        "disruption": (),
        "scale": ("S", "O"),
        "lead_cost": (),
    }
    labels = {r.label for r in enumerate_routes(theory, "O")}
    assert labels == {"scale effects → S → R → O", "scale effects → S → O", "scale effects → O"}
    # a new edge in the file gives a new route, with no code change
    sub = tmp_path / "more"
    sub.mkdir()
    theory2 = load_theory(
        write_tiny_theory(
            sub,
            extra_edges='[[edges]]\nsource = "Q"\ntarget = "R"\n'
            'weight = {value = 0.1, source = "t"}\n'
            'lag = {value = 1, source = "t"}\n',
        )
    )
    assert {r.label for r in enumerate_routes(theory2, "R")} == {"scale effects → S → R"}
    assert {r.label for r in enumerate_routes(theory2, "O")} == labels


def test_attribution_recovers_the_analytic_contributions(tiny):
    theory, base, policy = tiny
    res = attribute(
        base, {"pact": policy}, [3, 4], outcomes=["mean_O"], horizons=(6, 120), level="route", min_share=0.0, workers=1
    )
    shares = []
    for seed in (3, 4):
        log = simulate(SimTask("p", policy, seed)).log
        assert len(log) >= 2
        shares.append(len({int(m) for ms in log["members"] for m in ms.split()}) / 40)
    share = float(np.mean(shares))  # the effect on the population mean is per member × share of members
    t = res.table
    at120 = t[(t["horizon"] == 120)].set_index("pathway")["contribution"]
    realised = B * MU  # scale input = potential × behaviour × realisation (integration 1, no ramp)
    expected = {
        "scale effects → S → R → O": realised * S_S * W_SR * W_RO,
        "scale effects → S → O": realised * S_S * W_SO,
        "scale effects → O": realised * S_O,
    }
    for label, per_member in expected.items():
        assert at120[label] == pytest.approx(share * per_member, rel=1e-4), label
    assert at120["total effect"] == pytest.approx(share * sum(expected.values()), rel=1e-4)
    # linear and blocked attributions agree at every horizon, also in the transient at month 6
    parts = t[t["kind"] == "pathway"]
    np.testing.assert_allclose(parts["contribution"], parts["linear"], rtol=1e-6, atol=1e-12)
    assert (t.loc[t["kind"] == "remainder", "contribution"].abs() < 1e-9).all()
    assert t.loc[t["kind"] == "total", "adds_up"].all()
    # two replicates whose share of members differs: the total's interval includes zero, so no shares
    tot = t[t["kind"] == "total"]
    assert ((tot["ci_low"] <= 0) & (tot["ci_high"] >= 0)).all() and t["within_noise"].all() and t["share"].isna().all()


def test_shares_of_a_clear_total_are_given(tiny):
    """With four replicates the tiny policy's total stands clear of zero: every pathway's share is given."""
    _, base, policy = tiny
    res = attribute(
        base,
        {"pact": policy},
        [3, 4, 5, 6],
        outcomes=["mean_O"],
        horizons=(120,),
        level="route",
        min_share=0.0,
        workers=1,
    )
    t = res.table
    assert not t["within_noise"].any() and (t.loc[t["kind"] == "total", "ci_low"] > 0).all()
    parts = t[t["kind"] == "pathway"]
    assert parts["share"].sum() == pytest.approx(1.0, rel=1e-4)
    assert (parts["share"] == parts["contribution"] / t.loc[t["kind"] == "total", "contribution"].iloc[0]).all()


def test_blocking_every_pathway_removes_the_whole_difference(tiny):
    theory, base, policy = tiny
    routes = tuple(enumerate_routes(theory_in_force(policy), "O"))
    b = simulate(SimTask("b", base, 5, history=True))
    p = simulate(SimTask("p", policy, 5, history=True))
    blocked = simulate(
        SimTask("x", policy, 5, history=True, hook=RouteHook(routes, block=tuple(range(len(routes))), track=False))
    )
    col = theory.domain_index("O")
    assert np.abs(p.levels[:, :, col] - b.levels[:, :, col]).max() > 0.01
    np.testing.assert_allclose(blocked.levels[:, :, col], b.levels[:, :, col], atol=1e-6)
    # blocking only some routes leaves a difference
    part = simulate(SimTask("y", policy, 5, history=True, hook=RouteHook(routes, block=(0,), track=False)))
    assert np.abs(part.levels[:, :, col] - b.levels[:, :, col]).max() > 0.005


def test_blocking_every_channel_entry_in_the_default_model_removes_the_policy_effect():
    """In the full model, removing every channel's input where it enters leaves the policy run
    identical to the baseline (the partnerships still form, but act on nothing). The regime's
    standard support is switched off: it closes a share of the gap to a standard, so it responds
    to what the partnerships did to the anchors and blocking at entry is then first-order only."""
    import dataclasses

    th0 = load_theory()
    th0 = dataclasses.replace(
        th0, values={**th0.values, **{f"regulation.support.{d}": 0.0 for d in th0.support_domains}}
    )
    base = make_spec(th0, name="baseline", horizon=60, start_partnerships="none")
    policy = make_spec(
        th0,
        name="mergers",
        horizon=60,
        failure_regime_enabled=True,
        failure_regime_intervention="merger",
        start_partnerships="none",
    )
    th = theory_in_force(policy)
    entries = tuple((c, d) for c, ds in channel_entries(th).items() for d in ds)
    b = simulate(SimTask("b", base, 2, history=True))
    p = simulate(SimTask("p", policy, 2, history=True))
    x = simulate(SimTask("x", policy, 2, history=True, hook=RouteHook((), block_entries=entries, track=False)))
    assert len(x.log) > 5
    assert np.abs(p.levels - b.levels).max() > 0.02
    np.testing.assert_allclose(x.levels, b.levels, atol=1e-6)


def test_default_theory_attribution_runs_and_reports(tmp_path):
    base = make_spec(name="baseline", horizon=48, n_providers=60)
    policy = make_spec(
        name="mergers",
        horizon=48,
        n_providers=60,
        failure_regime_enabled=True,
        failure_regime_intervention="merger",
        approval_months=6,
    )
    res = attribute(base, {"mergers": policy}, [1, 2], outcomes=["mean_efficiency"], horizons=(24, 48), workers=1)
    t = res.table
    assert set(t["kind"]) == {"pathway", "sum", "remainder", "unblocked", "total"}
    pathways = set(t.loc[t["kind"] == "pathway", "pathway"])
    assert {"transition disruption", "scale effects"} <= pathways
    row = t[(t["kind"] == "pathway") & (t["pathway"] == "transition disruption") & (t["horizon"] == 24)]
    assert float(row["contribution"].iloc[0]) < 0  # the J-curve: the transition costs efficiency
    fig = waterfall_figure(t, "mergers", "mean_efficiency", 48)
    assert len(fig.axes[0].patches) == (t["kind"] == "pathway").sum() // 2 + 2


def test_pathways_command(tmp_path, capsys):
    from analysis.cli import main

    out = tmp_path / "pw"
    code = main(
        [
            "pathways",
            "scenarios/mandated_mergers.toml",
            "--reps",
            "1",
            "--horizon",
            "40",
            "--horizons",
            "40",
            "--outcomes",
            "mean_efficiency",
            "--workers",
            "1",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "transition disruption" in text and "total" in text
    assert "Efficiency (finances)" in text and "mean_efficiency" not in text  # outcomes by name
    assert "with one replicate the noise of the total effect cannot be judged" in text  # --reps 1: no shares
    table = pd.read_csv(out / "pathways.csv")
    assert {"total", "remainder", "pathway"} <= set(table["kind"])
    assert (out / "figures" / "waterfall_mandated_mergers_mean_efficiency_m40.png").exists()
    from analysis.studies.pathways import load_pathways, pathways_html  # the report reads saved results back

    saved = load_pathways(out)
    assert saved.summary()["adds_up"].tolist() == [bool(v) for v in table.loc[table["kind"] == "total", "adds_up"]]
    assert "<table>" in pathways_html(saved)
    assert main(["pathways", "scenarios/mandated_mergers.toml", "--outcomes", "mean_qualty"]) == 2


def test_routes_name_their_domains_in_words():
    route = Route("convergence", ("it_systems", "user_engagement", "quality"))
    assert route.label == "partnering → IT systems → user engagement → quality"
    assert route.edges == ("it_systems->user_engagement", "user_engagement->quality")  # identifiers stay


def test_a_total_within_noise_is_judged_from_its_interval():
    assert within_noise(0.005, -0.01, 0.02, 4) and within_noise(0.01, 0.0, 0.02, 4)
    assert not within_noise(0.01, 0.001, 0.02, 4) and not within_noise(-0.01, -0.02, -0.001, 3)
    assert within_noise(0.01, float("nan"), float("nan"), 1) and within_noise(0.015, 0.01, 0.02, 1)
    # consistent but negligible (the mergers' effect on quality at month 12 once took shares of 55598%)
    assert within_noise(-1e-6, -1.2e-6, -0.8e-6, 3, floor=1e-4)
    assert not within_noise(0.01, 0.006, 0.014, 4, floor=1e-4)


def attribution_table(total: tuple[float, float, float], parts: dict[str, float]) -> PathwayResult:
    """An attribution of one policy's effect on quality at month 12 as saved before totals were judged for
    noise: with every share and no ``within_noise`` column (the presentation judges the interval itself)."""
    mean, lo, hi = total
    rows = [
        {"kind": "pathway", "pathway": name, "contribution": c, "ci_low": c - 0.01, "ci_high": c + 0.01}
        for name, c in parts.items()
    ]
    rows.append({"kind": "remainder", "pathway": "interaction remainder", "contribution": mean - sum(parts.values())})
    rows[-1] |= {"ci_low": np.nan, "ci_high": np.nan}
    rows.append({"kind": "total", "pathway": "total effect", "contribution": mean, "ci_low": lo, "ci_high": hi})
    table = pd.DataFrame(rows).assign(policy="merge", outcome="mean_quality", horizon=12)
    table["share"] = table["contribution"] / mean
    table["adds_up"] = table["kind"].eq("total")
    return PathwayResult(table=table, routes=pd.DataFrame(), seeds=[1, 2, 3, 4], level="pathway", tolerance=0.1)


def test_shares_of_a_total_within_noise_are_not_printed_and_outcomes_have_names():
    """A total of +0.001 in [-0.004, +0.006] with pathways of +0.002 and -0.003 once printed 200% and -300%."""
    noisy = attribution_table((0.001, -0.004, 0.006), {"governance → quality": 0.002, "IT → quality": -0.003})
    text = format_table(noisy)
    assert "%" not in text.replace("95%", "")
    assert (
        "Shares not shown: the total effect's 95% interval across replicates [-0.0040, +0.0060] includes zero" in text
    )
    assert "merge — Quality index, month 12" in text and "mean_quality" not in text
    page = pathways_html(noisy)
    assert "within noise" in page and "mean_quality" not in page and "Quality" in page
    clear = attribution_table((0.010, 0.006, 0.014), {"governance → quality": 0.006, "IT → quality": 0.004})
    text = format_table(clear)
    assert "Shares not shown" not in text and "60%" in text and "40%" in text
