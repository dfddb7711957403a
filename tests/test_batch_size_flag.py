"""``--batch-size`` reaches the engine from every command that runs many runs, and changes no result.

``run``, ``compare`` and ``sweep`` hand it to the runner (tests/test_runner.py); here the studies:
``sensitivity`` and ``discover`` (through the runner: each stored run records its batch),
``pathways`` and ``cmoc`` (through :func:`analysis.paired.run_tasks`: the chunks of runs handed to
the engine together). ``calibrate`` keeps one design point per task (all that point's runs advance
together in its worker), so it has no such flag.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from analysis import paired
from analysis.cli import main
from analysis.store import read_runs

ROOT = Path(__file__).resolve().parents[1]
BASELINE = str(ROOT / "scenarios" / "baseline.toml")
BUDDYING = str(ROOT / "scenarios" / "mandated_buddying.toml")


def batch_sizes(folder: Path) -> list[int]:
    """Runs per stored batch of the experiment in ``folder``, by batch."""
    runs = read_runs(folder)
    return runs.groupby("batch").size().sort_index().tolist()


def test_sensitivity_hands_the_runner_the_batch_size_asked_and_its_indices_do_not_change(tmp_path):
    argv = ["sensitivity", BASELINE, "--method", "morris", "-N", "4", "--params", "domain.quality.*"]
    argv += ["--outputs", "quality", "--at", "6", "--every", "0", "--n-providers", "20", "--workers", "1"]
    argv += ["--no-figures"]
    assert main([*argv, "--out", str(tmp_path / "auto")]) == 0
    assert main([*argv, "--batch-size", "3", "--out", str(tmp_path / "three")]) == 0
    sizes = batch_sizes(tmp_path / "three" / "experiment")
    runs = sum(sizes)
    assert sizes == [3] * (runs // 3) + ([runs % 3] if runs % 3 else [])
    assert len(batch_sizes(tmp_path / "auto" / "experiment")) < math.ceil(runs / 3)  # the automatic size is larger
    auto = pd.read_parquet(tmp_path / "auto" / "indices.parquet")
    three = pd.read_parquet(tmp_path / "three" / "indices.parquet")
    pd.testing.assert_frame_equal(auto, three)


def test_discover_hands_the_runner_the_batch_size_asked(tmp_path):
    argv = ["discover", BASELINE, "--absolute", "--criterion", "quality@6 > 0.55", "--no-figures"]
    argv += ["--params", "domain.quality.init_mean,domain.quality.rate", "-N", "22", "--n-providers", "20"]
    argv += ["--workers", "1", "--batch-size", "5", "--out", str(tmp_path / "d")]
    assert main(argv) == 0
    assert batch_sizes(tmp_path / "d" / "experiment") == [5, 5, 5, 5, 2]


@pytest.fixture
def chunk_lengths(monkeypatch):
    """The lengths of the chunks of runs :func:`analysis.paired.run_tasks` hands the engine (in this process)."""
    seen: list[int] = []
    real = paired._simulate_chunk

    def spy(chunk):
        seen.append(len(chunk))
        return real(chunk)

    monkeypatch.setattr(paired, "_simulate_chunk", spy)
    return seen


def test_cmoc_hands_the_engine_chunks_of_the_batch_size_asked(tmp_path, chunk_lengths):
    argv = ["cmoc", BUDDYING, "--reps", "3", "--horizon", "24", "--workers", "1", "--min-count", "2"]
    assert main([*argv, "--batch-size", "4", "--out", str(tmp_path / "four")]) == 0
    assert chunk_lengths == [4, 2]  # 3 baseline and 3 policy runs
    chunk_lengths.clear()
    assert main([*argv, "--out", str(tmp_path / "auto")]) == 0
    assert chunk_lengths == [2, 2, 2]  # automatic: at least four chunks per worker where the runs allow
    four = pd.read_csv(tmp_path / "four" / "partnerships.csv")
    auto = pd.read_csv(tmp_path / "auto" / "partnerships.csv")
    pd.testing.assert_frame_equal(four, auto)


def test_pathways_hands_the_engine_chunks_of_the_batch_size_asked(tmp_path, chunk_lengths):
    argv = ["pathways", BUDDYING, "--reps", "2", "--horizon", "12", "--workers", "1", "--no-figures"]
    assert main([*argv, "--batch-size", "1", "--out", str(tmp_path / "one")]) == 0
    assert chunk_lengths and set(chunk_lengths) == {1}
    chunk_lengths.clear()
    assert main([*argv, "--batch-size", "3", "--out", str(tmp_path / "three")]) == 0
    assert max(chunk_lengths) == 3
    one = pd.read_csv(tmp_path / "one" / "pathways.csv")
    three = pd.read_csv(tmp_path / "three" / "pathways.csv")
    pd.testing.assert_frame_equal(one, three)


def test_a_bad_batch_size_is_refused_by_every_study(capsys):
    for command in (["sensitivity", BASELINE], ["discover", BASELINE], ["cmoc", BUDDYING], ["pathways", BUDDYING]):
        with pytest.raises(SystemExit) as exc:
            main([*command, "--batch-size", "0"])
        assert exc.value.code == 2
        assert "--batch-size: 0 is outside [1, 100000]" in capsys.readouterr().err
