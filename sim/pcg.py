"""numpy's PCG64 bit generator and its standard normal draws, compiled: the same numbers from the same state.

Every run draws its monthly noise (2,170 normals a month for 217 trusts) from its own ``noise``
stream, a numpy ``Generator`` over a ``PCG64`` bit generator (:mod:`sim.rng`). Drawing them one
run at a time through numpy costs more than the month's arithmetic; drawing them inside the
compiled domain update (:func:`sim.kernels.update_domains`) costs a third of it. The functions
here are numpy's own algorithms, step for step: the 128-bit linear congruential step with the
XSL-RR output of ``pcg64.h`` (128-bit products from 64-bit halves), and the 256-strip ziggurat of
``random_standard_normal`` (``distributions.c``), with the ziggurat tables numba ships for its own
port of numpy's generators.

The compiled draws read and write the Generator's own state: :func:`state_view` is a view of the
four 64-bit words (state and increment, low word first) in the bit generator's memory, so the
Generator stays where numpy would have left it and whatever draws from it next gets the same
numbers. ``state_view`` checks the layout against ``bit_generator.state`` and returns None
where it differs (another platform or numpy version): such a run draws through numpy instead.
``tests/test_engine.py`` holds long streams of these draws equal to numpy's, bit for bit.
"""

from __future__ import annotations

import ctypes

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic
from numba.np.random._constants import fi_double, ki_double, wi_double, ziggurat_nor_inv_r, ziggurat_nor_r

_MUL_HI = np.uint64(2549297995355413924)  # PCG_DEFAULT_MULTIPLIER_128
_MUL_LO = np.uint64(4865540595714422341)
_LOW32 = np.uint64(0xFFFFFFFF)
_LOW52 = np.uint64(0x000FFFFFFFFFFFFF)
_0, _1, _8, _11, _32, _58, _63, _255 = (np.uint64(v) for v in (0, 1, 8, 11, 32, 58, 63, 255))


def state_view(gen: np.random.Generator) -> np.ndarray | None:
    """The PCG64 state of ``gen`` as uint64[4] (state low, high; increment low, high), a view of its memory.

    None if ``gen`` is not over PCG64 or its state is not laid out as expected.
    """
    bitgen = gen.bit_generator
    if type(bitgen) is not np.random.PCG64:
        return None
    inner = ctypes.c_void_p.from_address(bitgen.ctypes.state_address).value  # pcg64_state.pcg_state
    if not inner:
        return None
    view = np.ctypeslib.as_array((ctypes.c_uint64 * 4).from_address(inner))
    words = bitgen.state["state"]
    mask = (1 << 64) - 1
    want = [words["state"] & mask, words["state"] >> 64, words["inc"] & mask, words["inc"] >> 64]
    return view if view.tolist() == want else None


@intrinsic
def _words_at(typingctx, address):  # type: ignore[no-untyped-def]
    """The uint64 words at ``address`` as a pointer compiled code can index (``numba.carray``)."""
    sig = types.CPointer(types.uint64)(types.intp)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

    return sig, codegen


@numba.njit(cache=True, inline="always")
def state_at(address):  # type: ignore[no-untyped-def]
    """The four words of a PCG64 state at ``address`` (``state_view(gen).ctypes.data``), as an array."""
    return numba.carray(_words_at(address), 4)


@numba.njit(cache=True, inline="always")
def _mulhi(a, b):  # type: ignore[no-untyped-def]
    """The high 64 bits of the 128-bit product of two uint64."""
    a0, a1 = a & _LOW32, a >> _32
    b0, b1 = b & _LOW32, b >> _32
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    mid = (p00 >> _32) + (p01 & _LOW32) + (p10 & _LOW32)
    return p11 + (p01 >> _32) + (p10 >> _32) + (mid >> _32)


@numba.njit(cache=True, inline="always")
def next_uint64(s):  # type: ignore[no-untyped-def]
    """``pcg64_random_r``: step the 128-bit state ``s`` (uint64[4], in place), then its XSL-RR output."""
    lo, hi = s[0], s[1]
    prod_lo = lo * _MUL_LO
    prod_hi = _mulhi(lo, _MUL_LO) + lo * _MUL_HI + hi * _MUL_LO
    new_lo = prod_lo + s[2]
    new_hi = prod_hi + s[3] + (_1 if new_lo < prod_lo else _0)
    s[0], s[1] = new_lo, new_hi
    x = new_hi ^ new_lo
    rot = new_hi >> _58
    return (x >> rot) | (x << ((_0 - rot) & _63))


@numba.njit(cache=True, inline="always")
def next_double(s):  # type: ignore[no-untyped-def]
    """A uniform double in [0, 1) from the top 53 bits (numpy's ``next_double``)."""
    return float(next_uint64(s) >> _11) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True, inline="always")
def standard_normal(s):  # type: ignore[no-untyped-def]
    """The ziggurat of numpy's ``random_standard_normal``, drawing from the PCG64 state ``s``."""
    while True:
        r = next_uint64(s)
        idx = r & _255
        r >>= _8
        rabs = (r >> _1) & _LOW52
        x = float(rabs) * wi_double[idx]
        if r & _1:
            x = -x
        if rabs < ki_double[idx]:
            return x  # 99.3% of draws
        if idx == 0:  # the base strip's tail
            while True:
                xx = -ziggurat_nor_inv_r * np.log1p(-next_double(s))
                yy = -np.log1p(-next_double(s))
                if yy + yy > xx * xx:
                    return -(ziggurat_nor_r + xx) if (rabs >> _8) & _1 else ziggurat_nor_r + xx
        elif (fi_double[idx - 1] - fi_double[idx]) * next_double(s) + fi_double[idx] < np.exp(-0.5 * x * x):
            return x


@numba.njit(cache=True)
def fill_standard_normal(s, out):  # type: ignore[no-untyped-def]
    """``Generator.standard_normal(out=out)`` for a 1-D ``out``, from the state ``s``."""
    for i in range(out.shape[0]):
        out[i] = standard_normal(s)
