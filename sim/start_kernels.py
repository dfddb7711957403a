"""The groups and remembered histories of July 2022, compiled (numba): the same draws, the same pairs.

``formation.seed_start_partnerships`` pairs trusts into groups and gives half of them a remembered
past partnership, drawing from the run's ``start`` stream as it goes: a permutation of the trusts,
then for each pair formed a partner among the free trusts of its ICS and an age, then a uniform
number per trust, then for each remembering trust one of the others of its ICS and a normal draw.
The partner pools depend on the partners drawn before, and each bounded integer is drawn alone, so
numpy cannot draw them at once: in Python these draws and the scans between them were two thirds of
building a run (about 3.5 of 5.5 ms). :func:`groups_and_histories` does the same walk compiled, with
numpy's own algorithms on the stream's PCG64 state (:mod:`sim.pcg` steps it): 32-bit words taken
from the generator's buffer (half of a 64-bit output kept for the next call, as ``pcg64_next32``),
Lemire's bounded integers (``buffered_bounded_lemire_uint32``: ``Generator.integers``), the masked
rejection of ``random_interval`` (``Generator.permutation``'s Fisher-Yates shuffle), ``next_double``
and the ziggurat of ``random_standard_normal``. :func:`state_words` and :func:`set_state` move the
state between the Generator and the kernel through ``bit_generator.state``, so the Generator is left
where numpy would have left it. ``tests/test_build.py`` holds the kernel equal to the Python walk
and its draws to numpy's, bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np

from sim import compile_cache, pcg

_0, _1, _32 = (np.uint64(v) for v in (0, 1, 32))
_LOW32 = np.uint64(0xFFFFFFFF)
_MASK64 = (1 << 64) - 1
LO, HI, INC_LO, INC_HI, HAS_UINT32, UINTEGER = range(6)
"""Slots of a stream's state words (:func:`state_words`): the PCG64 state and increment, low word
first, and the generator's buffered 32-bit half (a flag and the word)."""


def state_words(gen: np.random.Generator) -> np.ndarray:
    """The PCG64 state of ``gen`` with its 32-bit buffer, as uint64[6] (slots: ``LO`` … ``UINTEGER``)."""
    st = gen.bit_generator.state
    state, inc = st["state"]["state"], st["state"]["inc"]
    words = (state & _MASK64, state >> 64, inc & _MASK64, inc >> 64, st["has_uint32"], st["uinteger"])
    return np.array(words, dtype=np.uint64)


def set_state(gen: np.random.Generator, words: np.ndarray) -> None:
    """Put ``words`` (as :func:`state_words` gives them, moved on by a kernel) back into ``gen``."""
    w = [int(x) for x in words.tolist()]
    gen.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": w[LO] | w[HI] << 64, "inc": w[INC_LO] | w[INC_HI] << 64},
        "has_uint32": w[HAS_UINT32],
        "uinteger": w[UINTEGER],
    }


@numba.njit(cache=True, inline="always")
def _next32(s):  # type: ignore[no-untyped-def]
    """``pcg64_next32`` on the state words ``s`` (their last two slots are the buffered half-word)."""
    return pcg.next_uint32(s, s[HAS_UINT32:])


@numba.njit(cache=True)
def bounded(s, high):  # type: ignore[no-untyped-def]
    """``Generator.integers(high)`` for ``1 <= high < 2**32``: Lemire's method on 32-bit words (none for ``high`` 1)."""
    rng = np.uint64(high - 1)
    if rng == _0:
        return 0
    excl = rng + _1
    m = _next32(s) * excl
    leftover = m & _LOW32
    if leftover < excl:
        threshold = (_LOW32 - rng) % excl
        while leftover < threshold:
            m = _next32(s) * excl
            leftover = m & _LOW32
    return np.int64(m >> _32)


@numba.njit(cache=True)
def permutation(s, n):  # type: ignore[no-untyped-def]
    """``Generator.permutation(n)``: ``arange(n)`` shuffled from the last element down."""
    out = np.arange(n)
    for i in range(n - 1, 0, -1):
        j = pcg.interval(s, s[HAS_UINT32:], i)
        out[i], out[j] = out[j], out[i]
    return out


