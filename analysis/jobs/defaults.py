"""Defaults the command line shows in ``--help`` and the jobs use (light: no heavy imports)."""

from __future__ import annotations

RUN_HORIZONS = (12, 36, 120)
"""Months ``partnersim run`` tabulates by default."""
COMPARE_HORIZONS = (12, 36, 60, 120)
"""Months ``partnersim compare`` tabulates by default (short, medium and long run)."""
