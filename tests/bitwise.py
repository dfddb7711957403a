"""Tables equal bit for bit (a tests-only helper): the engine's promise that a run in a batch is the run alone."""

from __future__ import annotations

import numpy as np
import pandas as pd


def identical(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """``a`` and ``b`` hold the same columns and values, bit for bit: NaN equal to NaN, and the sign of zero kept."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if x.dtype.kind == "f" or y.dtype.kind == "f":
            x, y = x.astype(float), y.astype(float)
            same = (x == y) | (np.isnan(x) & np.isnan(y))
            assert same.all(), f"column {col} differs"
            assert (np.signbit(x) == np.signbit(y)).all(), f"column {col}: signs of zero differ"
        else:
            assert (x == y).all(), f"column {col} differs"
