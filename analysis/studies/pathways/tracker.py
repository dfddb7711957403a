"""The route hook: shadows of the policy's deviation along routes inside a run, and blocking.

:class:`RouteHook` is a picklable recipe (built in the worker); installed on a model it wraps
the model's domain update (:class:`_RouteTracker`, which mirrors the equations of
``sim/dynamics.py``: see :mod:`analysis.studies.pathways` for them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.studies.pathways.routes import CHANNELS, Route


@dataclass(frozen=True)
class RouteHook:
    """Track (and optionally block) routes inside a run.

    Attributes:
        routes: the routes to carry shadows for.
        block: indices into ``routes`` of those removed at their outcome.
        block_entries: (channel, domain) inputs removed where they enter (blocks everything
            downstream of them, loops included).
        track: record the population mean of each route's shadow at its outcome every month.
    """

    routes: tuple[Route, ...]
    block: tuple[int, ...] = ()
    block_entries: tuple[tuple[str, str], ...] = ()
    track: bool = True

    def attach(self, model: Any) -> _RouteTracker:
        """Install on ``model`` (replaces its domain update with a wrapped one)."""
        return _RouteTracker(model, self)


class _RouteTracker:
    """The wrapped domain update of one run (see the module docstring for the equations)."""

    def __init__(self, model: Any, hook: RouteHook) -> None:
        th = model.theory
        names = th.domain_names
        edge_index = {e.name: i for i, e in enumerate(th.edges)}
        web = model.web
        self.model = model
        self.hook = hook
        self.original = model.update_domains
        model.update_domains = self
        # Routes share prefixes (a channel's entry, its first edges): one shadow node per prefix.
        dom: list[int] = []
        parent: list[int] = []
        edge: list[int] = []
        chan: list[int] = []
        node_of: dict[tuple[str, tuple[str, ...]], int] = {}
        self.last = np.zeros(len(hook.routes), dtype=np.intp)
        for r, route in enumerate(hook.routes):
            for j, d in enumerate(route.domains):
                key = (route.channel, route.domains[: j + 1])
                if key in node_of:
                    continue
                node_of[key] = len(dom)
                dom.append(names.index(d))
                if j == 0:
                    parent.append(-1)
                    edge.append(-1)
                    chan.append(CHANNELS.index(route.channel))
                else:
                    parent.append(node_of[(route.channel, route.domains[:j])])
                    edge.append(edge_index[f"{route.domains[j - 1]}->{d}"])
                    chan.append(-1)
            self.last[r] = node_of[(route.channel, route.domains)]
        self.dom = np.array(dom, dtype=np.intp)
        self.parent = np.array(parent, dtype=np.intp)
        self.edge = np.array(edge, dtype=np.intp)
        self.chan = np.array(chan, dtype=np.intp)
        self.entry = np.flatnonzero(self.parent < 0)
        self.inner = np.flatnonzero(self.parent >= 0)
        self.rate = web.rate[self.dom] if len(dom) else np.zeros(0)
        self.alpha = web.alpha[self.edge[self.inner]] if len(self.inner) else np.zeros(0)
        self.weight = web.weight[self.edge[self.inner]] if len(self.inner) else np.zeros(0)
        n = model.n
        self.Z = np.zeros((n, len(dom)))
        self.S = np.zeros((n, len(self.inner)))
        blocked = sorted(set(hook.block))
        self.block_cols: list[tuple[int, np.ndarray]] = []
        for col in sorted({int(self.dom[self.last[r]]) for r in blocked}):
            nodes = np.array([self.last[r] for r in blocked if self.dom[self.last[r]] == col], dtype=np.intp)
            self.block_cols.append((col, nodes))
        self.block_entries = [(CHANNELS.index(c), names.index(d)) for c, d in hook.block_entries]
        needed = set(self.chan[self.entry].tolist()) | {c for c, _ in self.block_entries}
        self.needed = needed
        self.trace: list[np.ndarray] = []

    def inputs(self, anchor: np.ndarray, start: np.ndarray) -> np.ndarray:
        """This month's input of each channel to each provider's domains: channels × n × D.

        The convergence channel is the anchors' change not due to the regime's standard support;
        the others are the model's own offsets by channel (``PartnershipModel.offsets``).
        """
        m = self.model
        u = np.zeros((len(CHANNELS), m.n, anchor.shape[1]))
        if 0 in self.needed:
            u[0] = anchor - start - m.support_shift
        if self.needed - {0}:
            offsets = m.offsets()
            for c in self.needed - {0}:
                u[c] = offsets[CHANNELS[c]]
        return u

    def __call__(
        self,
        levels: np.ndarray,
        start: np.ndarray,
        anchor: np.ndarray,
        signals: np.ndarray,
        pressure: np.ndarray,
        shocks: np.ndarray,
        web: Any,
    ) -> None:
        u = self.inputs(anchor, start)
        pressure = pressure.copy()
        if self.Z.shape[1]:
            inner = self.inner
            if len(inner):
                self.S += self.alpha * (self.Z[:, self.parent[inner]] - self.S)
            inp = np.empty_like(self.Z)
            inp[:, self.entry] = u[self.chan[self.entry], :, self.dom[self.entry]].T
            if len(inner):
                inp[:, inner] = self.weight * self.S
            for col, nodes in self.block_cols:
                pressure[:, col] -= inp[:, nodes].sum(axis=1)
            self.Z += self.rate * (inp - self.Z)
        for c, d in self.block_entries:
            pressure[:, d] -= u[c, :, d]
        self.original(levels, start, anchor, signals, pressure, shocks, web)
        if self.hook.track:
            self.trace.append(self.Z[:, self.last].mean(axis=0))

    def result(self) -> np.ndarray | None:
        """Population mean of each route's shadow at its outcome, months (from 0) × routes."""
        if not self.hook.track:
            return None
        rows = [np.zeros(len(self.last))] + self.trace
        return np.array(rows)
