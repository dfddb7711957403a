"""Saving the Watch page's settings as a scenario file (``results/dashboard/scenarios/NAME.toml``).

No Solara here. :func:`scenario_text` writes what a RunSpec's levers and uncertainties say, in
full, as a scenario file (theory and population paths made relative to where it is saved),
so the file runs exactly what the dashboard ran; :func:`save_scenario` checks the name,
refuses to replace a file unless told to, validates the text with the scenario loader
(the same check as ``partnersim validate``) and writes it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.faces.dashboard.editing import describe
from analysis.faces.diagrams import label
from analysis.scenario import Scenario, scenario_from_dict
from sim import RunSpec
from sim.theory import default_theory_path
from sim.toml_io import read_toml

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class SaveError(ValueError):
    """A scenario cannot be saved under that name (the message says why, in plain words)."""


def check_name(name: str, taken: Mapping[str, Scenario]) -> str:
    """The name, stripped, if a saved scenario may have it; else raise :class:`SaveError`."""
    name = name.strip()
    if not NAME.fullmatch(name):
        raise SaveError(
            f"'{name}' is not a usable name: use 1-64 lower-case letters, digits, '_' or '-' "
            "(starting with a letter or digit), e.g. buddying_with_fund"
        )
    if name in taken:
        raise SaveError(f"'{name}' is a scenario of the library ({taken[name].path}); choose another name")
    return name


def changes(base: Scenario, spec: RunSpec) -> list[str]:
    """What ``spec`` changes from its scenario, in plain words (empty when nothing)."""
    a, b = base.spec.levers, spec.levers
    out = []
    fr_a, fr_b = a.failure_regime, b.failure_regime
    if (fr_a.enabled, fr_a.intervention) != (fr_b.enabled, fr_b.intervention):
        out.append(
            f"failing trusts get a mandated {label(fr_b.intervention).lower()}"
            if fr_b.enabled
            else "no mandated partner for failing trusts"
        )
    if a.collaborative_duty.enabled != b.collaborative_duty.enabled:
        out.append(("a" if b.collaborative_duty.enabled else "no") + " duty to join a provider collaborative")
    if a.voluntary.enabled != b.voluntary.enabled:
        out.append("voluntary partnering under pressure" if b.voluntary.enabled else "no voluntary partnering")
    if a.approval.months != b.approval.months:
        out.append(
            "approval times as in the typology"
            if b.approval.months is None
            else f"approval of mergers and acquisitions takes {b.approval.months:g} months"
        )
    if a.support_fund.share != b.support_fund.share:
        out.append(f"a support fund meets {b.support_fund.share:.0%} of transition costs")
    ua, ub = base.spec.uncertainties, spec.uncertainties
    if ua.workforce_shock.size != ub.workforce_shock.size:
        out.append(f"a workforce shock of {ub.workforce_shock.size:g} (index 0-1)")
    if ua.financial_squeeze.size != ub.financial_squeeze.size:
        out.append(f"a financial squeeze of {ub.financial_squeeze.size:g} (index 0-1)")
    theory = base.theory
    edited = {k: v for k, v in ub.effect_overrides.items() if ua.effect_overrides.get(k) != v}
    if edited:
        items = [f"{describe(k, theory)} {v:g}" for k, v in edited.items()]
        more = f" and {len(items) - 3} more" if len(items) > 3 else ""
        out.append(f"{len(items)} theory value(s) changed ({'; '.join(items[:3])}{more})")
    return out


def _relative(target: str | Path, folder: Path) -> str:
    return Path(os.path.relpath(Path(target).resolve(), folder.resolve())).as_posix()


def _plain(value: Any) -> Any:
    """Dataclass fields as TOML values: tuples as lists, shock roles left out, unset values dropped."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if v is not None and k != "role"}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def scenario_dict(
    base: Scenario, spec: RunSpec, *, name: str, description: str, folder: Path, seed: int | None = None
) -> dict[str, Any]:
    """A scenario file's content for ``spec`` (derived from ``base``), to be saved in ``folder``."""
    out: dict[str, Any] = {"name": name, "description": description}
    if Path(base.theory_path).resolve() != default_theory_path().resolve():
        out["theory"] = _relative(base.theory_path, folder)
    population = dict(base.raw.get("population", {}))
    if "file" in population:
        population["file"] = _relative(Path(base.path).parent / population["file"], folder)
    if population:
        out["population"] = population
    out["levers"] = _plain(dataclasses.asdict(spec.levers))
    out["uncertainties"] = _plain(dataclasses.asdict(spec.uncertainties))
    out.update(horizon=spec.horizon, start=spec.start, replications=base.replications)
    out["seed"] = base.seed if seed is None else int(seed)
    return out


def toml_text(data: Mapping[str, Any], header: str = "") -> str:
    """``data`` as TOML: plain values first, then one ``[table]`` per nested mapping."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    _table(data, [], lines)
    return "\n".join(lines).strip("\n") + "\n"


def _table(data: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    values = {k: v for k, v in data.items() if not isinstance(v, Mapping)}
    tables = {k: v for k, v in data.items() if isinstance(v, Mapping)}
    if path and (values or not tables):
        lines += ["", "[" + ".".join(_key(p) for p in path) + "]"]
    lines += [f"{_key(k)} = {_value(v)}" for k, v in values.items()]
    for k, v in tables.items():
        _table(v, [*path, k], lines)


def _key(key: str) -> str:
    return key if BARE_KEY.fullmatch(key) else _value(key)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    text = str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def scenario_text(
    base: Scenario, spec: RunSpec, *, name: str, description: str, folder: Path, seed: int | None = None
) -> str:
    """The scenario file for ``spec`` as text, with a header saying where it came from."""
    data = scenario_dict(base, spec, name=name, description=description, folder=folder, seed=seed)
    stamp = dt.datetime.now().isoformat(timespec="seconds")
    header = (
        f"Saved from the partnersim dashboard on {stamp}, starting from the scenario '{base.name}'.\n"
        "Every lever and uncertainty is written out; theory edits are in [uncertainties.effect_overrides]."
    )
    return toml_text(data, header)


def save_scenario(
    base: Scenario,
    spec: RunSpec,
    *,
    name: str,
    description: str,
    folder: Path,
    taken: Mapping[str, Scenario],
    overwrite: bool = False,
    seed: int | None = None,
) -> Path:
    """Write ``folder/NAME.toml`` for ``spec`` and return its path.

    Raises:
        SaveError: the name is unusable or belongs to the library.
        FileExistsError: the file exists and ``overwrite`` is False (ask the user first).
    """
    name = check_name(name, taken)
    changed = changes(base, spec)
    description = description.strip() or (
        f"{base.description} Changed in the dashboard: {'; '.join(changed)}." if changed else base.description
    )
    path = folder / f"{name}.toml"
    if path.exists() and not overwrite:
        raise FileExistsError(path)
    folder.mkdir(parents=True, exist_ok=True)
    text = scenario_text(base, spec, name=name, description=description, folder=folder, seed=seed)
    tmp = path.with_name(f".{name}.toml.tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        raw, _ = read_toml(tmp)
        scenario_from_dict(raw, path=tmp)  # what `partnersim validate` checks (paths relative to the folder)
    except Exception:
        tmp.unlink()
        raise
    tmp.replace(path)
    return path