@numba.njit(cache=True)
def uniform(s):  # type: ignore[no-untyped-def]
    """``Generator.random()``: the top 53 bits of an output over 2**53."""
    u, s[LO], s[HI] = pcg._uniform(s[LO], s[HI], s[INC_LO], s[INC_HI])
    return u


@numba.njit(cache=True)
def normal(s):  # type: ignore[no-untyped-def]
    """``Generator.standard_normal()``: numpy's ziggurat."""
    x, s[LO], s[HI] = pcg._normal(s[LO], s[HI], s[INC_LO], s[INC_HI])
    return x


@numba.njit(cache=True)
def groups_and_histories(  # type: ignore[no-untyped-def]
    s, want, grouped, ics, sector, quality, in_ics, ics_first, age_max, history_share
):
    """Steps 2 and 3 of ``formation.seed_start_partnerships`` on the ``start`` stream's state ``s``.

    Args:
        s: the stream's state words (:func:`state_words`), moved on in place.
        want: trusts to place in groups (pairs are formed while two more fit).
        grouped: providers that cannot join a group (not written).
        ics: each provider's ICS.
        sector: each provider's sector.
        quality: each provider's quality.
        in_ics: the providers by ICS, ascending within each.
        ics_first: the providers of ICS ``c`` are ``in_ics[ics_first[c]:ics_first[c + 1]]``.
        age_max: the groups' oldest age in months.
        history_share: the share of trusts that remember a past partnership.

    Returns:
        The groups' pairs (provider drawn first, partner), leads and ages; the remembering trusts,
        the trust each remembers and the normal draw of each memory.
    """
    n = grouped.shape[0]
    taken = grouped.copy()
    pairs = np.empty((n // 2, 2), dtype=np.int64)
    leads = np.empty(n // 2, dtype=np.int64)
    ages = np.empty(n // 2, dtype=np.int64)
    pool = np.empty(n, dtype=np.int64)
    formed = 0
    for i in permutation(s, n):
        if 2 * formed + 2 > want:
            break
        if taken[i]:
            continue
        size = 0
        for j in in_ics[ics_first[ics[i]] : ics_first[ics[i] + 1]]:  # free trusts of its sector first
            if not taken[j] and j != i and sector[j] == sector[i]:
                pool[size] = j
                size += 1
        if size == 0:
            for j in in_ics[ics_first[ics[i]] : ics_first[ics[i] + 1]]:
                if not taken[j] and j != i:
                    pool[size] = j
                    size += 1
        if size == 0:
            continue
        j = pool[bounded(s, size)]
        pairs[formed, 0], pairs[formed, 1] = i, j
        leads[formed] = j if quality[j] > quality[i] else i
        ages[formed] = bounded(s, age_max + 1)
        taken[i] = taken[j] = True
        formed += 1

    remembers = np.empty(n)
    for i in range(n):
        remembers[i] = uniform(s)
    who = np.empty(n, dtype=np.int64)
    whom = np.empty(n, dtype=np.int64)
    draws = np.empty(n)
    count = 0
    for i in range(n):
        if not remembers[i] < history_share:
            continue
        local = in_ics[ics_first[ics[i]] : ics_first[ics[i] + 1]]
        if len(local) < 2:
            continue
        pick = bounded(s, len(local) - 1)  # one of the others of its ICS (``local`` without ``i``)
        if pick >= np.searchsorted(local, i):
            pick += 1
        who[count], whom[count], draws[count] = i, local[pick], normal(s)
        count += 1
    return pairs[:formed], leads[:formed], ages[:formed], who[:count], whom[:count], draws[:count]


# Last, before any kernel is called: an edit of any file of sim/ must not leave these loops compiled
# from the old source in numba's cache (their own marker).
_HERE = Path(__file__).parent
compile_cache.refresh(
    _HERE,
    compile_cache.marker_path(_HERE, getattr(numba.config, "CACHE_DIR", "") or None).with_name(
        "start_kernels.sources-sha256"
    ),
    [f for f in globals().values() if isinstance(f, numba.core.registry.CPUDispatcher)],
)
