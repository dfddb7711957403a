"""Physical bounds of every declared quantity: what a value can mean, whatever the evidence says.

A theory file declares each parameter's plausible range (``low``/``high``, from the evidence);
this module says which values can mean anything at all, by the parameter's kind: a level or a
share lies in [0, 1], a monthly rate closes at most the whole gap, a lag is a number of months
within the longest horizon a run may have, a weight is finite and not negative. The loaders
(:mod:`sim.params`, :mod:`sim.typology`, :mod:`sim.population`) check every number against
these bounds, and the scenario and command-line limits of ``analysis`` take their caps
(:data:`MAX_MONTHS`, :data:`MAX_PROVIDERS`, :data:`MAX_ICS`) from here, so a month or a
population size means the same everywhere.

The bounds are data: :data:`PARAM_BOUNDS` maps parameter-name patterns (``fnmatch``, first
match wins) to a :class:`Bound`; :data:`POPULATION_BOUNDS` and :data:`TYPOLOGY_BOUNDS` do the
same for the population and typology files' plain fields.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fnmatch import fnmatchcase

MAX_MONTHS = 1200
"""The longest horizon a run may have (100 years); every lag, delay and month lies within it."""
MAX_PROVIDERS = 1_000_000
"""The most providers a population may have."""
MAX_ICS = 100_000
"""The most integrated care systems a population may have (and never more than providers)."""
MAX_WEIGHT = 100.0
"""The largest weight on quantities in [0, 1]: beyond it one term swamps every other (a typo)."""


@dataclass(frozen=True)
class Bound:
    """The values a kind of quantity can take: ``[lo, hi]``, either end open, with its meaning."""

    lo: float
    hi: float
    meaning: str
    lo_open: bool = False
    hi_open: bool = False

    def contains(self, value: float) -> bool:
        """True when ``value`` is finite and inside the bound."""
        if not math.isfinite(value):
            return False
        above = value > self.lo if self.lo_open else value >= self.lo
        below = value < self.hi if self.hi_open else value <= self.hi
        return above and below

    def text(self) -> str:
        """The interval in mathematical notation, e.g. ``(0, 1]``."""
        return f"{'(' if self.lo_open else '['}{_num(self.lo)}, {_num(self.hi)}{')' if self.hi_open else ']'}"


def _num(x: float) -> str:
    return f"{x:g}" if abs(x) < 1e7 else f"{x:.0e}"


LEVEL = Bound(0.0, 1.0, "a level or share (0 to 1)")
SPREAD = Bound(0.0, 1.0, "a standard deviation of levels (0 to 1)")
RATE = Bound(0.0, 1.0, "a monthly rate (the share of a gap closed in a month, 0 to 1)")
PROBABILITY = Bound(0.0, 1.0, "a monthly probability (0 to 1)")
WEIGHT = Bound(0.0, MAX_WEIGHT, "a weight (not negative, at most 100)")
SIGNED_EFFECT = Bound(-1.0, 1.0, "an edge's effect (target change per unit change of the source: -1 to 1)")
MONTHS = Bound(0.0, MAX_MONTHS, f"a number of months (0 to the {MAX_MONTHS}-month horizon cap)")
SCALE = Bound(0.0, 1.0, "a change of level used as a unit (above 0, at most 1)", lo_open=True)

PARAM_BOUNDS: tuple[tuple[str, Bound], ...] = (
    # domains: starting distribution and monthly dynamics of levels in [0, 1]
    ("domain.*.init_mean", LEVEL),
    ("domain.*.init_sd", SPREAD),
    ("domain.*.rate", RATE),
    ("domain.*.noise", SPREAD),
    # the causal web: a signed effect, and a delay in months (0 = the step delay only)
    ("edge.*.weight", SIGNED_EFFECT),
    ("edge.*.lag", MONTHS),
    # the starting population
    ("population.common_loading", Bound(0.0, 1.0, "a share of variance (0 to 1)")),
    ("population.ics_sd", SPREAD),
    # interpretable bands
    ("band.surplus_pct_per_unit", Bound(0.0, 100.0, "percent of turnover per unit of efficiency (0 to 100)")),
    ("band.*", LEVEL),
    # the failure regime
    ("regulation.sm_*_months", MONTHS),
    ("regulation.support.*", RATE),
    ("regulation.support_fade", RATE),
    ("regulation.*", LEVEL),
    # mechanisms: stocks, rates, shares, scales, weights
    ("mechanism.*_months", MONTHS),
    ("mechanism.*_rate", RATE),
    ("mechanism.trust_build", RATE),
    ("mechanism.trust_erosion", RATE),
    ("mechanism.*_init", LEVEL),
    ("mechanism.instability_scale", SCALE),
    ("mechanism.progress_scale", SCALE),
    ("mechanism.risk_w_trust", Bound(0.0, 1.0, "the share of one input in a mix of two (0 to 1)")),
    ("mechanism.behaviour_w_risk", Bound(0.0, 1.0, "the share of one input in a mix of two (0 to 1)")),
    ("mechanism.*_w_*", WEIGHT),
    ("mechanism.*", LEVEL),
    # how partnerships act on members' domains
    ("partnering.convergence_rate", RATE),
    ("partnering.disruption_w_conflict", WEIGHT),
    ("partnering.disruption_persistence", WEIGHT),
    ("partnering.savings_lag", MONTHS),
    (
        "partnering.realisation_mean",
        Bound(0.0, 1.0, "the mean of a Beta draw (strictly between 0 and 1)", lo_open=True, hi_open=True),
    ),
    (
        "partnering.realisation_sd",
        Bound(0.0, 0.5, "the standard deviation of a Beta draw (above 0, below 0.5)", lo_open=True, hi_open=True),
    ),
    ("partnering.*", LEVEL),
    # formation
    ("formation.base_hazard", PROBABILITY),
    ("formation.pressure_scale", SCALE),
    ("formation.out_of_ics_candidates", Bound(0.0, MAX_PROVIDERS, "a number of providers")),
    ("formation.*", WEIGHT),
    # the partnerships of July 2022
    ("start.*_age_max", MONTHS),
    ("start.*", LEVEL),
    # partnership types
    ("type.*_months", MONTHS),
    ("type.*", LEVEL),
)
"""Bounds by parameter name (first matching pattern wins)."""

POPULATION_BOUNDS: dict[str, Bound] = {
    "n_providers": Bound(2, MAX_PROVIDERS, f"a number of providers (2 to {MAX_PROVIDERS:,})"),
    "n_ics": Bound(1, MAX_ICS, f"a number of ICSs (1 to {MAX_ICS:,}, and no more than providers)"),
    "ics_size_sigma": Bound(0.0, 5.0, "the log-scale spread of ICS sizes (0 to 5)"),
    "count": Bound(0, MAX_PROVIDERS, "a number of providers"),
    "turnover_median": Bound(0.0, 1e6, "an annual turnover in £m (above 0, at most 1,000,000)", lo_open=True),
    "turnover_sigma": Bound(0.0, 5.0, "the log-scale spread of turnover (0 to 5)"),
    "offsets": Bound(-1.0, 1.0, "a shift of a starting level (-1 to 1)"),
}
"""Bounds of the population file's fields (``kinds.*`` fields by their own name)."""

