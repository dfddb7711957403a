"""Named, unit-carrying model reporters (design.md §7).

All model-level metrics of a month are computed in one vectorised pass
(:func:`summarise`) and cached on the model; the DataCollector's reporters are named,
picklable functions that read one entry each. ``metric_catalogue(theory)`` lists every
metric with its unit and meaning, for tables, plots and reports.

:class:`RatingBands` counts, inside a run and from every trust's own levels, the outcomes in the
units people use that need per-trust counting (:data:`BAND_METRICS`: CQC rating bands against the
theory's quality lines, and the sector's surplus in £m and % of turnover, trusts weighted by their
turnover). It is an observer (``sim.run(..., observers=[RatingBands()])``, and per run in
``sim.run_many``), so the one-run and the batched paths count them the same way.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.registry import APPROVAL, ENDED, OPERATING, PHASES, TRANSITION
from sim.theory import Theory

if TYPE_CHECKING:
    from sim.world import World


@dataclass(frozen=True)
class Metric:
    """A model-level output."""

    name: str
    unit: str
    description: str


def metric_catalogue(theory: Theory) -> list[Metric]:
    """Every model-level metric the model reports, in column order."""
    out = []
    for d in theory.domains:
        out.append(Metric(f"mean_{d.name}", "index 0-1", f"Mean {d.name.replace('_', ' ')} level ({d.tier})"))
    for d in theory.domains:
        out.append(Metric(f"sd_{d.name}", "index 0-1", f"Spread (s.d.) of {d.name.replace('_', ' ')} across providers"))
    out += [
        Metric("share_good_or_outstanding", "share of trusts", "Share of trusts rated good or outstanding"),
        Metric("share_in_deficit", "share of trusts", "Share of trusts in deficit"),
        Metric("share_special_measures", "share of trusts", "Share of trusts in special measures"),
        Metric("mean_surplus_pct", "% of turnover", "Mean surplus (+) or deficit (-), % of turnover"),
        Metric("ics_quality_sd", "index 0-1", "Inequality: s.d. of ICS mean quality"),
        Metric("share_partnered", "share of trusts", "Share of trusts in at least one active partnership"),
        Metric("partnerships_active", "count", "Active partnerships"),
    ]
    out += [Metric(f"partnerships_{ph}", "count", f"Partnerships in {ph}") for ph in PHASES[:3]]
    out += [Metric(f"n_{t.name}", "count", f"Active partnerships of type {t.label}") for t in theory.types]
    out += [
        Metric(f"share_in_{t.name}", "share of trusts", f"Share of trusts in an active {t.label.lower()}")
        for t in theory.types
    ]
    out += [
        Metric("formations", "count per month", "Partnerships formed this month"),
        Metric("dissolutions", "count per month", "Partnerships dissolved under collaborative inertia this month"),
        Metric("completions", "count per month", "Mandated supports ended on recovery this month"),
        Metric("sm_entries", "count per month", "Trusts entering special measures this month"),
        Metric("sm_exits", "count per month", "Trusts leaving special measures this month"),
        Metric("sm_without_partner", "count", "Trusts in special measures without a mandated partner"),
        Metric("mean_trust", "index 0-1", "Mean trust in active partnerships"),
        Metric("mean_confidence", "index 0-1", "Mean confidence in active partnerships"),
        Metric("mean_faith", "index 0-1", "Mean faith in active partnerships"),
        Metric("mean_behaviour", "index 0-1", "Mean collaborative behaviour in active partnerships"),
        Metric("mean_conflict", "index 0-1", "Mean conflict in active partnerships"),
        Metric("share_in_inertia", "share of partnerships", "Share of active partnerships below the inertia threshold"),
    ]
    return out


def summarise(model: World) -> dict[str, float]:
    """All model-level metrics of the current month (one vectorised pass)."""
    th = model.theory
    x = model.levels
    n = model.n
    means = x.sum(axis=0) / n
    sds = np.sqrt(np.maximum((x * x).sum(axis=0) / n - means * means, 0.0))
    out: dict[str, float] = dict(zip(model.metric_names_mean, means.tolist(), strict=True))
    out.update(zip(model.metric_names_sd, sds.tolist(), strict=True))
    q = x[:, model.quality_col]
    e = x[:, model.efficiency_col]
    out["share_good_or_outstanding"] = np.count_nonzero(q >= model.band_good) / n
    out["share_in_deficit"] = np.count_nonzero(e < model.band_deficit) / n
    out["share_special_measures"] = np.count_nonzero(model.in_sm) / n
    out["mean_surplus_pct"] = float((means[model.efficiency_col] - model.band_deficit) * model.surplus_per_unit)
    ics_mean = (
        np.bincount(model.pop.ics, weights=q, minlength=model.pop.n_ics)[model.ics_nonempty]
        / model.ics_sizes[model.ics_nonempty]
    )
    out["ics_quality_sd"] = float(ics_mean.std())
    out.update(model.events)
    ledger = model.ledger
    out["sm_without_partner"] = float(np.count_nonzero(model.in_sm & ~ledger.supported))
    if ledger.count == 0:
        out.update(model.empty_partnership_metrics)
        return out
    mem = ledger.memberships()
    out["share_partnered"] = np.count_nonzero(np.bincount(mem.mi, minlength=n)) / n
    phase = ledger.phase[: ledger.count]
    ids = np.flatnonzero(phase != ENDED)
    out["partnerships_active"] = float(len(ids))
    by_phase = np.bincount(phase, minlength=4)
    for code in (APPROVAL, TRANSITION, OPERATING):
        out[f"partnerships_{PHASES[code]}"] = float(by_phase[code])
    by_type = np.bincount(ledger.type[ids], minlength=len(th.types))
    out.update(zip(model.metric_names_type, by_type.tolist(), strict=True))
    in_type = np.count_nonzero(ledger.type_count > 0, axis=0) / n
    out.update(zip(model.metric_names_share_type, in_type.tolist(), strict=True))
    if len(ids):
        for name in ("trust", "confidence", "faith", "behaviour", "conflict"):
            out[f"mean_{name}"] = float(getattr(ledger, name)[ids].sum() / len(ids))
        inert = ledger.behaviour[ids] < model.mechanisms.inertia_threshold
        out["share_in_inertia"] = np.count_nonzero(inert) / len(ids)
    else:
        for name in (
            "mean_trust",
            "mean_confidence",
            "mean_faith",
            "mean_behaviour",
            "mean_conflict",
            "share_in_inertia",
        ):
            out[name] = float("nan")
    return out


def empty_partnership_metrics(theory: Theory) -> dict[str, float]:
    """Partnership metrics of a month with no partnership ever formed."""
    out = {"share_partnered": 0.0, "partnerships_active": 0.0}
    out.update({f"partnerships_{PHASES[c]}": 0.0 for c in (APPROVAL, TRANSITION, OPERATING)})
    out.update({f"n_{t.name}": 0.0 for t in theory.types})
    out.update({f"share_in_{t.name}": 0.0 for t in theory.types})
    out.update(
        {
            name: float("nan")
            for name in (
                "mean_trust",
                "mean_confidence",
                "mean_faith",
                "mean_behaviour",
                "mean_conflict",
                "share_in_inertia",
            )
        }
    )
    return out


def read_metric(model: World, name: str) -> float:
    """Reporter body: one entry of the month's summary."""
    return model.summary[name]


