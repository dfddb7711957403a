#!/usr/bin/env python3
"""The golden baseline: a digest of a few runs with most levers on.

``tests/test_golden.py`` recomputes these runs and compares them with ``tests/golden/runs.json``.
Any change to the model's results, wanted or not, fails that test. When a change of results is
intended (a new mechanism, a new default value), regenerate the file on purpose and say why in
the commit message::

    .venv/bin/python scripts/golden.py --write
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "runs.json"
SEEDS = (11, 12)
HORIZON = 120
KEY_METRICS = (
    "mean_quality",
    "mean_efficiency",
    "mean_access",
    "share_special_measures",
    "share_in_deficit",
    "partnerships_active",
    "mean_trust",
    "mean_behaviour",
)
KEY_MONTHS = (12, 60, 120)
# name -> flat keyword parameters of sim.run (levers, uncertainties, start state)
CONFIGS: dict[str, dict[str, Any]] = {
    "baseline": {},
    "mergers_fast_approval": {
        "failure_regime_enabled": True,
        "failure_regime_intervention": "merger",
        "approval_months": 12,
    },
    "buddying_capacity_2": {
        "failure_regime_enabled": True,
        "failure_regime_intervention": "buddying",
        "failure_regime_partner_capacity": 2,
    },
    "duty_and_voluntary": {
        "collaborative_duty_enabled": True,
        "collaborative_duty_start_month": 6,
        "voluntary_enabled": True,
        "voluntary_type_mix": {"network": 2.0, "group": 1.0, "contractual_jv": 1.0},
    },
    "voluntary_shocks_fund": {
        "voluntary_enabled": True,
        "voluntary_hazard_scale": 2.0,
        "voluntary_type_mix": {
            "individual_partnering": 1.0,
            "corporate_jv": 1.0,
            "vertical_ico": 1.0,
            "merger": 1.0,
            "acquisition": 1.0,
        },
        "workforce_shock_size": 0.05,
        "workforce_shock_start_month": 24,
        "financial_squeeze_size": 0.04,
        "support_fund_share": 0.5,
    },
    "no_start_management_contracts": {
        "failure_regime_enabled": True,
        "failure_regime_intervention": "management_contract",
        "start_partnerships": "none",
    },
}


def digest(values: np.ndarray) -> str:
    """sha256 of the values rounded to 8 decimals (robust to the last bits of a different BLAS)."""
    return hashlib.sha256(np.ascontiguousarray(np.round(values, 8)).tobytes()).hexdigest()


def compute() -> dict[str, Any]:
    """Run every configuration for every seed; return the golden record."""
    import sim

    out: dict[str, Any] = {}
    for name, params in CONFIGS.items():
        for seed in SEEDS:
            res = sim.run(dict(params), seed, HORIZON)
            series = res.series.drop(columns=["step", "date"]).to_numpy(dtype=float)
            log = res.partnerships
            numeric = log.select_dtypes(include=[np.number, bool]).to_numpy(dtype=float)
            out[f"{name}/{seed}"] = {
                "series": digest(np.nan_to_num(series, nan=-1.0)),
                "partnerships": digest(np.nan_to_num(numeric, nan=-1.0)) if len(log) else "",
                "n_partnerships": int(len(log)),
                "key": {f"{m}@{t}": float(res.series[m].iloc[t]) for m in KEY_METRICS for t in KEY_MONTHS},
            }
    return out


def main(argv: list[str] | None = None) -> int:
    """Print or write the golden record."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--write", action="store_true", help=f"overwrite {GOLDEN.relative_to(ROOT)}")
    args = p.parse_args(argv)
    record = compute()
    text = json.dumps(record, indent=1, sort_keys=True) + "\n"
    if args.write:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text)
        print(f"wrote {GOLDEN.relative_to(ROOT)} ({len(record)} runs)")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
