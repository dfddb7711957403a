"""The Watch page's figures, redrawn incrementally: each month only what changed is drawn.

A full matplotlib draw of the partnership network or of the outcome panels costs 100-250 ms
(laying out text and ticks dominates), and Step used to build and draw both figures anew.
Here each figure is built once with :mod:`analysis.faces.diagrams` (the same figures as the
report) and kept with its canvas. The parts that change every month (providers' colours and
special-measures rings, the partnership links, the outcome lines and the stacked
partnerships) are *animated* artists whose data is updated in place; the rest (axes, ticks,
legends, colour bar, ICS circles) is the frame, drawn once and kept as pixels (matplotlib's
blitting). A month then costs: restore the frame, draw the animated artists on top, encode
the PNG. The frame is drawn again only when it changes: a partnership type appears or
vanishes (the legends list the types present), the run passes month 2 (points are marked
until then), or the data outgrow the axes (the time axis doubles: 12, 24, 48, 96 months, up
to the horizon; the level and count axes widen).

No Solara here: :class:`LiveNetwork` and :class:`LiveOutcomes` take a model and return PNG
bytes, and can be checked against a full draw of the same figure.
"""

from __future__ import annotations

import math
import struct
import threading
import zlib
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import FillBetweenPolyCollection, LineCollection, PathCollection

from analysis.faces.diagrams import (
    INDEX_OUTCOMES,
    SHARE_OUTCOMES,
    label,
    network_figure,
    outcome_panels,
    partnership_links,
    type_colour,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from sim import PartnershipModel

DPI = 90
PNG_COMPRESSION = 1  # zlib level: several times faster than the default 6, and as small on flat-coloured charts
# special-measures rings as network_figure draws them (tests/test_dashboard_live.py compares the two)
RING = {True: ("black", 1.8), False: ("#777", 0.4)}
NETWORK_TITLE = "Partnerships now: trusts grouped by ICS"
INDEX_MARGIN = 0.05  # the index panel's limits: the data's range widened by this, on a grid of this step
AREA_ROOM = 0.8  # the stacked partnerships fill at most this share of their panel's height (below its legend)


def encode_png(canvas: FigureCanvasAgg) -> bytes:
    """The canvas's pixels as PNG bytes: RGB rows unfiltered, deflated at a fast level.

    Pillow's encoder (what ``savefig`` uses) filters every row adaptively, which costs two to
    three times as long here and saves nothing on charts of flat colours.
    """
    rgba = np.asarray(canvas.buffer_rgba())
    height, width, _ = rgba.shape
    rows = np.zeros((height, 1 + 3 * width), dtype=np.uint8)  # each row: filter type 0, then R G B …
    rows[:, 1:] = rgba[:, :, :3].reshape(height, -1)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, truecolour, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), PNG_COMPRESSION))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


class Blitter:
    """A figure drawn by blitting: the static frame kept as pixels, animated artists drawn over it."""

    def __init__(self, fig: Figure, animated: list[Artist], dpi: float = DPI) -> None:
        fig.set_dpi(dpi)
        self.fig = fig
        self.canvas = FigureCanvasAgg(fig)
        self.animated = animated
        for a in animated:
            a.set_animated(True)
        self._frame: object | None = None

    def invalidate(self) -> None:
        """The frame has changed (limits, legend): draw it again next time."""
        self._frame = None

    def png(self) -> bytes:
        """The figure now: the kept frame (drawn first if needed) with the animated artists on top."""
        if self._frame is None:
            self.canvas.draw()  # animated artists are left out of a full draw
            self._frame = self.canvas.copy_from_bbox(self.fig.bbox)
        else:
            self.canvas.restore_region(self._frame)
        for a in self.animated:
            self.fig.draw_artist(a)
        return encode_png(self.canvas)

    def full_png(self) -> bytes:
        """The figure drawn in full, every artist in its place (what :meth:`png` must match)."""
        for a in self.animated:
            a.set_animated(False)
        try:
            self.canvas.draw()
            return encode_png(self.canvas)
        finally:
            for a in self.animated:
                a.set_animated(True)
            self._frame = None


