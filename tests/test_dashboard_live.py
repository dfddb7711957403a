"""The Watch page's incremental figures draw exactly what a full draw of the same figure draws."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from analysis.faces.dashboard.live import (
    DPI,
    NETWORK_TITLE,
    LiveNetwork,
    LiveOutcomes,
    encode_png,
    widened,
    x_limit,
)
from analysis.faces.dashboard.model import DashboardModel, scenario_library
from analysis.faces.diagrams import network_figure, partnership_links


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


@pytest.fixture(scope="module")
def buddying():
    return str(scenario_library()["mandated_buddying"].path)


def test_png_encoding_round_trips_the_canvas_pixels():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1.5), dpi=50)
    fig.add_subplot().plot([0, 1, 2], [1, 0, 1], color="tab:red")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    assert (pixels(encode_png(canvas)) == rgba[:, :, :3]).all()


def test_the_network_drawn_month_by_month_equals_a_fresh_network_figure(buddying):
    model = DashboardModel(buddying, seed=3)
    live = LiveNetwork(model)
    for _ in range(14):  # partnerships form, end and change type; trusts enter and leave special measures
        model.step()
        png = live.png(model)
    fresh = network_figure(
        quality=model.levels[:, model.quality_col],
        ics=model.pop.ics,
        in_sm=model.in_sm,
        links=partnership_links(model),
        theory=model.theory,
        band_good=model.band_good,
        title=NETWORK_TITLE,
    )
    fresh.set_dpi(DPI)
    canvas = FigureCanvasAgg(fresh)
    canvas.draw()
    assert (pixels(png) == pixels(encode_png(canvas))).all()
    assert (pixels(png) == pixels(live.blit.full_png())).all()


@pytest.mark.parametrize("months", [1, 2, 5, 13, 30])  # markers (months 0-1), the time axis growing at 13 and 25
def test_the_outcomes_drawn_month_by_month_equal_a_full_draw(buddying, months):
    model = DashboardModel(buddying, seed=3, workforce_shock=0.1)
    live = LiveOutcomes(model, title="test")
    for _ in range(months):
        model.step()
        png = live.png(model)
    assert (pixels(png) == pixels(live.blit.full_png())).all()
    series = model.datacollector.get_model_vars_dataframe()
    assert len(live.lines["share_good_or_outstanding"].get_xdata()) == len(series) == months + 1
    assert live.axes[0].get_xlim()[1] >= months


def test_most_months_draw_only_the_animated_artists(buddying, monkeypatch):
    model = DashboardModel(buddying, seed=3)
    network, outcomes = LiveNetwork(model), LiveOutcomes(model)
    for _ in range(3):  # past the months with markers
        model.step()
        network.png(model), outcomes.png(model)
    full_draws = []
    draw = FigureCanvasAgg.draw
    monkeypatch.setattr(FigureCanvasAgg, "draw", lambda self: full_draws.append(1) or draw(self))
    for _ in range(9):  # months 4-12: the time axis holds; a partnership type may appear or vanish
        model.step()
        network.png(model), outcomes.png(model)
    assert len(full_draws) <= 4, f"{len(full_draws)} full draws in 9 months of two figures"


def test_the_time_axis_doubles_and_stops_at_the_horizon():
    assert [x_limit(m, 120) for m in (0, 12, 13, 24, 25, 48, 49, 97, 120)] == [12, 12, 24, 24, 48, 48, 96, 120, 120]
    assert x_limit(5, 6) == 12


def test_limits_widen_only_when_the_data_leaves_them():
    assert widened(0.5, 0.6, (0.4, 0.7), 0.05) == (0.4, 0.7)
    lo, hi = widened(0.38, 0.6, (0.4, 0.7), 0.05)
    assert lo < 0.38 and hi == 0.7
