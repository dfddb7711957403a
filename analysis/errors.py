"""User-facing errors: mistakes the user can fix, reported in one paragraph with no traceback.

The lowest layer of ``analysis/``: any module may raise :class:`UserError` (a missing folder,
an option value out of range, an experiment folder that cannot be resumed), and the CLI
prints it and exits with :data:`EXIT_USER_ERROR`, as it does for :class:`sim.ConfigError`
(a bad scenario or theory file, which names the file, key, value and valid choices).
"""

from __future__ import annotations

from sim.errors import ConfigError

EXIT_USER_ERROR = 2
"""Exit code of a command called wrongly (bad input), as argparse uses for bad options."""


class UserError(Exception):
    """A mistake in how a command or function was called (missing folder, bad option value…)."""


class StoreError(UserError):
    """A problem with an experiment folder the user can fix (exists already, settings differ…)."""


USER_ERRORS: tuple[type[Exception], ...] = (ConfigError, UserError)
"""Every error that is the user's to fix: printed without a traceback."""
