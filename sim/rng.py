"""Named random streams from one seed (common random numbers).

Each stochastic process of the model draws from its own stream, derived from the run's
seed and the stream's name. Turning a lever on therefore adds draws only to the streams
of the processes it touches: the population, the providers' idiosyncratic noise and the
other processes see exactly the same numbers as in the baseline.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

STREAMS = (
    "population",  # initial population (kinds, ICSs, turnover, starting levels)
    "noise",  # monthly idiosyncratic shocks to every provider's domains
    "failure",  # failure regime: choice among capable partners
    "duty",  # collaborative duty: placement of singletons
    "voluntary",  # voluntary partnering: who searches, which type, which partner
    "realisation",  # each partnership's realisation draw (share of its potential benefit it can realise)
    "start",  # the partnerships that existed at the start (July 2022) and remembered histories
    "mesa",  # Mesa's own model.rng / model.random (agent shuffles)
)


def stream_seed(seed: int, name: str) -> np.random.SeedSequence:
    """The SeedSequence of stream ``name`` for run ``seed`` (stable across Python runs)."""
    if name not in STREAMS:
        raise KeyError(f"unknown random stream {name!r}; known: {', '.join(STREAMS)}")
    return np.random.SeedSequence(entropy=int(seed), spawn_key=(zlib.crc32(name.encode()),))


class Streams:
    """One numpy Generator per named process, all derived from ``seed``."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._gens: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._gens.get(name)
        if gen is None:
            gen = np.random.Generator(np.random.PCG64(stream_seed(self.seed, name)))
            self._gens[name] = gen
        return gen


def choice_cdf(p: np.ndarray) -> np.ndarray:
    """The cumulative probabilities ``Generator.choice`` searches when drawing with probabilities ``p`` (1-D)."""
    cdf = p.cumsum()
    cdf /= cdf[-1]
    return cdf


def choose(rng: np.random.Generator, cdf: np.ndarray, size: int | None = None) -> Any:
    """``rng.choice(len(p), size, p=p)`` for ``cdf = choice_cdf(p)``: the same draws, the generator left the same.

    numpy draws one uniform number per pick (``Generator.random``) and finds it in the
    cumulative probabilities (``searchsorted``, right side); this does just that, without
    numpy's checks of ``p`` on every call (about 60 µs each: most of a voluntary search's
    pick of a type). ``p`` must be valid (non-negative, summing to 1). An int, or int64 indices.
    """
    if size is None:
        return int(cdf.searchsorted(rng.random(), side="right"))
    return cdf.searchsorted(rng.random(size), side="right").astype(np.int64)
