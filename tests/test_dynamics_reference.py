"""The vectorised domain update matches the readable per-agent reference (tests/reference.py)."""

from __future__ import annotations

import numpy as np
import pytest
import reference

from sim import PartnershipModel
from sim.dynamics import WebArrays, update_domains, web_arrays

TOL = 1e-12


def random_state(rng: np.random.Generator, n: int, d: int, e: int) -> dict[str, np.ndarray]:
    """Levels, starts and anchors in [0, 1] (some exactly at the bounds), signals of either sign."""
    levels = rng.uniform(0, 1, (n, d))
    levels[rng.random((n, d)) < 0.05] = 0.0
    levels[rng.random((n, d)) < 0.05] = 1.0
    start = np.clip(levels + rng.normal(0, 0.1, (n, d)), 0, 1)
    anchor = np.clip(start + rng.normal(0, 0.05, (n, d)), 0, 1)
    signals = rng.normal(0, 0.1, (n, e))
    return {"levels": levels, "start": start, "anchor": anchor, "signals": signals}


def synthetic_web(rng: np.random.Generator, d: int, e: int) -> WebArrays:
    """A random web of ``e`` edges among ``d`` domains, some without lag (alpha = 1)."""
    src = rng.integers(0, d, e)
    tgt = (src + rng.integers(1, d, e)) % d if d > 1 else np.zeros(e, dtype=int)
    weight = rng.uniform(-0.5, 0.8, e)
    lag = np.where(rng.random(e) < 0.2, 0.0, rng.uniform(0.5, 30, e))
    alpha = np.array([reference.delay_share(x) for x in lag])
    w_matrix = np.zeros((e, d))
    for k in range(e):
        w_matrix[k, tgt[k]] += weight[k]
    return WebArrays(
        src=src.astype(np.intp),
        tgt=tgt.astype(np.intp),
        weight=weight,
        alpha=alpha,
        w_matrix=w_matrix,
        rate=rng.uniform(0.01, 0.5, d),
        noise_sd=rng.uniform(0, 0.05, d),
    )


def run_both(
    web: WebArrays,
    state: dict[str, np.ndarray],
    rng: np.random.Generator,
    months: int,
    pressure_sd: float = 0.05,
    shock_sd: float = 0.02,
) -> None:
    """Advance a vectorised copy and a reference copy together; compare after every month."""
    n, d = state["levels"].shape
    fast = {k: v.copy() for k, v in state.items()}
    slow = {k: v.copy() for k, v in state.items()}
    for month in range(months):
        pressure = rng.normal(0, pressure_sd, (n, d))
        shocks = rng.normal(0, shock_sd, (n, d))
        update_domains(fast["levels"], fast["start"], fast["anchor"], fast["signals"], pressure, shocks, web)
        reference.update_domains(slow["levels"], slow["start"], slow["anchor"], slow["signals"], pressure, shocks, web)
        np.testing.assert_allclose(
            fast["levels"], slow["levels"], rtol=0, atol=TOL, err_msg=f"levels differ in month {month + 1}"
        )
        np.testing.assert_allclose(
            fast["signals"], slow["signals"], rtol=0, atol=TOL, err_msg=f"signals differ in month {month + 1}"
        )
    assert np.all((fast["levels"] >= 0) & (fast["levels"] <= 1))


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_vectorised_update_matches_reference_on_theory_webs(seed, theory, draw_values):
    """Random theory values from the declared ranges, random population size, 60 months."""
    rng = np.random.default_rng(seed)
    th = theory.with_values(draw_values(theory, rng)) if seed else theory
    web = web_arrays(th)
    n = int(rng.integers(1, 40))
    state = random_state(rng, n, len(th.domains), len(th.edges))
    run_both(web, state, rng, months=60)


@pytest.mark.parametrize("seed", [10, 11, 12])
def test_vectorised_update_matches_reference_on_random_webs(seed):
    """Random shapes (domains, edges, providers), lag-free edges, pressures that push to the bounds."""
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 12))
    e = int(rng.integers(0, 30)) if d > 1 else 0
    n = int(rng.integers(1, 30))
    web = synthetic_web(rng, d, e)
    run_both(web, random_state(rng, n, d, e), rng, months=40, pressure_sd=0.4)


def test_web_arrays_read_the_theory_edge_by_edge(theory, draw_values):
    """web_arrays holds each edge's source, target, weight and delay share, and each domain's rate."""
    th = theory.with_values(draw_values(theory, np.random.default_rng(7)))
    web = web_arrays(th)
    edges = reference.reference_edges(th)
    assert [(int(s), int(t)) for s, t in zip(web.src, web.tgt, strict=True)] == [(e.source, e.target) for e in edges]
    np.testing.assert_allclose(web.weight, [e.weight for e in edges], rtol=0, atol=TOL)
    np.testing.assert_allclose(web.alpha, [e.alpha for e in edges], rtol=0, atol=TOL)
    for k, edge in enumerate(edges):  # each edge's weight sits in its target's column and nowhere else
        row = np.zeros(len(th.domains))
        row[edge.target] = edge.weight
        np.testing.assert_allclose(web.w_matrix[k], row, rtol=0, atol=TOL)
    np.testing.assert_allclose(web.rate, [th.v(f"domain.{d}.rate") for d in th.domain_names], rtol=0, atol=TOL)


def test_whole_model_runs_the_same_through_the_reference():
    """A model stepped with the reference update gives the same levels as the vectorised one
    (partnerships and shocks on, so anchors and pressures move too)."""
    kw = dict(
        n_providers=40,
        horizon=24,
        rng=3,
        failure_regime_enabled=True,
        voluntary_enabled=True,
        voluntary_hazard_scale=20.0,
        voluntary_type_mix={"network": 1.0, "merger": 1.0},
        approval_months=0,
        workforce_shock_size=0.05,
    )
    fast = PartnershipModel(**kw)
    slow = reference.use_reference(PartnershipModel(**kw))
    for _ in range(24):
        fast.step()
        reference.reference_step(slow)
        np.testing.assert_allclose(fast.levels, slow.levels, rtol=0, atol=1e-10)
    assert fast.ledger.count > 0, "the setup should form partnerships"
    assert fast.ledger.count == slow.ledger.count
