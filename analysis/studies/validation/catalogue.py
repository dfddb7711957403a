"""The catalogue: every check, and the facts the model cannot speak to (with the reason)."""

from __future__ import annotations

from analysis.studies.validation.catalogue_mechanisms import MECHANISMS
from analysis.studies.validation.catalogue_mergers import MERGERS
from analysis.studies.validation.catalogue_regulation import REGULATION
from analysis.studies.validation.checks import Check

CHECKS: tuple[Check, ...] = (*REGULATION, *MERGERS, *MECHANISMS)
CHECK_NAMES = tuple(c.name for c in CHECKS)
NOT_TESTED: tuple[tuple[str, str], ...] = (
    (
        "fact 4: consolidation is mostly mandated and reactive",
        "who is consolidated, and when, is a policy lever of the scenario (failure regime), not an output",
    ),
    (
        "fact 11: mandated buddying works only with acceptance, resources and partner capacity",
        "the partner's capacity cost (partnering.lead_cost) and the capacity limit are modelled and tested "
        "(tests/test_mechanisms.py), and acceptance enters as lower initial faith, but the evidence gives no figure "
        "to compare a model value with",
    ),
    (
        "fact 12: groups and shared leadership spread after 2020",
        "the July 2022 groups are seeded from the 2024 figures (groups_by_2024 checks that they survive); the "
        "model has no diffusion process that would let the spread itself be checked",
    ),
    (
        "fact 13: financial distress is cyclical (5% → 66% → 44% in deficit)",
        "the model has no macro-financial cycle; only the sector deficit of 2023/24 is checked",
    ),
    ("fact 14: COVID-19 boosted collaboration", "no pandemic or competition-rule regime in the model"),
    (
        "merger prevalence (~112 of ~223 acute trusts merged 1997-2006)",
        "merger counts follow from the levers chosen, not from the theory",
    ),
    (
        "transaction time 4-5 years; £2bn for 12 mergers; acquisition support £263m",
        "approval time is an input (typology approval_months, lever approval.months); money is not modelled",
    ),
    (
        "Keogh 11 one year on (2 good, 3 exit, 5 stayed, 1 failing)",
        "overlaps the 5-of-27 turnaround figure, which has the larger sample",
    ),
    (
        "HSMR fell 9.5% vs 3.3%; vanguard admissions +12% vs +3.5-8.8%; care-home admissions -18 to -27%",
        "the model has no mortality or admissions scale; access and quality are 0-1 indices (only timing is checked)",
    ),
    (
        "job satisfaction +0.03 to +0.06 points; sickness absence (Norway)",
        "no satisfaction or absence scale; checked only as 'small' in workforce s.d. units",
    ),
    (
        "IT integration (Epic ~18-month build, overruns)",
        "used to set the it_systems rate, so not an independent check",
    ),
    (
        "outside the NHS: 60-90% of mergers miss planned benefits (NHSI/Cass 2016)",
        "used, with the NHS figure, to set the realisation draw's mean, so not an independent check",
    ),
)
