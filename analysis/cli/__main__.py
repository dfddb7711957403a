"""``python -m analysis.cli``: the ``partnersim`` command."""

from analysis.cli import main

raise SystemExit(main())
