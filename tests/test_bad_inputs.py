"""Every case of the bad-input table (``scripts/bad_inputs.py``): a clear error, or the right thing done.

The cases run in this process through ``analysis.cli.main`` (fast); those that need an
unprivileged user, a read-only or a full file system run as subprocesses where the machine
allows it, and are skipped, saying why, where it does not. ``docs/bad_inputs.md`` is the same
table as the real command runs it (``python scripts/bad_inputs.py``).
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "bad_inputs.py"


def _load():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bad_inputs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bad_inputs"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bad_inputs = _load()
CASES = bad_inputs.CASES


@pytest.fixture(scope="module")
def sandbox():  # type: ignore[no-untyped-def]
    """The table's sandbox, in a folder a plain user can enter (for the cases run without privileges)."""
    tmp = Path(tempfile.mkdtemp(prefix="partnersim-bad-inputs-"))
    tmp.chmod(0o755)
    try:
        yield bad_inputs.build_sandbox(tmp / "sb", bad_inputs.inprocess_run)
    finally:
        for p in tmp.rglob("*"):
            if p.is_dir():
                p.chmod(0o755)
        shutil.rmtree(tmp, ignore_errors=True)


def test_the_table_covers_every_command_and_class() -> None:
    from analysis.cli import COMMANDS

    assert len(CASES) >= 100 and len({c.id for c in CASES}) == len(CASES)
    commands = {c.argv[0] for c in CASES}
    assert {m.__name__.rsplit(".", 1)[1].replace("_", "-") for m in COMMANDS} <= commands
    assert {
        "theory and typology files",
        "population files",
        "scenario files",
        "command-line flags",
        "operating-system errors",
        "unreadable inputs",
        "data safety",
        "resume",
        "damaged experiments",
    } <= {c.group for c in CASES}


def test_the_document_lists_every_case() -> None:
    doc = (ROOT / "docs" / "bad_inputs.md").read_text()
    missing = [c.id for c in CASES if f"`{c.id}`" not in doc]
    assert not missing, f"docs/bad_inputs.md is out of date (rerun scripts/bad_inputs.py): {missing}"


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.slow else []) for c in CASES])
def test_bad_input(case, sandbox) -> None:  # type: ignore[no-untyped-def]
    outcome = bad_inputs.run_case(case, sandbox, sandbox.root / "cases" / case.id, bad_inputs.inprocess_run)
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    assert outcome.good, f"{outcome.verdict}: {outcome.command}\n{outcome.message}"
