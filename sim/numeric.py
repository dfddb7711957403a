"""Sums in numpy's own order, so compiled loops and scalar code match numpy bit for bit.

numpy adds the elements of a contiguous 1-D reduction (``a.sum()``, ``np.mean``) pairwise:
fewer than 8 elements one after another; up to 128 in eight interleaved partial sums
combined as a tree; more, split in halves. ``np.add.reduceat`` adds each segment's first
element to the pairwise sum of the rest. A reduction along the first axis of a 2-D array
(``x.sum(axis=0)``) adds the rows one after another. Functions here reproduce the first two
on a buffer, in plain Python (scalars at formation) and compiled (:mod:`sim.kernels`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PAIRWISE_BLOCK = 128  # numpy's PW_BLOCKSIZE
SEQUENTIAL = 8  # numpy adds fewer elements than this one after another (more: in eight partial sums)


def block_sum(a: Sequence[float], start: int, n: int) -> float:
    """Numpy's sum of at most :data:`PAIRWISE_BLOCK` contiguous elements ``a[start:start + n]``."""
    if n < 8:
        res = 0.0
        for i in range(start, start + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = 8
    stop = n - n % 8
    while i < stop:
        j = start + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[start + i]
        i += 1
    return res


def pairwise_sum(a: Sequence[float], start: int, n: int) -> float:
    """``a[start:start + n].sum()`` in numpy's pairwise order (a contiguous float64 reduction).

    numpy recurses (left half + right half, halves a multiple of 8) down to blocks of
    :data:`PAIRWISE_BLOCK`; the same tree is walked here with an explicit stack (compiled
    code caches badly when it calls itself).
    """
    if n <= PAIRWISE_BLOCK:
        return block_sum(a, start, n)
    first = np.empty(64, dtype=np.int64)
    size = np.empty(64, dtype=np.int64)
    visit = np.zeros(64, dtype=np.int64)
    left = np.empty(64)
    d = 0
    first[0], size[0], visit[0] = start, n, 0
    ret = 0.0
    while d >= 0:
        if visit[d] == 0 and size[d] <= PAIRWISE_BLOCK:
            ret = block_sum(a, first[d], size[d])
            d -= 1
            continue
        half = size[d] // 2
        half -= half % 8
        if visit[d] == 0:  # descend left
            visit[d] = 1
            first[d + 1], size[d + 1], visit[d + 1] = first[d], half, 0
            d += 1
        elif visit[d] == 1:  # left done: descend right
            left[d] = ret
            visit[d] = 2
            first[d + 1], size[d + 1], visit[d + 1] = first[d] + half, size[d] - half, 0
            d += 1
        else:  # both done
            ret = left[d] + ret
            d -= 1
    return ret


def mean(a: Sequence[float]) -> float:
    """``np.mean`` of a 1-D float64 array or list, bit for bit."""
    return pairwise_sum(a, 0, len(a)) / len(a)


def segment_sum(a: Sequence[float], start: int, n: int) -> float:
    """``np.add.reduceat`` of the segment ``a[start:start + n]`` (its first element + the rest pairwise)."""
    if n == 1:
        return a[start]
    return a[start] + pairwise_sum(a, start + 1, n - 1)


def segment_means(a: np.ndarray, first: np.ndarray, size: np.ndarray) -> np.ndarray:
    """:func:`mean` of each segment ``a[first[s]:first[s] + size[s]]`` (segments of at least one element).

    ``a`` is 1-D, or 2-D with the segments along its first axis: then each column's means (one
    row per segment), so that many columns cut the same way cost one pass.

    Segments shorter than 8 are summed one element after another from 0.0, as numpy does, all
    at once: gathered in one go into a table of a row per place in the segments (padded with 0.0:
    a sum started at +0.0 is never -0.0, so the padding changes nothing), whose rows are added in
    turn. Longer ones go through :func:`mean`, column by column.
    """
    out = np.empty((len(first), *a.shape[1:]))
    short = size < 8
    if short.any():
        f, n = first[short], size[short]
        across = (-1,) + (1,) * (a.ndim - 1)  # a segment's count against each of its columns
        place = np.arange(int(n.max()))[:, None]  # a row of the table per place in the segments
        inside = (place < n).reshape(len(place), *across)
        table = np.where(inside, a[np.minimum(place + f, len(a) - 1)], 0.0)
        total = np.zeros((len(f), *a.shape[1:]))
        for row in table:
            total = total + row
        out[short] = total / n.reshape(across)
    for s in np.flatnonzero(~short).tolist():
        segment = a[first[s] : first[s] + size[s]]
        out[s] = [mean(column) for column in segment.T.tolist()] if a.ndim > 1 else mean(segment.tolist())
    return out