def model_reporters(theory: Theory) -> dict[str, Any]:
    """DataCollector model reporters: one named (picklable) function per metric."""
    return {m.name: partial(read_metric, name=m.name) for m in metric_catalogue(theory)}


BAND_METRICS = ("share_outstanding", "share_inadequate", "sector_surplus_gbp_m", "sector_surplus_pct")
"""What :class:`RatingBands` counts, in this column order."""
BAND_UNITS = {
    "share_outstanding": ("share of trusts", "Share of trusts rated outstanding (quality >= band.outstanding_quality)"),
    "share_inadequate": ("share of trusts", "Share of trusts rated inadequate (quality < band.inadequate_quality)"),
    "sector_surplus_gbp_m": ("£m a year", "Sector surplus (+) or deficit (-): sum over trusts of turnover x surplus %"),
    "sector_surplus_pct": ("% of turnover", "Sector surplus (+) or deficit (-) over the sector's turnover"),
}
"""Unit and meaning of each of :data:`BAND_METRICS`."""


def rating_bands(levels: np.ndarray, turnover: np.ndarray, theory: Theory) -> tuple[float, float, float, float]:
    """The :data:`BAND_METRICS` of one month, from every trust's levels and turnover (£m a year).

    A trust is rated outstanding when its quality is at least ``band.outstanding_quality`` and
    inadequate when below ``band.inadequate_quality``; its surplus (+) or deficit (-) is (efficiency
    - ``band.deficit_efficiency``) x ``band.surplus_pct_per_unit`` % of its turnover.
    """
    row = rating_bands_many(levels[None], turnover[None], BandLines.of([theory]), _band_cols(theory))[0]
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


@dataclass(frozen=True)
class BandLines:
    """Each run's rating lines and surplus mapping (its theory's values), as arrays over runs."""

    outstanding: np.ndarray
    inadequate: np.ndarray
    deficit: np.ndarray
    pct_per_unit: np.ndarray

    @classmethod
    def of(cls, theories: Sequence[Theory]) -> BandLines:
        """The lines of each run's theory, in run order."""

        def values(name: str) -> np.ndarray:
            return np.array([th.v(name) for th in theories], dtype=float)

        return cls(
            values("band.outstanding_quality"),
            values("band.inadequate_quality"),
            values("band.deficit_efficiency"),
            values("band.surplus_pct_per_unit"),
        )


def _band_cols(theory: Theory) -> tuple[int, int]:
    """The quality and efficiency columns of the levels."""
    return theory.role_index("quality"), theory.role_index("efficiency")


