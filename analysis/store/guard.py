"""Where a command may write: never into an experiment's own files, never over an output unasked.

Every command that writes checks its output before any work starts:

* :func:`check_output_file` for one file (``report -o``, ``calibrate --out``): never a file of an
  experiment store (its manifest, data parts, design, lock) nor any other file an experiment
  folder already holds except an HTML report; never a folder; an existing file only with
  ``--force``; a file tracked by git only when the caller allows it;
* :func:`check_output_folder` for a folder of outputs (``cmoc``, ``pathways``,
  ``validate-theory``, ``sensitivity``, ``discover``): a folder, not an experiment folder itself
  nor a part of one, and empty unless ``--force`` (replace this command's outputs) or
  ``--resume`` (continue) is given.

:func:`atomic_text` writes a text file through a dot-named temporary file that is removed if
anything fails, so no half-written or hidden leftover remains.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from analysis.errors import UserError

EXPERIMENT_FORMAT = "partnersim-experiment/"
STORE_ENTRIES = ("manifest.json", "design.parquet", ".lock", "series", "runs", "partnerships")
"""What an experiment folder's store consists of (the runner alone writes these)."""


def is_experiment(folder: str | Path) -> bool:
    """True when ``folder`` holds an experiment store (a partnersim ``manifest.json``)."""
    manifest = Path(folder) / "manifest.json"
    if not manifest.is_file():
        return False
    try:
        return str(json.loads(manifest.read_text()).get("format", "")).startswith(EXPERIMENT_FORMAT)
    except (OSError, ValueError, AttributeError):
        return False


def experiment_of(path: str | Path) -> Path | None:
    """The experiment folder ``path`` lies in (itself or an ancestor), if any."""
    p = Path(path).absolute()
    for folder in (p, *p.parents):
        if is_experiment(folder):
            return folder
    return None


def check_output_file(
    path: str | Path,
    *,
    force: bool = False,
    option: str = "-o",
    allow_tracked: bool = True,
    make_parents: bool = False,
) -> Path:
    """Check that ``path`` may be written as a new output file (or replaced, with ``force``).

    Args:
        path: the file to write.
        force: replace the file if it exists (never a file of an experiment store).
        option: the option that names the file, for the messages.
        allow_tracked: if False, refuse a file git tracks, even with ``force``.
        make_parents: the caller creates missing folders on the way (else the folder must exist).

    Raises:
        UserError: the path names a store file, a folder, a file in a missing folder, an existing
            file (without ``force``), or a tracked file (unless allowed).
    """
    p = Path(path)
    exp = experiment_of(p.parent)
    if exp is not None:
        inner = p.absolute().relative_to(exp)
        if inner.parts and inner.parts[0] in STORE_ENTRIES:
            raise UserError(
                f"refusing to write {p}: it is part of the experiment store in {exp} (its manifest, data or "
                f"lock), which only `partnersim run`/`compare` write; choose another file with {option}"
            )
        if p.is_file() and p.suffix.lower() not in (".html", ".htm"):
            raise UserError(
                f"refusing to replace {p}: it is one of the experiment's own files; choose a new file with {option}"
            )
    if p.is_dir():
        raise UserError(f"{p} is a folder; give a file name with {option} (e.g. {p / 'report.html'})")
    blocked = next((q for q in (p.parent, *p.parent.parents) if q.exists() and not q.is_dir()), None)
    if blocked is not None:
        raise UserError(f"cannot write {p}: {blocked} is a file, not a folder")
    if not p.parent.is_dir() and not make_parents:
        raise UserError(f"cannot write {p}: the folder {p.parent} does not exist")
    if not allow_tracked and is_tracked(p):
        raise UserError(
            f"refusing to write {p}: git tracks it, and this command never replaces a tracked file; write a new "
            f"file with {option} and copy it over by hand if you mean to"
        )
    if p.exists() and not force:
        raise UserError(f"{p} already exists; add --force to replace it, or choose another file with {option}")
    return p


def check_output_folder(
    path: str | Path,
    *,
    force: bool = False,
    resume: bool = False,
    remedy: str = "add --force to replace this command's outputs there",
) -> Path:
    """Check that ``path`` may receive a command's outputs.

    Args:
        path: the output folder (created later by the command).
        force: replace this command's outputs in a folder that already holds files.
        resume: continue the work stored in the folder.
        remedy: what the user can do about a folder that holds files (the options the command has).

    Raises:
        UserError: the path is a file, an experiment folder or a part of one, or a folder that
            already holds files (without ``force`` or ``resume``).
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UserError(f"{p} is a file, not a folder; choose an output folder with --out")
    if is_experiment(p):
        raise UserError(
            f"{p} is an experiment folder, whose files only `partnersim run`/`compare` write; put this "
            f"command's outputs in a folder of their own (e.g. --out {p / 'analysis'})"
        )
    exp = experiment_of(p.parent) if p.parent != p else None
    if exp is not None and p.absolute().relative_to(exp).parts[0] in STORE_ENTRIES:
        raise UserError(f"{p} lies inside the experiment store of {exp}; choose another --out")
    if p.is_dir() and any(p.iterdir()) and not (force or resume):
        shown = ", ".join(sorted(q.name for q in p.iterdir())[:4])
        raise UserError(f"{p} already holds files ({shown}…); {remedy}, or choose another folder with --out")
    return p


def is_tracked(path: str | Path) -> bool:
    """True when ``path`` is a file git tracks (False outside a git checkout, or without git)."""
    p = Path(path).absolute()
    folder = p.parent if p.parent.is_dir() else Path.cwd()
    try:
        res = subprocess.run(
            ["git", "ls-files", "--error-unmatch", "--", str(p)], cwd=folder, capture_output=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return res.returncode == 0


def atomic_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a dot-named temporary file; no leftover if it fails."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target
