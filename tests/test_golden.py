"""The golden baseline: a few runs with most levers on give exactly the recorded results.

A failure means the model's results changed. If that was intended, regenerate the record on
purpose (``.venv/bin/python scripts/golden.py --write``) and say why in the commit message.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import golden  # noqa: E402


@pytest.fixture(scope="module")
def recorded() -> dict:
    return json.loads(golden.GOLDEN.read_text())


@pytest.fixture(scope="module")
def current() -> dict:
    return golden.compute()


def test_golden_record_covers_the_configurations(recorded):
    assert set(recorded) == {f"{n}/{s}" for n in golden.CONFIGS for s in golden.SEEDS}


@pytest.mark.parametrize("run", [f"{n}/{s}" for n in golden.CONFIGS for s in golden.SEEDS])
def test_results_match_the_golden_record(run, recorded, current):
    want, got = recorded[run], current[run]
    for k, v in want["key"].items():  # readable first: which numbers moved
        assert got["key"][k] == pytest.approx(v, rel=1e-9, abs=1e-12, nan_ok=True), (run, k)
    assert got["n_partnerships"] == want["n_partnerships"], run
    assert got["series"] == want["series"], f"{run}: the monthly series changed"
    assert got["partnerships"] == want["partnerships"], f"{run}: the partnership log changed"