TYPOLOGY_BOUNDS: dict[str, Bound] = {
    "members": Bound(2, 10_000, "a number of members (2 to 10,000)"),
    "max_per_provider": Bound(1, 10_000, "a number of partnerships (1 to 10,000)"),
}
"""Bounds of the typology's whole-number fields."""


MAX_REPLICATES = 100_000
MAX_SEED = 2**63 - 1

MONTH = Bound(0, MAX_MONTHS, f"a month of a run (0 to the {MAX_MONTHS}-month horizon cap)")
HORIZON = Bound(1, MAX_MONTHS, f"months to simulate (1 to {MAX_MONTHS})")
REPLICATES = Bound(1, MAX_REPLICATES, f"a number of replicates (1 to {MAX_REPLICATES:,})")
PROVIDERS = Bound(2, MAX_PROVIDERS, f"a number of providers (2 to {MAX_PROVIDERS:,})")
SEED = Bound(0, MAX_SEED, "a seed (0 to 2^63 - 1)")
SHARE = Bound(0.0, 1.0, "a share (0 to 1)")

SCENARIO_LIMITS: dict[str, Bound] = {
    "levers.failure_regime.partner_min_quality": Bound(0.0, 1.0, "a quality level (0 to 1)"),
    "levers.failure_regime.partner_capacity": Bound(1, 50, "mandated partnerships one partner may lead (1 to 50)"),
    "levers.collaborative_duty.start_month": MONTH,
    "levers.voluntary.hazard_scale": Bound(0.0, 100.0, "a multiplier (0 to 100)"),
    "levers.approval.months": Bound(0.0, 120.0, "months of approval (0 to 120)"),
    "levers.support_fund.share": SHARE,
    "uncertainties.workforce_shock.size": Bound(-0.5, 0.5, "a shift of level (-0.5 to 0.5)"),
    "uncertainties.workforce_shock.start_month": MONTH,
    "uncertainties.workforce_shock.ramp_months": Bound(1, 240, "months of ramp (1 to 240)"),
    "uncertainties.financial_squeeze.size": Bound(-0.5, 0.5, "a shift of level (-0.5 to 0.5)"),
    "uncertainties.financial_squeeze.start_month": MONTH,
    "uncertainties.financial_squeeze.ramp_months": Bound(1, 240, "months of ramp (1 to 240)"),
    "horizon": HORIZON,
    "replications": REPLICATES,
    "population.n_providers": PROVIDERS,
    "population.n_ics": Bound(1, MAX_ICS, f"a number of ICSs (1 to {MAX_ICS:,}, no more than providers)"),
    "seed": SEED,
}
"""Scenario-file fields (key paths) and their bounds (the command line's options share them: ``analysis.limits``)."""


class NoBoundError(KeyError):
    """A parameter with no physical bound in :data:`PARAM_BOUNDS` (a gap in this module)."""


def param_bound(name: str) -> Bound:
    """The physical bound of the parameter ``name`` (``edge.a->b.lag``, ``mechanism.trust_build``…)."""
    for pattern, bound in PARAM_BOUNDS:
        if fnmatchcase(name, pattern):
            return bound
    raise NoBoundError(f"no physical bound declared for parameter '{name}': add its kind to sim/bounds.py")


def beta_feasible(mean: float, sd: float) -> bool:
    """True when a Beta distribution with this mean and standard deviation exists (sd² < mean·(1−mean))."""
    return 0.0 < mean < 1.0 and 0.0 < sd and sd * sd < mean * (1.0 - mean)
