"""docs/tutorial.ipynb runs from start to end against this checkout, in a scratch folder, and writes what it says."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pandas as pd
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"


def _kernel_of_this_interpreter(folder: Path) -> Path:
    """A ``python3`` kernel spec that runs this interpreter (so the notebook sees this environment)."""
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"}))
    return folder


def _text(nb: nbformat.NotebookNode) -> str:
    """Everything the executed notebook printed or displayed as text."""
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output["text"])
            elif "data" in output:
                parts.append(output["data"].get("text/plain", ""))
    return "\n".join(parts)


def test_the_tutorial_runs_with_this_checkouts_code_and_writes_its_results(tmp_path, monkeypatch):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert not [c for c in nb.cells if c.cell_type == "code" and c.get("outputs")], "store the notebook without outputs"
    monkeypatch.setenv("JUPYTER_PATH", str(_kernel_of_this_interpreter(tmp_path / "jupyter")))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    work = tmp_path / "work"  # the notebook writes results/tutorial/ here, not in the repository
    work.mkdir()

    NotebookClient(nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(work)}}).execute()

    text = _text(nb)
    assert f"partnersim code from {ROOT}" in text
    assert "exit code 0" in text
    out = work / "results" / "tutorial"
    compare = json.loads((out / "compare" / "manifest.json").read_text())
    assert [s["name"] for s in compare["scenarios"]] == ["baseline", "mandated_mergers"]
    assert compare["counts"]["ok"] == compare["counts"]["total"] == 2 * 4
    sweep = pd.read_csv(out / "sweep" / "sweep.csv")
    assert sorted(sweep["support_fund.share"].dropna().unique()) == [0.0, 0.5, 1.0]
    assert set(sweep["outcome"]) == {"mean_efficiency", "mean_quality"} and set(sweep["month"]) == {12, 36}
    assert (out / "sweep" / "sweep.xlsx").is_file()
    assert (out / "tutorial.png").stat().st_size > 10_000
    figures = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(figures) == 1
