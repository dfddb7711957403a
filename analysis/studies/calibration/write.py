"""Writing the calibrated theory (the base text with narrowed entries), its header and the record."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from analysis.studies.calibration.abc import CalibrationResult
from sim.errors import ConfigError
from sim.theory import load_theory

# -- writing the calibrated theory -----------------------------------------------------------------
SECTION_OF_PREFIX = {
    "population": "population",
    "band": "bands",
    "regulation": "regulation",
    "mechanism": "mechanisms",
    "partnering": "partnering",
    "formation": "formation",
    "start": "start_2022",
}


def locate(name: str) -> tuple[str, str, str]:
    """Where parameter ``name`` is declared: (file: theory|typology, table or edge, key)."""
    parts = name.split(".")
    if parts[0] == "domain":
        return "theory", f"domains.{parts[1]}", parts[2]
    if parts[0] == "edge":
        return "theory", f"edge:{'.'.join(parts[1:-1])}", parts[-1]
    if parts[0] in ("partnering", "regulation") and len(parts) == 3:
        return "theory", f"{parts[0]}.{parts[1]}", parts[2]
    if parts[0] == "type":
        if parts[2] == "effect":
            return "typology", f"types.{parts[1]}.effects", parts[3]
        return "typology", f"types.{parts[1]}", parts[2]
    if parts[0] in SECTION_OF_PREFIX and len(parts) == 2:
        return "theory", SECTION_OF_PREFIX[parts[0]], parts[1]
    raise ConfigError("cannot locate parameter in the theory files", key=name)


def rewrite(text: str, updates: dict[tuple[str, str], dict[str, float]], note: str) -> tuple[str, set[tuple[str, str]]]:
    """Rewrite ``key = {…}`` entries of a TOML text; return the text and the entries rewritten.

    ``updates`` maps (table, key) → new default/low/high; a table is a section name, or
    ``edge:<source>-><target>`` for an ``[[edges]]`` entry.
    """
    out, done = [], set()
    section, src, tgt = "", None, None
    for line in text.splitlines():
        stripped = line.strip()
        m = re.match(r"^\[\[?([^\]]+)\]\]?\s*(#.*)?$", stripped)
        if m:
            section = "edge" if stripped.startswith("[[edges]]") else m.group(1).strip()
            src = tgt = None
            out.append(line)
            continue
        km = re.match(r"^([A-Za-z0-9_]+)\s*=\s*(.+)$", stripped)
        if km and section == "edge" and km.group(1) in ("source", "target"):
            val = tomllib.loads(f"v = {km.group(2)}")["v"]
            if km.group(1) == "source":
                src = val
            else:
                tgt = val
        table = f"edge:{src}->{tgt}" if section == "edge" else section
        if km and (table, km.group(1)) in updates:
            key = km.group(1)
            old = tomllib.loads(f"v = {km.group(2)}")["v"]
            new = updates[(table, key)]
            fields = {k: v for k, v in old.items() if k not in ("value", "default", "low", "high", "source")}
            src_text = str(old.get("source", "assumption"))
            if note not in src_text:
                src_text = f"{src_text}; {note}"
            whole = all(float(new[k]).is_integer() for k in ("default", "low", "high"))
            num = (lambda v: str(int(v))) if whole else (lambda v: f"{v:.6g}")
            if new["low"] == new["high"]:
                body = f"value = {num(new['default'])}"
            else:
                body = f"default = {num(new['default'])}, low = {num(new['low'])}, high = {num(new['high'])}"
            extra = "".join(f", {k} = {_toml_value(v)}" for k, v in fields.items())
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}{key} = {{{body}{extra}, source = {_toml_value(src_text)}}}")
            done.add((table, key))
            continue
        out.append(line)
    return "\n".join(out) + "\n", done


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_theory(
    result: CalibrationResult, out: str | Path, *, record: str | Path | None = None, command: str = ""
) -> Path:
    """Write the calibrated theory next to (or away from) the base theory; return its path.

    A typology copy (``<out stem>_typology.toml``) is written only when type parameters changed.
    """
    out = Path(out)
    base = result.theory
    note = f"calibrated {dt.date.today().isoformat()} (ABC rejection, see header)"
    theory_updates: dict[tuple[str, str], dict[str, float]] = {}
    typology_updates: dict[tuple[str, str], dict[str, float]] = {}
    for _, r in result.params.iterrows():
        file, table, key = locate(r["param"])
        upd = {"default": float(r["default"]), "low": float(r["low"]), "high": float(r["high"])}
        (typology_updates if file == "typology" else theory_updates)[(table, key)] = upd
    text = Path(base.path).read_text()
    text, done = rewrite(text, theory_updates, note)
    missing = set(theory_updates) - done
    typology_path = Path(base.typology_path)
    if typology_updates:
        ttext, tdone = rewrite(typology_path.read_text(), typology_updates, note)
        missing |= set(typology_updates) - tdone
        typology_path = out.with_name(f"{out.stem}_typology.toml")
        typology_path.write_text(
            f"# CALIBRATED TYPOLOGY — generated by `partnersim calibrate` with {out.name}; "
            f"see that file's header.\n# Base typology: {_display(base.typology_path)}\n#\n" + ttext
        )
    if missing:
        raise ConfigError("could not find these entries to rewrite", file=base.path, key=str(sorted(missing)[0]))
    rel = Path(_relpath(typology_path, out.parent))
    text = re.sub(r'(?m)^typology\s*=\s*".*"$', f'typology = "{rel.as_posix()}"', text, count=1)
    text = re.sub(r'(?m)^name\s*=\s*"(.*)"$', lambda m: f'name = "{m.group(1)}-calibrated"', text, count=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(header(result, record=record, command=command) + text)
    check = load_theory(out)
    for _, r in result.params.iterrows():
        p = check.params[r["param"]]
        if not (
            np.isclose(p.default, r["default"], rtol=1e-5)
            and np.isclose(p.low, r["low"], rtol=1e-5)
            and np.isclose(p.high, r["high"], rtol=1e-5)
        ):
            raise RuntimeError(f"calibrated theory does not round-trip for {r['param']}")
    return out


def _display(path: str) -> str:
    """``path`` relative to the working folder when it lies inside it."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def _relpath(target: Path, start: Path) -> str:
    import os

    return os.path.relpath(target.resolve(), start.resolve())


