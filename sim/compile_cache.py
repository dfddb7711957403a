"""Keep numba's on-disk cache of the compiled engine in step with the model's source.

numba keys each cached function on the content of the file that defines it. The kernels
(:mod:`sim.kernels`) inline functions of other modules (:mod:`sim.relations`,
:mod:`sim.numeric`, :mod:`sim.pcg`) and constants of :mod:`sim.registry` when they compile, so
an edit of one of those files alone would leave the cached kernels running the old code: an
edited equation of the theory would silently change nothing. :func:`refresh` keeps a digest of
every source file of ``sim/`` beside the cache; when the digest differs it empties the cache
index of every kernel, and numba recompiles them on first use (about 15-30 s, once).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MARKER = "kernels.sources-sha256"
"""Name of the file, beside the compiled cache, that holds the digest the cache was built from."""


def sources_digest(folder: Path) -> str:
    """SHA-256 of the names and contents of the ``*.py`` files of ``folder`` (in name order)."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def marker_path(folder: Path, cache_dir: str | None) -> Path:
    """Where the digest is kept: numba's cache folder when one is configured, else ``folder/__pycache__``."""
    return (Path(cache_dir) if cache_dir else folder / "__pycache__") / MARKER


def refresh(folder: Path, marker: Path, dispatchers: Iterable[Any]) -> bool:
    """Empty the cache of ``dispatchers`` when ``folder``'s sources differ from those it was built from.

    Returns True when it emptied them (numba will recompile each on first use), False when the
    cache is current or the marker cannot be written (a read-only installation, whose sources
    cannot change either).
    """
    digest = sources_digest(folder)
    try:
        if marker.read_text() == digest:
            return False
    except OSError:
        pass  # no marker yet: built from unknown sources
    try:
        for dispatcher in dispatchers:
            cache = getattr(dispatcher, "_cache", None)  # numba's on-disk cache of a cache=True function
            if cache is not None:
                cache.flush()  # an empty index: the next call compiles and saves afresh
        marker.parent.mkdir(parents=True, exist_ok=True)
        part = marker.with_name(f".{marker.name}.{os.getpid()}")
        part.write_text(digest)
        os.replace(part, marker)
    except OSError:
        return False
    return True
