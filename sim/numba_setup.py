"""Load numba's numpy support without the ``scipy.linalg`` import of its BLAS check.

The first compiled function a process loads makes numba import its numpy implementations
(``numba.np.arraymath``), and that module asks, once, whether scipy's BLAS is there
(``import scipy.linalg.cython_blas``, which imports all of ``scipy.linalg``: 0.13-0.16 s, a
twelfth of a whole ``partnersim run`` of 120 runs). The answer only chooses how ``np.dot`` and
its kind compile (BLAS or a plain loop); the engine's kernels use none of them (the causal web
is summed edge by edge, so its rounding does not vary with the array size: see
:mod:`sim.kernels`). :func:`load` imports ``numba.np.arraymath`` with that one import refused, so
the check answers "no BLAS", and puts the import back at once: anything that imports
``scipy.linalg`` later gets it as always.

Nothing changes where ``scipy.linalg.cython_blas`` or ``numba.np.arraymath`` is already
imported (the dashboard, a sensitivity study that loaded SALib first): there the check has run
or will find BLAS, and the kernels compile the same either way.
"""

from __future__ import annotations

import sys

BLAS_MODULE = "scipy.linalg.cython_blas"
"""The module numba's BLAS check imports."""


def load() -> None:
    """Import ``numba.np.arraymath`` with :data:`BLAS_MODULE` refused (unless either is already imported)."""
    if "numba.np.arraymath" in sys.modules or BLAS_MODULE in sys.modules:
        return
    sys.modules[BLAS_MODULE] = None  # type: ignore[assignment]  # None in sys.modules: the import raises ImportError
    try:
        import numba.np.arraymath  # noqa: F401 - imported for its side effect: numba's numpy support, loaded
    finally:
        if sys.modules.get(BLAS_MODULE, "") is None:
            del sys.modules[BLAS_MODULE]


load()