def header(result: CalibrationResult, *, record: str | Path | None = None, command: str = "") -> str:
    """The comment block recording how the calibrated theory was found."""
    s = result.samples
    ref = s[s["sample"] == 0].iloc[0]
    narrowed = result.params[result.params["narrowed"]]
    lines = [
        "# CALIBRATED THEORY — generated by `partnersim calibrate`; edit the base theory, not this file.",
        f"# Date: {dt.datetime.now().isoformat(timespec='seconds')}",
        f"# Base theory: {_display(result.theory.path)} ({result.theory.meta.get('name', '')})",
        "# Method: approximate Bayesian computation by rejection (analysis/calibration.py): a scrambled Latin",
        "#   hypercube over the declared ranges (uniform prior), common random numbers across design points,",
        "#   distance = RMS over targets of the gap to each target's pass band in band widths (0 inside).",
        f"# Budget: {result.budget} design points x {result.reps} replicates (seed {result.seed}); "
        f"{result.seconds / 60:.1f} minutes.",
        f"# Targets ({len(result.targets)}): {', '.join(result.targets)}",
        f"# Acceptance: {result.rule}; {result.n_accepted} accepted, tolerance epsilon = {result.epsilon:.3g}.",
        f"#   The base theory's defaults (point 0) had distance {float(ref['distance']):.3g}"
        f" and met {int(ref['targets_met'])} of {len(result.targets)} targets.",
        f"# Parameters searched ({len(result.params)}): {', '.join(result.params['param'])}",
        f"# Narrowed (accepted values reject the uniform prior, KS p < {result.settings.get('ks_alpha', 0.05)}): "
        + (", ".join(f"{r.param} [{r.low:.4g}, {r.high:.4g}]" for r in narrowed.itertuples()) or "none"),
        "# Defaults of every searched parameter: the accepted point with the smallest distance (one jointly",
        f"#   consistent set): design point {result.settings.get('chosen')}, distance "
        f"{result.settings.get('chosen_distance', float('nan')):.3g}, met {result.settings.get('chosen_met')} of "
        f"{len(result.targets)} targets"
        + (
            f" (re-run with {result.settings['refine_reps']} fresh replicates: distance "
            f"{result.settings['chosen_refined_distance']:.3g}, met {result.settings['chosen_refined_met']}; the "
            "defaults were chosen on these)"
            if "chosen_refined_distance" in result.settings
            else ""
        )
        + ". Parameters not searched keep the base theory's values and ranges.",
    ]
    if record:
        lines.append(f"# Record of every design point: {record}")
    if command:
        lines.append(f"# Command: {command}")
    return "\n".join(lines) + "\n#\n"


def write_record(result: CalibrationResult, folder: str | Path) -> list[Path]:
    """Write samples.csv (every point) and params.csv (per parameter) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "samples.csv", folder / "params.csv"]
    result.samples.to_csv(paths[0], index=False)
    result.params.to_csv(paths[1], index=False)
    return paths


def format_summary(result: CalibrationResult) -> str:
    """Plain-text summary: acceptance, and the parameters narrowed."""
    s = result.samples
    ref = s[s["sample"] == 0].iloc[0]
    lines = [
        f"{result.budget} design points x {result.reps} replicates in {result.seconds:.0f} s; "
        f"accepted {result.n_accepted} ({result.rule}); epsilon {result.epsilon:.3g}",
        f"base theory: distance {ref['distance']:.3g}, {int(ref['targets_met'])} of {len(result.targets)} "
        f"targets met; best point: distance {s['distance'].min():.3g}, "
        f"{int(s['targets_met'].max())} targets met",
        "",
        f"{'parameter':<40}{'declared':>20}{'accepted':>22}{'new default':>12}  narrowed",
    ]
    for r in result.params.itertuples():
        lines.append(
            f"{r.param:<40}{f'[{r.declared_low:.3g}, {r.declared_high:.3g}]':>20}"
            f"{f'[{r.accepted_min:.3g}, {r.accepted_max:.3g}]':>22}{r.default:>12.4g}  "
            f"{'yes' if r.narrowed else 'no'} (KS p {r.ks_p:.2g})"
        )
    return "\n".join(lines)