def rating_bands_many(levels: np.ndarray, turnover: np.ndarray, lines: BandLines, cols: tuple[int, int]) -> np.ndarray:
    """:func:`rating_bands` of many runs at once: array[runs, len(BAND_METRICS)].

    ``levels`` is runs x providers x domains, ``turnover`` runs x providers. One numpy pass over
    the runs, in each run's own arithmetic, so a run's numbers are the same, bit for bit, in a
    batch of any size: its £m total is its own dot product (a stacked ``matmul`` of one row by one
    column calls BLAS's dot for each run, as ``turnover[r] @ pct[r]`` does) and its sector's
    turnover a sum along its row (numpy's pairwise sum of each row, as ``turnover[r].sum()``).
    """
    q = levels[:, :, cols[0]]
    e = levels[:, :, cols[1]]
    n = levels.shape[1]
    out = np.empty((levels.shape[0], len(BAND_METRICS)))
    out[:, 0] = np.count_nonzero(q >= lines.outstanding[:, None], axis=1) / n
    out[:, 1] = np.count_nonzero(q < lines.inadequate[:, None], axis=1) / n
    pct = (e - lines.deficit[:, None]) * lines.pct_per_unit[:, None]
    turnover = np.ascontiguousarray(turnover, dtype=float)
    gbp_m = np.matmul(turnover[:, None, :], pct[:, :, None])[:, 0, 0] / 100.0
    sector = turnover.sum(axis=1)
    out[:, 2] = gbp_m
    out[:, 3] = np.nan
    np.divide(100.0 * gbp_m, sector, out=out[:, 3], where=sector > 0)
    return out


class BandsBook:
    """The :data:`BAND_METRICS` of every run of a batch in its current month, computed once for all runs.

    :class:`RatingBands` observers that share a book (:meth:`RatingBands.batch`) cost one vectorised
    pass per month for the whole batch (``model.ensemble`` holds every run's levels), instead of a
    Python call per run per month. A model outside any ensemble is counted alone.
    """

    def __init__(self) -> None:
        self._ensemble: Callable[[], Any] = lambda: None  # weak reference to the ensemble counted last
        self._month = -1
        self._lines: BandLines | None = None
        self._block = np.empty((0, len(BAND_METRICS)))

    def month_of(self, model: World) -> tuple[np.ndarray, int]:
        """This month's bands of every run of ``model``'s batch, and ``model``'s row in them."""
        ens = model.ensemble
        if ens is None:  # not (yet) stepped by an ensemble: a batch of one
            lines = BandLines.of([model.theory])
            turnover = np.asarray(model.pop.turnover, dtype=float)[None]
            return rating_bands_many(model.levels[None], turnover, lines, _band_cols(model.theory)), 0
        if self._ensemble() is not ens:
            self._ensemble, self._lines, self._month = weakref.ref(ens), None, -1
        if self._month != ens.month or self._lines is None:
            if self._lines is None:
                self._lines = BandLines.of([m.theory for m in ens.models])
            turnover = np.asarray(ens.turnover, dtype=float)
            self._block = rating_bands_many(ens.levels, turnover, self._lines, _band_cols(model.theory))
            self._month = ens.month
        return self._block, model.run_index


class RatingBands:
    """Observer: the :data:`BAND_METRICS` of every month of a run, month 0 included (``result()``: array[months, 4]).

    ``RatingBands()`` counts its run alone; the observers of :meth:`batch` share a :class:`BandsBook`
    and count all the runs of a batch in one pass per month (same numbers). Observers that change
    the model must not run before shared ones in a month (they would see the levels before the change).
    """

    def __init__(self, book: BandsBook | None = None) -> None:
        self._book = book or BandsBook()
        self._rows: list[tuple[np.ndarray, int]] = []

    @classmethod
    def batch(cls, n: int) -> list[RatingBands]:
        """``n`` observers, one per run of a batch (``sim.run_many``), sharing one book."""
        book = BandsBook()
        return [cls(book) for _ in range(n)]

    def attach(self, model: World) -> None:
        """Record month 0."""
        self.on_step(model)

    def on_step(self, model: World) -> None:
        """Record the month just simulated (a row of the batch's block: nothing is copied)."""
        self._rows.append(self._book.month_of(model))

    def result(self) -> np.ndarray:
        """array[months, len(BAND_METRICS)], month 0 first."""
        if not self._rows:
            return np.empty((0, len(BAND_METRICS)))
        return np.stack([block[r] for block, r in self._rows])


def provider_quality(agent: Any) -> float:
    """Agent reporter: the provider's quality level."""
    return float(agent.model.levels[agent.index, agent.model.quality_col])


def provider_efficiency(agent: Any) -> float:
    """Agent reporter: the provider's efficiency level."""
    return float(agent.model.levels[agent.index, agent.model.efficiency_col])


def provider_access(agent: Any) -> float:
    """Agent reporter: the provider's access level."""
    return float(agent.model.levels[agent.index, agent.model.access_col])


def provider_in_sm(agent: Any) -> bool:
    """Agent reporter: in special measures."""
    return bool(agent.model.in_sm[agent.index])


AGENT_REPORTERS = {
    "quality": provider_quality,
    "efficiency": provider_efficiency,
    "access": provider_access,
    "special_measures": provider_in_sm,
}
