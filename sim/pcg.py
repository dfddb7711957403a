"""numpy's PCG64 bit generator and its standard normal draws, compiled: the same numbers from the same state.

Every run draws its monthly noise (2,170 normals a month for 217 trusts) from its own ``noise``
stream, a numpy ``Generator`` over a ``PCG64`` bit generator (:mod:`sim.rng`). Drawing them one
run at a time through numpy costs more than the month's arithmetic, so :func:`sim.kernels.draw_noise`
draws them compiled. The functions here are numpy's own algorithms, step for step: the 128-bit
linear congruential step with the XSL-RR output of ``pcg64.h`` (the high word of a 128-bit
product in one instruction), and the 256-strip ziggurat of ``random_standard_normal``
(``distributions.c``), with the ziggurat tables numba ships for its own
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
from llvmlite import ir
from numba import types
from numba.extending import intrinsic
from numba.np.random._constants import fi_double, ki_double, wi_double, ziggurat_nor_inv_r, ziggurat_nor_r

from sim import numba_setup  # noqa: F401 - numba's numpy support loaded without scipy.linalg, before any kernel

_MUL_HI = np.uint64(2549297995355413924)  # PCG_DEFAULT_MULTIPLIER_128
_MUL_LO = np.uint64(4865540595714422341)
_LOW32 = np.uint64(0xFFFFFFFF)
_LOW52 = np.uint64(0x000FFFFFFFFFFFFF)
_SIGN = np.array([1.0, -1.0])  # x * -1.0 is -x exactly: the sign bit flipped (a coin-flip branch mispredicts)
_0, _1, _2, _4, _8, _11, _16, _32, _58, _63, _255 = (np.uint64(v) for v in (0, 1, 2, 4, 8, 11, 16, 32, 58, 63, 255))


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


def half_word_view(gen: np.random.Generator) -> np.ndarray | None:
    """The buffered 32-bit half-word of ``gen``'s PCG64 bit generator, as uint32[2] (has one, the word), a view.

    numpy's 32-bit draws (``next_uint32``: a shuffle's bounded integers) take a 64-bit output's
    low half and keep its high half for the next one, beside the state (``pcg64_state``: the
    state's pointer, then ``has_uint32`` and ``uinteger``). None where the layout is not that one.
    """
    bitgen = gen.bit_generator
    if type(bitgen) is not np.random.PCG64 or not _HALF_WORD_LAYOUT:
        return None
    return np.ctypeslib.as_array((ctypes.c_uint32 * 2).from_address(bitgen.ctypes.state_address + 8))


def _half_word_layout() -> bool:
    """Whether a PCG64 keeps its half-word where :func:`half_word_view` reads it (a scratch generator set to one)."""
    bitgen = np.random.PCG64(0)
    state = bitgen.state
    bitgen.state = {**state, "has_uint32": 1, "uinteger": 0x9E3779B9}
    view = np.ctypeslib.as_array((ctypes.c_uint32 * 2).from_address(bitgen.ctypes.state_address + 8))
    return view.tolist() == [1, 0x9E3779B9]


_HALF_WORD_LAYOUT = _half_word_layout()


def _pointer_at(item):  # type: ignore[no-untyped-def]
    """An intrinsic: the ``item`` words at an address as a pointer compiled code can index (``numba.carray``)."""

    @intrinsic
    def at(typingctx, address):  # type: ignore[no-untyped-def]
        sig = types.CPointer(item)(types.intp)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

        return sig, codegen

    return at


_words_at = _pointer_at(types.uint64)
_half_words_at = _pointer_at(types.uint32)


@numba.njit(cache=True, inline="always")
def state_at(address):  # type: ignore[no-untyped-def]
    """The four words of a PCG64 state at ``address`` (``state_view(gen).ctypes.data``), as an array."""
    return numba.carray(_words_at(address), 4)


@numba.njit(cache=True, inline="always")
def half_word_at(address):  # type: ignore[no-untyped-def]
    """The buffered half-word at ``address`` (``half_word_view(gen).ctypes.data``) as uint32[2] (has one, the word)."""
    return numba.carray(_half_words_at(address), 2)


@intrinsic
def _mulhi(typingctx, a, b):  # type: ignore[no-untyped-def]
    """The high 64 bits of the 128-bit product of two uint64 (one ``mul`` instruction; exact)."""
    sig = types.uint64(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        wide = ir.IntType(128)
        product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        return builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), ir.IntType(64))

    return sig, codegen


@numba.njit(cache=True, inline="always")
def _step(lo, hi, inc_lo, inc_hi):  # type: ignore[no-untyped-def]
    """``pcg64_random_r`` on a state held in locals: (XSL-RR output, new state low, new state high).

    The state lives in registers through a run's draws (:func:`fill_standard_normal`), not in
    memory between draws.
    """
    prod_lo = lo * _MUL_LO
    prod_hi = _mulhi(lo, _MUL_LO) + lo * _MUL_HI + hi * _MUL_LO
    new_lo = prod_lo + inc_lo
    new_hi = prod_hi + inc_hi + (_1 if new_lo < prod_lo else _0)
    x = new_hi ^ new_lo
    rot = new_hi >> _58
    return (x >> rot) | (x << ((_0 - rot) & _63)), new_lo, new_hi


@numba.njit(cache=True, inline="always")
def next_uint32(s, half):  # type: ignore[no-untyped-def]
    """The 32-bit draw of numpy's PCG64 (``pcg64_next32``) from the state ``s`` and the buffered half-word ``half``.

    ``half`` holds whether a half-word is buffered and the word (the high half of the last 64-bit
    output): it is used if there is one, else a new output's low half is returned and its high half
    buffered. Both move on in place (any integer arrays: the Generator's own memory, or copies).
    """
    if half[0] != 0:
        half[0] = 0
        return np.uint64(half[1])
    bits, s[0], s[1] = _step(s[0], s[1], s[2], s[3])
    half[0] = 1
    half[1] = bits >> _32
    return bits & _LOW32


@numba.njit(cache=True)
def interval(s, half, bound):  # type: ignore[no-untyped-def]
    """A uniform integer in ``[0, bound]`` for ``0 <= bound < 2**32``, as numpy's ``random_interval(bound)``.

    32-bit words masked to ``bound``'s bits, rejected above it (``Generator.permutation``'s
    Fisher-Yates shuffle draws its swaps so). ``s`` and ``half`` as :func:`next_uint32`.
    """
    top = np.uint64(bound)
    if top == _0:
        return 0
    mask = top
    for shift in (_1, _2, _4, _8, _16, _32):
        mask |= mask >> shift
    value = next_uint32(s, half) & mask
    while value > top:
        value = next_uint32(s, half) & mask
    return np.int64(value)


@numba.njit(cache=True, inline="always")
def _exact_double(bits):  # type: ignore[no-untyped-def]
    """``float(bits)`` for ``bits`` < 2**63, through the signed conversion (one instruction; exact below 2**53)."""
    return float(np.int64(bits))


@numba.njit(cache=True, inline="always")
def _uniform(lo, hi, inc_lo, inc_hi):  # type: ignore[no-untyped-def]
    """A uniform double in [0, 1) from the top 53 bits (numpy's ``next_double``), state moved on: (u, low, high)."""
    bits, lo, hi = _step(lo, hi, inc_lo, inc_hi)
    return _exact_double(bits >> _11) * (1.0 / 9007199254740992.0), lo, hi


@numba.njit(cache=True, inline="always")
def _candidate(lo, hi, inc_lo, inc_hi):  # type: ignore[no-untyped-def]
    """A ziggurat candidate: (x, its strip, its magnitude bits, accepted by the strip's box, low, high)."""
    r, lo, hi = _step(lo, hi, inc_lo, inc_hi)
    idx = r & _255
    r >>= _8
    rabs = (r >> _1) & _LOW52
    x = (_exact_double(rabs) * wi_double[idx]) * _SIGN[r & _1]  # -x where the bit is set, without a branch
    return x, idx, rabs, rabs < ki_double[idx], lo, hi


@numba.njit(cache=True)
def _rejected(x, idx, rabs, lo, hi, inc_lo, inc_hi):  # type: ignore[no-untyped-def]
    """The rest of numpy's ziggurat after a candidate outside its strip's box: (draw, low, high).

    The base strip's tail or the strip's wedge test, then new candidates until one is accepted.
    Compiled apart (0.7% of draws come here), so that the loop of :func:`fill_standard_normal`
    keeps its state in registers: a month's draws took 14% less CPU than with this code inlined.
    """
    while True:
        if idx == 0:  # the base strip's tail
            while True:
                u, lo, hi = _uniform(lo, hi, inc_lo, inc_hi)
                xx = -ziggurat_nor_inv_r * np.log1p(-u)
                u, lo, hi = _uniform(lo, hi, inc_lo, inc_hi)
                yy = -np.log1p(-u)
                if yy + yy > xx * xx:
                    return (-(ziggurat_nor_r + xx) if (rabs >> _8) & _1 else ziggurat_nor_r + xx), lo, hi
        else:
            u, lo, hi = _uniform(lo, hi, inc_lo, inc_hi)
            if (fi_double[idx - 1] - fi_double[idx]) * u + fi_double[idx] < np.exp(-0.5 * x * x):
                return x, lo, hi
        x, idx, rabs, boxed, lo, hi = _candidate(lo, hi, inc_lo, inc_hi)
        if boxed:
            return x, lo, hi


@numba.njit(cache=True, inline="always")
def _normal(lo, hi, inc_lo, inc_hi):  # type: ignore[no-untyped-def]
    """The ziggurat of numpy's ``random_standard_normal`` on a state in locals: (draw, low, high)."""
    x, idx, rabs, boxed, lo, hi = _candidate(lo, hi, inc_lo, inc_hi)
    if boxed:
        return x, lo, hi  # 99.3% of draws
    return _rejected(x, idx, rabs, lo, hi, inc_lo, inc_hi)


@numba.njit(cache=True)
def fill_standard_normal(s, out):  # type: ignore[no-untyped-def]
    """``Generator.standard_normal(out=out)`` for a 1-D ``out``, from the state ``s`` (moved on in place)."""
    lo, hi, inc_lo, inc_hi = s[0], s[1], s[2], s[3]
    for k in range(out.shape[0]):
        out[k], lo, hi = _normal(lo, hi, inc_lo, inc_hi)
    s[0], s[1] = lo, hi


@numba.njit(cache=True, inline="always")
def fill_normal_2d(s, out):  # type: ignore[no-untyped-def]
    """``Generator.standard_normal(out=out)`` for a C-ordered 2-D ``out``, from the state ``s`` (moved on in place)."""
    fill_standard_normal(s, out.reshape(out.size))
