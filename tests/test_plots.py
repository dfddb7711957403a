"""Figures take data and return matplotlib Figures with one panel per outcome or scenario."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.faces import plots


def series(n_reps: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for scen, shift in (("baseline", 0.0), ("policy", 0.02)):
        for r in range(n_reps):
            for step in range(13):
                rows.append((scen, 0, r, step, "mean_quality", 0.5 + shift * step / 12 + rng.normal(0, 0.01)))
                rows.append((scen, 0, r, step, "share_in_deficit", 0.5 - shift + rng.normal(0, 0.01)))
                rows.append((scen, 0, r, step, "n_merger", float(step // 4) if scen == "policy" else 0.0))
                rows.append((scen, 0, r, step, "n_buddying", 1.0 if scen == "policy" else 0.0))
                for ph, v in (("approval", 1.0), ("transition", 0.0), ("operating", step / 6)):
                    rows.append((scen, 0, r, step, f"partnerships_{ph}", v if scen == "policy" else 0.0))
    return pd.DataFrame(rows, columns=["scenario", "point", "replicate", "step", "metric", "value"])


def test_trajectories_draw_median_and_bands_per_scenario() -> None:
    fig = plots.trajectories(series(), ["mean_quality", "share_in_deficit"], labels={"mean_quality": "Quality"})
    assert isinstance(fig, Figure)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 2 and axes[0].get_title() == "Quality"
    assert len(axes[0].lines) == 2 and len(axes[0].collections) == 4  # 2 scenarios x (50% + 90% band)
    median = axes[0].lines[1].get_ydata()
    assert median[-1] > median[0] + 0.01  # the policy's rising median


def test_difference_trajectories_show_the_paired_difference() -> None:
    fig = plots.difference_trajectories(series(), "baseline", ["mean_quality"])
    ax = fig.axes[0]
    mean = ax.lines[0].get_ydata()
    assert ax.lines[0].get_label() == "policy"
    assert abs(mean[-1] - 0.02) < 0.02 and abs(mean[0]) < 0.02
    assert any(line.get_ydata()[0] == 0 for line in ax.lines[1:])  # the zero line


def test_partnerships_figure_has_type_and_phase_rows_per_scenario() -> None:
    fig = plots.partnerships_over_time(series(), start="2022-07")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4  # 2 rows x 2 scenarios
    titles = [ax.get_title() for ax in fig.axes]
    assert "baseline" in titles and "policy" in titles
    policy_types = fig.axes[1]
    labels = {c.get_label() for c in policy_types.collections}
    assert {"merger", "buddying"} <= labels


def test_causal_web_numbers_every_arrow_apart_and_names_it_in_words() -> None:
    from analysis.faces.diagrams import causal_web_figure, label
    from sim import load_theory

    theory = load_theory()
    st = {f"edge.{e.name}.weight": 0.01 * i for i, e in enumerate(theory.edges)}
    fig = causal_web_figure(theory, sensitivity=st)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # places the numbers' circles
    renderer = canvas.get_renderer()
    numbers = [t for ax in fig.axes for t in ax.texts if t.get_gid() == "edge-number"]
    assert sorted(int(t.get_text()) for t in numbers) == list(range(1, len(theory.edges) + 1))
    boxes = [t.get_bbox_patch().get_window_extent(renderer) for t in numbers]
    overlapping = [
        (numbers[i].get_text(), numbers[j].get_text())
        for i in range(len(boxes))
        for j in range(i + 1, len(boxes))
        if boxes[i].overlaps(boxes[j])
    ]
    assert not overlapping, overlapping
    table = [t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid() == "edge-table"]
    for e in theory.edges:
        assert f"{label(e.source)} → {label(e.target)}" in table, e.name
    every_text = " ".join(t.get_text() for ax in fig.axes for t in ax.texts) + " ".join(t.get_text() for t in fig.texts)
    assert "_" not in every_text  # no column names (user_engagement, it_systems) anywhere
