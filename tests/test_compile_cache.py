"""The compiled engine's cache follows the model's source (sim/compile_cache.py).

numba keys a cached function on its own file only; the kernels inline sim/relations.py, so without
the refresh an edited equation would be ignored by every run until the cache was deleted by hand.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim import compile_cache

ROOT = Path(__file__).resolve().parents[1]


class FakeCache:
    def __init__(self) -> None:
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1


class FakeDispatcher:
    def __init__(self) -> None:
        self._cache = FakeCache()


def test_refresh_empties_the_cache_once_per_change_of_any_source(tmp_path: Path) -> None:
    (tmp_path / "kernels.py").write_text("x = 1\n")
    (tmp_path / "relations.py").write_text("W = 0.5\n")
    marker = compile_cache.marker_path(tmp_path, None)
    kernels = [FakeDispatcher(), FakeDispatcher()]

    assert compile_cache.refresh(tmp_path, marker, kernels)  # no record of the sources: flushed
    assert [k._cache.flushes for k in kernels] == [1, 1] and marker.is_file()
    assert not compile_cache.refresh(tmp_path, marker, kernels)  # unchanged: the cache is kept
    assert [k._cache.flushes for k in kernels] == [1, 1]

    (tmp_path / "relations.py").write_text("W = 0.6\n")  # an edit of a file the kernels inline
    assert compile_cache.refresh(tmp_path, marker, kernels)
    assert [k._cache.flushes for k in kernels] == [2, 2]
    assert not compile_cache.refresh(tmp_path, marker, kernels)

    (tmp_path / "new.py").write_text("")  # a new module counts too
    assert compile_cache.refresh(tmp_path, marker, kernels)


def test_a_configured_cache_folder_holds_the_marker(tmp_path: Path) -> None:
    assert compile_cache.marker_path(tmp_path, str(tmp_path / "nb")) == tmp_path / "nb" / compile_cache.MARKER
    assert compile_cache.marker_path(tmp_path, None) == tmp_path / "__pycache__" / compile_cache.MARKER


PROBE = (
    "import sim; r = sim.run({'failure_regime_enabled': True}, 3, 24); "
    "print(sim.__file__); print(repr(float(r.series['mean_quality'].iloc[-1])))"
)


@pytest.mark.slow
def test_an_edited_equation_changes_the_next_run(tmp_path: Path) -> None:
    """End to end: a copy of sim/ run, its relations.py edited, run again (compiles twice, ~1 min)."""
    shutil.copytree(ROOT / "sim", tmp_path / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")

    def run() -> str:
        env = {**os.environ, "PYTHONPATH": str(tmp_path)}
        out = subprocess.run(
            [sys.executable, "-c", PROBE], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
        )
        where, value = out.stdout.strip().splitlines()[-2:]
        assert Path(where).is_relative_to(tmp_path)  # the copy ran, not the repository's sim/
        return value

    before = run()
    relations = tmp_path / "sim" / "relations.py"
    text = relations.read_text()
    assert text.count("- m.progress_w_conflict * conflict") == 1
    relations.write_text(text.replace("- m.progress_w_conflict * conflict", "- 5.0 * m.progress_w_conflict * conflict"))
    edited = run()
    relations.write_text(text)
    assert edited != before  # the kernels were recompiled from the edited source
    assert run() == before  # and again from the restored one


def test_loading_the_engine_leaves_scipy_linalg_unimported_and_importable() -> None:
    """numba's BLAS check is answered without importing scipy.linalg (sim/numba_setup.py), and only then.

    In a fresh process: the engine loaded and a policy run done (``sim.run_many``: ``sim.run`` builds a
    Mesa model, and Mesa imports ``scipy.spatial``), ``scipy.linalg`` is not imported; it
    imports afterwards as always (the refused import was put back); and a process that imported
    ``scipy.linalg`` first gets numba's BLAS check as numba would give it, with the same run.
    """
    script = """
import sys
first = sys.argv[1] == "scipy-first"
if first:
    import scipy.linalg
import sim
sim.warm_up()
policy = {"failure_regime_enabled": True, "failure_regime_intervention": "buddying"}
quality = float(sim.run_many([(policy, 3)], 24)[0].series.iloc[-1]["mean_quality"])
linalg_loaded = "scipy.linalg" in sys.modules
import numba.np.arraymath
import scipy.linalg
print(linalg_loaded, numba.np.arraymath._HAVE_BLAS, scipy.linalg.cython_blas.__name__, repr(quality))
"""
    out = {}
    for mode in ("engine-first", "scipy-first"):
        res = subprocess.run([sys.executable, "-c", script, mode], cwd=ROOT, capture_output=True, text=True, check=True)
        out[mode] = res.stdout.split()
    loaded, blas, name, quality = out["engine-first"]
    assert (loaded, blas, name) == ("False", "False", "scipy.linalg.cython_blas")
    assert out["scipy-first"][:3] == ["True", "True", "scipy.linalg.cython_blas"]
    assert out["scipy-first"][3] == quality  # the same run whichever way the check answered