class LiveNetwork:
    """The partnership network of one model, redrawn month by month (see the module's docstring)."""

    def __init__(self, model: PartnershipModel, dpi: float = DPI) -> None:
        self.dpi = dpi
        self._lock = threading.Lock()
        self._month = -1
        self._png = b""
        self._build(model, partnership_links(model))

    def _build(self, model: PartnershipModel, links: list[tuple[int, int, str]]) -> None:
        fig = network_figure(
            quality=model.levels[:, model.quality_col],
            ics=model.pop.ics,
            in_sm=model.in_sm,
            links=links,
            theory=model.theory,
            band_good=model.band_good,
            title=NETWORK_TITLE,
        )
        ax = fig.axes[0]
        self.scatter = next(c for c in ax.collections if isinstance(c, PathCollection))
        self.links = next((c for c in ax.collections if isinstance(c, LineCollection)), None)
        self.types = frozenset(t for _, _, t in links)
        self.colours = {t: type_colour(model.theory, t) for t in model.theory.type_names}
        self.pos = np.asarray(self.scatter.get_offsets(), dtype=float)
        self.blit = Blitter(fig, [a for a in (self.links, self.scatter) if a is not None], self.dpi)

    def update(self, model: PartnershipModel) -> None:
        """Move the animated artists to the model's month (rebuild the figure if its legend must change)."""
        links = partnership_links(model)
        if frozenset(t for _, _, t in links) != self.types:
            self._build(model, links)  # a type appeared or vanished: the legend lists the types present
            return
        rings = [RING[bool(s)] for s in np.asarray(model.in_sm)]
        self.scatter.set_array(model.levels[:, model.quality_col])
        self.scatter.set_edgecolor([c for c, _ in rings])
        self.scatter.set_linewidth([w for _, w in rings])
        if self.links is not None:
            ends = np.asarray([(i, j) for i, j, _ in links], dtype=int).reshape(-1, 2)
            self.links.set_segments(list(np.stack([self.pos[ends[:, 0]], self.pos[ends[:, 1]]], axis=1)))
            self.links.set_color([self.colours[t] for _, _, t in links])

    def png(self, model: PartnershipModel) -> bytes:
        """The network in the model's current month, as PNG bytes."""
        with self._lock:
            if model.month != self._month:
                self.update(model)
                self._png, self._month = self.blit.png(), model.month
            return self._png


def x_limit(month: int, horizon: int) -> int:
    """Right end of the time axis: 12 months, doubled as the run passes it, at most the horizon."""
    end = 12
    while end < month:
        end *= 2
    return max(12, min(end, horizon)) if month <= horizon else month


def widened(lo: float, hi: float, limits: tuple[float, float], step: float) -> tuple[float, float]:
    """``limits``, or wider ones on a grid of ``step`` if [lo, hi] does not fit in them."""
    if limits[0] <= lo and hi <= limits[1]:
        return limits
    return (
        min(limits[0], math.floor((lo - step / 2) / step) * step),
        max(limits[1], math.ceil((hi + step / 2) / step) * step),
    )


