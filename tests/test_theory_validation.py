"""Bad theory and typology files fail with one clear error naming the file and the key.

Each case copies scenarios/theory/irt.toml and typology.toml into a temporary folder, breaks
one thing in the text, and checks that loading raises a ConfigError whose message names the
broken file and the key path, and that ``partnersim validate`` / ``partnersim theory`` exit
with code 2 and print no traceback.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from analysis.cli import main
from sim import ConfigError, load_theory

THEORY_DIR = Path(__file__).resolve().parents[1] / "scenarios" / "theory"


def sub_once(pattern: str, repl: str, text: str) -> str:
    """Replace the first match of ``pattern`` (multiline regex); fail the test if there is none."""
    new, n = re.subn(pattern, repl, text, count=1, flags=re.M)
    assert n == 1, f"the test's edit found nothing to change: {pattern!r}"
    return new


def first_type(typology: str) -> str:
    return re.search(r"^\[types\.(\w+)\]", typology, flags=re.M).group(1)


@dataclass(frozen=True)
class Case:
    """One way to break the theory: which file to edit, how, and the key the error must name."""

    id: str
    file: str  # "irt" or "typology"
    edit: Callable[[str], str]
    key: Callable[[str], str]  # key path expected in the message (given the original text)
    also: tuple[str, ...] = ()  # further words the message must contain


CYCLE_EDGE = """
[[edges]]
source = "culture"
target = "governance"
weight = {default = 0.1, low = 0.0, high = 0.2, source = "test"}
lag = {default = 0, low = 0, high = 6, source = "test"}
"""

CASES = [
    Case(
        "edge-unknown-domain",
        "irt",
        lambda t: sub_once(r'^target = "culture"', 'target = "cultre"', t),
        lambda t: "edges[0].target",
        ("cultre", "did you mean 'culture'"),
    ),
    Case(
        "roles-unknown-domain",
        "irt",
        lambda t: sub_once(r'^quality = "quality"', 'quality = "qualty"', t),
        lambda t: "roles.quality",
        ("qualty",),
    ),
    Case(
        "partnering-unknown-domain",
        "irt",
        lambda t: sub_once(
            r"^\[partnering\.scale\]\n", '[partnering.scale]\nmorale = {value = 0.1, source = "x"}\n', t
        ),
        lambda t: "partnering.scale.morale",
        ("unknown domain",),
    ),
    Case("edge-missing-lag", "irt", lambda t: sub_once(r"^lag = .*\n", "", t), lambda t: "edges[0].lag", ("missing",)),
    Case(
        "param-missing-source",
        "irt",
        lambda t: sub_once(r'^(conflict_rate = \{[^}]*?), source = "[^"]*"\}', r"\1}", t),
        lambda t: "mechanisms.conflict_rate.source",
        ("source",),
    ),
    Case(
        "param-low-above-high",
        "irt",
        lambda t: sub_once(r"^(conflict_rate = \{[^}]*?low = )[0-9.]+", r"\g<1>0.99", t),
        lambda t: "mechanisms.conflict_rate",
        ("low (0.99) is greater than high",),
    ),
    Case(
        "lag-free-cycle",
        "irt",
        lambda t: (
            sub_once(r"^lag = \{[^}]*\}", 'lag = {default = 0, low = 0, high = 24, source = "test"}', t) + CYCLE_EDGE
        ),
        lambda t: "edges",
        ("lag-free cycle", "governance -> culture -> governance"),
    ),
    Case("unknown-top-level-key", "irt", lambda t: 'colour = "blue"\n' + t, lambda t: "colour", ("unknown key",)),
    Case(
        "unknown-section-key",
        "irt",
        lambda t: sub_once(r"^\[mechanisms\]\n", '[mechanisms]\ntrust_biuld = {value = 0.1, source = "x"}\n', t),
        lambda t: "mechanisms.trust_biuld",
        ("did you mean 'trust_build'",),
    ),
    Case(
        "type-effect-unknown-domain",
        "typology",
        lambda t: sub_once(r"^(\[types\.\w+\.effects\]\n)(\w+)", r"\1governence", t),
        lambda t: f"types.{first_type(t)}.effects.governence",
        ("did you mean 'governance'",),
    ),
    Case(
        "type-missing-members",
        "typology",
        lambda t: sub_once(r"^members = .*\n", "", t),
        lambda t: f"types.{first_type(t)}.members",
        ("missing",),
    ),
    Case(
        "type-low-above-high",
        "typology",
        lambda t: sub_once(r"^(integration = \{[^}]*?low = )[0-9.]+", r"\g<1>0.99", t),
        lambda t: f"types.{first_type(t)}.integration",
        ("greater than high",),
    ),
    Case(
        "type-unknown-field",
        "typology",
        lambda t: sub_once(r"^(exclusive = \w+\n)", r"\1exclusiv = true\n", t),
        lambda t: f"types.{first_type(t)}.exclusiv",
        ("did you mean 'exclusive'",),
    ),
    Case(
        "type-missing-source",
        "typology",
        lambda t: sub_once(r'^(\[types\.\w+\]\n(?:.*\n)*?)source = "[^"]*"\n', r"\1", t),
        lambda t: f"types.{first_type(t)}.source",
        ("missing",),
    ),
]


def broken_copy(tmp_path: Path, case: Case) -> tuple[Path, Path, str]:
    """Copy both files into ``tmp_path`` and break one; return (theory path, broken file, its key)."""
    for name in ("irt.toml", "typology.toml"):
        shutil.copy(THEORY_DIR / name, tmp_path / name)
    broken = tmp_path / ("irt.toml" if case.file == "irt" else "typology.toml")
    original = broken.read_text()
    broken.write_text(case.edit(original))
    return tmp_path / "irt.toml", broken, case.key(original)


def test_copies_of_the_theory_files_load(tmp_path):
    """The unbroken copies load, so each failure below comes from its one edit."""
    for name in ("irt.toml", "typology.toml"):
        shutil.copy(THEORY_DIR / name, tmp_path / name)
    assert load_theory(tmp_path / "irt.toml").edges


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_theory_names_file_and_key(tmp_path, case):
    theory_path, broken, key = broken_copy(tmp_path, case)
    with pytest.raises(ConfigError) as info:
        load_theory(theory_path)
    err = info.value
    msg = str(err)
    assert err.file is not None and Path(err.file).resolve() == broken.resolve(), msg
    assert str(broken) in msg or str(broken.resolve()) in msg, msg
    assert f"at key '{key}" in msg, f"expected key {key!r} in: {msg}"
    for word in case.also:
        assert word in msg, f"expected {word!r} in: {msg}"
    assert "\n" not in msg.strip(), "one paragraph"


@pytest.mark.parametrize("command", ["validate", "theory"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cli_exits_2_without_traceback(tmp_path, capsys, case, command):
    theory_path, broken, key = broken_copy(tmp_path, case)
    code = main([command, str(theory_path)])
    out = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in out.err
    assert broken.name in out.err and key in out.err, out.err


def test_parameter_override_out_of_range_or_unknown(theory):
    with pytest.raises(ConfigError, match=r"mechanism\.trust_build.*outside the declared range"):
        theory.with_values({"mechanism.trust_build": 5.0})
    with pytest.raises(ConfigError, match=r"mechanism\.trust_biuld.*did you mean"):
        theory.with_values({"mechanism.trust_biuld": 0.05})


def cli_command() -> list[str]:
    exe = Path(sys.executable).with_name("partnersim")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "analysis.cli"]


@pytest.mark.parametrize("command", ["validate", "theory"])
def test_console_script_exits_2_without_traceback(tmp_path, command):
    """The installed ``partnersim`` script, as a user runs it."""
    case = next(c for c in CASES if c.id == "lag-free-cycle")
    theory_path, broken, _ = broken_copy(tmp_path, case)
    proc = subprocess.run([*cli_command(), command, str(theory_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "lag-free cycle" in proc.stderr and broken.name in proc.stderr


def test_every_parameter_has_a_physical_bound_and_the_default_theory_lies_inside(theory):
    from sim.bounds import param_bound

    for p in theory.params.values():
        bound = param_bound(p.name)  # raises for a parameter of a kind sim/bounds.py does not know
        assert all(bound.contains(v) for v in (p.low, p.default, p.high)), (p.name, bound.text())


@pytest.mark.parametrize(("value", "words"), [("nan", "finite"), ("inf", "finite"), ("2.5", "[0, 1]")])
def test_a_rate_must_be_a_finite_share(tmp_path, value, words):
    case = Case(
        "rate",
        "irt",
        lambda t: sub_once(r"^rate = \{.*\}$", f'rate = {{value = {value}, source = "x"}}', t),
        lambda t: "domains.governance.rate.value",
    )
    theory_path, broken, key = broken_copy(tmp_path, case)
    with pytest.raises(ConfigError, match=re.escape(words)) as info:
        load_theory(theory_path)
    assert f"at key '{key}'" in str(info.value)


def test_the_command_line_shares_the_scenario_files_bounds():
    from analysis.limits import FLAG_LIMITS, SCENARIO_LIMITS

    pairs = (
        ("--reps", "replications"),
        ("--horizon", "horizon"),
        ("--n-providers", "population.n_providers"),
        ("--seed", "seed"),
    )
    for flag, key in pairs:
        assert FLAG_LIMITS[flag] is SCENARIO_LIMITS[key]
