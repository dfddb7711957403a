"""The simplest faces of ``partnersim``: theory, validate, schema."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from analysis.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_theory_prints_every_edge_with_weight_and_lag(capsys, theory):
    assert main(["theory"]) == 0
    out = capsys.readouterr().out
    for e in theory.edges:
        line = next((ln for ln in out.splitlines() if ln.startswith(f"{e.source} -> {e.target} ")), None)
        assert line is not None, f"edge {e.name} missing from `partnersim theory`"
        numbers = [float(x) for x in re.findall(r"-?\d+\.\d+|-?\d+", line)]
        assert round(theory.v(f"edge.{e.name}.weight"), 2) in numbers, line
        assert round(theory.v(f"edge.{e.name}.lag")) in numbers, line
    for d in theory.domain_names:
        assert d in out
    for t in theory.type_names:
        assert t in out


def test_theory_lists_parameters_on_request(capsys, theory):
    assert main(["theory", "--params"]) == 0
    out = capsys.readouterr().out
    for name in ("mechanism.trust_build", "edge.culture->quality.weight", "type.merger.transition_months"):
        assert name in out


def test_validate_baseline_scenario(capsys):
    assert main(["validate", str(ROOT / "scenarios" / "baseline.toml")]) == 0
    assert "ok" in capsys.readouterr().out


def test_validate_default_theory(capsys):
    assert main(["validate", str(ROOT / "scenarios" / "theory" / "irt.toml")]) == 0


def test_schema_is_valid_json(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert isinstance(schema, dict) and schema.get("properties")
    assert "levers" in schema["properties"]


def test_console_script_theory():
    """The installed entry point runs (as a user types it)."""
    exe = Path(sys.executable).with_name("partnersim")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "analysis.cli"]
    proc = subprocess.run([*cmd, "theory"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "governance -> culture" in proc.stdout