class LiveOutcomes:
    """One run's outcome panels (shares, mean levels, partnerships by type), redrawn month by month."""

    def __init__(self, model: PartnershipModel, title: str = "", dpi: float = DPI) -> None:
        self.dpi = dpi
        self.title = title
        self.horizon = int(model.horizon)
        self.type_label = {label(t): t for t in model.theory.type_names}
        self._lock = threading.Lock()
        self._month = -1
        self._png = b""
        self._build(model, model.datacollector.get_model_vars_dataframe())

    def _build(self, model: PartnershipModel, series: pd.DataFrame) -> None:
        fig = outcome_panels(series, model.theory, title=self.title)
        self.axes = fig.axes[:3]
        self.axes[2].set_axisbelow(True)  # grid under the areas, as blitting draws them (over the frame)
        self.marked = len(series) < 3  # outcome_panels marks the points of a run of 1-2 months (and its legend)
        column = {name: col for col, name, _ in (*SHARE_OUTCOMES, *INDEX_OUTCOMES)}
        self.scale = {col: 100.0 for col, _, _ in SHARE_OUTCOMES}
        self.lines: dict[str, Line2D] = {
            column[str(ln.get_label())]: ln
            for ax in self.axes[:2]
            for ln in ax.get_lines()
            if str(ln.get_label()) in column
        }
        self.fills: dict[str, FillBetweenPolyCollection] = {
            self.type_label[str(c.get_label())]: c
            for c in self.axes[2].collections
            if isinstance(c, FillBetweenPolyCollection) and str(c.get_label()) in self.type_label
        }
        self.types = self.present(series, model)
        self.xlim = (0.0, float(x_limit(len(series) - 1, self.horizon)))
        self.index_lim = (math.inf, -math.inf)
        self.count_lim = (0.0, 10.0)
        spines = [sp for ax in self.axes for sp in ax.spines.values() if sp.get_visible()]  # drawn over the data
        self.blit = Blitter(fig, [*self.lines.values(), *self.fills.values(), *spines], self.dpi)
        self.room = self._room_below_legend()
        self.axes[0].set_xlim(*self.xlim)
        self._fit(series)

    def _room_below_legend(self) -> float:
        """Share of the partnerships panel's height the areas may fill without reaching its legend."""
        legend = self.axes[2].get_legend()
        if legend is None:
            return AREA_ROOM
        box = legend.get_window_extent(self.blit.canvas.get_renderer()).transformed(self.axes[2].transAxes.inverted())
        return max(0.3, min(AREA_ROOM, box.y0 - 0.03))

    @staticmethod
    def present(series: pd.DataFrame, model: PartnershipModel) -> frozenset[str]:
        """Partnership types active in some month so far (the panel's legend lists these)."""
        return frozenset(
            t for t in model.theory.type_names if f"n_{t}" in series and series[f"n_{t}"].to_numpy().max() > 0
        )

    def _fit(self, series: pd.DataFrame) -> None:
        """Widen the limits the data has outgrown (then the frame must be drawn again)."""
        month = len(series) - 1
        xlim = (0.0, float(x_limit(month, self.horizon)))
        idx = np.concatenate([series[c].to_numpy(dtype=float) for c, _, _ in INDEX_OUTCOMES if c in series])
        index_lim = widened(float(idx.min()), float(idx.max()), self.index_lim, INDEX_MARGIN)
        total = sum(series[f"n_{t}"].to_numpy(dtype=float).max() for t in self.fills) if self.fills else 0.0
        top = total / self.room
        count_lim = self.count_lim if top <= self.count_lim[1] else (0.0, float(10 * math.ceil(top / 10)))
        if (xlim, index_lim, count_lim) != (self.xlim, self.index_lim, self.count_lim):
            self.xlim, self.index_lim, self.count_lim = xlim, index_lim, count_lim
            self.axes[0].set_xlim(*xlim)
            self.axes[1].set_ylim(*index_lim)
            self.axes[2].set_ylim(*count_lim)
            self.blit.invalidate()

    def update(self, model: PartnershipModel) -> None:
        """Move the lines and areas to the model's month (rebuild the figure if its legend must change)."""
        series = model.datacollector.get_model_vars_dataframe()
        if self.present(series, model) != self.types or (len(series) < 3) != self.marked:
            self._build(model, series)  # the legends change: types present, markers
            return
        months = np.arange(len(series))
        for col, line in self.lines.items():
            line.set_data(months, self.scale.get(col, 1.0) * series[col].to_numpy(dtype=float))
        bottom = np.zeros(len(series))
        for t in model.theory.type_names:
            if t in self.fills:
                top = bottom + series[f"n_{t}"].to_numpy(dtype=float)
                self.fills[t].set_data(months, bottom, top)
                bottom = top
        self._fit(series)

    def png(self, model: PartnershipModel) -> bytes:
        """The panels up to the model's current month, as PNG bytes."""
        with self._lock:
            if model.month != self._month:
                self.update(model)
                self._png, self._month = self.blit.png(), model.month
            return self._png
