"""Context–mechanism–outcome configurations (CMOCs) from the partnership logs.

Realist evaluation asks what works, for whom, in what circumstances and why. The model
logs every partnership (``sim.api.LOG_COLUMNS``): its context (mandated or voluntary,
type, culture gap, size asymmetry, prior trust, same ICS, members' starting levels), the
trajectory of its mechanisms (trust, confidence, faith, collaborative behaviour, months in
inertia, dissolution) and its members' outcomes. This module

1. bins each context (:func:`add_context_bins`; the rules are in :data:`CONTEXT_RULES`),
2. summarises mechanisms and outcomes per configuration of contexts, with counts and 95%
   intervals (:func:`cmoc_table`; one context at a time with :func:`one_way_table`), and
3. flags **demi-regularities**: configurations whose outcomes differ clearly from the rest
   — a Welch two-sample test of the configuration against all other partnerships, the
   Benjamini–Hochberg false-discovery-rate control across every test of the table, a
   minimum standardised effect size, and a minimum count.

Outcomes are *paired* when the logs come from :func:`paired_logs`: a member's change over
the partnership's life in the policy run minus the same provider's change over the same
months in the baseline run with the same seed, so what remains is the partnership's effect
rather than the drift every trust shares. Without a baseline the logged raw changes are
used (columns ``delta_*``) and the tables say so.

Partnerships from one run share that run's history, so the tests treat them as more
independent than they are; the paired outcomes remove most of the shared noise, and the
minimum effect size guards against flagging differences too small to matter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.executors import Executor
from analysis.paired import SimTask, mean_ci, paired_member_change, run_tasks
from analysis.studies.compare import outcome_for
from sim import ConfigError, RunSpec
from sim.theory import Theory, load_theory

# pandas: imported by the functions that build or read tables, not with the module, so a run's
# workers are forked without it (tests/test_architecture.py)
if TYPE_CHECKING:
    import pandas as pd

CONTEXTS = ("mandate", "integration", "culture_gap", "asymmetry", "prior_trust", "same_ics", "start_quality")
DEFAULT_CONFIGURATION = ("mandate", "integration", "culture_gap")
MECHANISMS = ("mean_trust", "mean_confidence", "mean_faith", "mean_behaviour", "months_in_inertia", "dissolved")
OUTCOME_ROLES = ("quality", "efficiency", "access")
CONTEXT_RULES = {
    "mandate": "mandated (failure regime, collaborative duty) vs voluntary",
    "integration": "the type's integration (typology.toml) in thirds of the 0-1 scale: low < 1/3 ≤ medium < 2/3 ≤ high",
    "culture_gap": "members' culture gap at formation, in tertiles of the partnerships analysed",
    "asymmetry": "size asymmetry (1 − smallest/largest turnover), in tertiles of the partnerships analysed",
    "prior_trust": "remembered trust between the members relative to the initial level: none, good (> 0) or "
    "bad (< 0) history",
    "same_ics": "all members in one ICS or not",
    "start_quality": "members' mean starting quality against the theory's bands: below the special-measures "
    "line, requires improvement, good or better",
}


# -- paired logs from runs -------------------------------------------------------------------
def paired_logs(
    policies: Mapping[str, RunSpec],
    baseline: RunSpec,
    seeds: Sequence[int],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | None = None,
    batch_size: int | None = None,
) -> pd.DataFrame:
    """Run each policy and the baseline with each seed; return the policies' paired partnership logs.

    Each log row gains ``paired_delta_<role>`` (quality, efficiency, access: members' change
    over the partnership's life minus the same providers' change in the baseline run) and the
    run keys (scenario, replicate, seed) in front.
    """
    import pandas as pd

    tasks = [SimTask(("base", int(s)), baseline, int(s), history=True) for s in seeds]
    tasks += [SimTask((name, int(s)), spec, int(s), history=True) for name, spec in policies.items() for s in seeds]
    runs = run_tasks(tasks, workers=workers, scheduler=scheduler, executor=executor, batch_size=batch_size)
    frames = []
    for name, spec in policies.items():
        th = spec.theory
        for r, s in enumerate(seeds):
            pol, base = runs[(name, int(s))], runs[("base", int(s))]
            log = pol.log.copy()
            if not len(log):
                continue
            roles = th.roles if th is not None else _default_roles()
            for role in OUTCOME_ROLES:
                log[f"paired_delta_{role}"] = paired_member_change(
                    pol, base, roles[role], log["start_month"], log["end_month"]
                )
            log.insert(0, "scenario", name)
            log.insert(1, "replicate", r)
            log.insert(2, "seed", int(s))
            frames.append(log)
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def _default_roles() -> dict[str, str]:
    return load_theory().roles


# -- contexts --------------------------------------------------------------------------------
def add_context_bins(log: pd.DataFrame, theory: Theory) -> pd.DataFrame:
    """The log with one ``ctx_<context>`` column per context of :data:`CONTEXTS`.

    The binning rules are in :data:`CONTEXT_RULES`.
    """
    import pandas as pd

    out = log.copy()
    out["ctx_mandate"] = np.where(out["mandated"].astype(bool), "mandated", "voluntary")
    integ = out["type"].map(lambda t: theory.v(f"type.{t}.integration"))
    out["ctx_integration"] = pd.cut(
        integ, [-np.inf, 1 / 3, 2 / 3, np.inf], right=False, labels=["low", "medium", "high"]
    ).astype(str)
    out["integration"] = integ
    for col in ("culture_gap", "asymmetry"):
        out[f"ctx_{col}"] = tertiles(out[col])
    prior = out["prior_trust"].astype(float)
    out["ctx_prior_trust"] = np.select([prior > 1e-12, prior < -1e-12], ["good history", "bad history"], "none")
    out["ctx_same_ics"] = np.where(out["same_ics"].astype(bool), "same ICS", "across ICSs")
    sm, good = theory.v("regulation.sm_entry_quality"), theory.v("band.good_quality")
    q = out["start_quality"].astype(float)
    out["ctx_start_quality"] = np.select(
        [q < sm, q < good], ["below special-measures line", "requires improvement"], "good or better"
    )
    return out


def tertiles(values: pd.Series) -> pd.Series:
    """``low``/``medium``/``high`` thirds of ``values`` (labels carry the cut points)."""
    import pandas as pd

    v = values.astype(float)
    if v.nunique() < 3:
        return pd.Series(np.where(v > v.median(), "high", "low"), index=v.index)
    lo, hi = np.quantile(v, [1 / 3, 2 / 3])
    return pd.Series(
        np.select([v < lo, v < hi], [f"low (< {lo:.3g})", f"medium ({lo:.3g}-{hi:.3g})"], f"high (≥ {hi:.3g})"),
        index=v.index,
    )


def outcome_columns(log: pd.DataFrame) -> tuple[list[str], bool]:
    """The outcome columns to use (paired if present) and whether they are paired."""
    paired = [f"paired_delta_{r}" for r in OUTCOME_ROLES if f"paired_delta_{r}" in log]
    if paired:
        return paired, True
    return [f"delta_{r}" for r in OUTCOME_ROLES if f"delta_{r}" in log], False


# -- tables ----------------------------------------------------------------------------------
@dataclass
class CMOCTables:
    """The CMOC tables of one analysis (DataFrames for the report, CSV for researchers)."""

    configurations: pd.DataFrame  # one row per configuration of the chosen contexts
    one_way: pd.DataFrame  # one row per context × bin
    statements: list[str]  # demi-regularities in words
    paired: bool  # outcomes paired against the baseline run
    contexts: tuple[str, ...]
    n: int


def cmoc_tables(
    log: pd.DataFrame,
    theory: Theory,
    *,
    contexts: Sequence[str] = DEFAULT_CONFIGURATION,
    min_count: int = 10,
    alpha: float = 0.05,
    min_effect: float = 0.3,
    by_scenario: bool = False,
) -> CMOCTables:
    """Configuration and one-way CMOC tables with demi-regularity flags.

    Args:
        log: partnership logs (from :func:`paired_logs`, a run, or an experiment).
        theory: the theory the logs come from (for the integration of types and the bands).
        contexts: the contexts whose combinations make the configurations.
        min_count: configurations with fewer partnerships are summarised but never flagged.
        alpha: false-discovery rate (Benjamini–Hochberg) across the tests of a table.
        min_effect: least |standardised difference| (Cohen's d) for a flag.
        by_scenario: add the scenario as the first context.
    """
    import pandas as pd

    unknown = [c for c in contexts if c not in CONTEXTS]
    if unknown:
        raise ConfigError("unknown context", key="contexts", value=unknown[0], choices=CONTEXTS)
    if not len(log):
        empty = pd.DataFrame()
        return CMOCTables(empty, empty, [], False, tuple(contexts), 0)
    binned = add_context_bins(log, theory)
    keys = [f"ctx_{c}" for c in contexts]
    if by_scenario and "scenario" in binned:
        keys = ["scenario", *keys]
    conf = cmoc_table(binned, keys, min_count=min_count, alpha=alpha, min_effect=min_effect)
    parts = [
        cmoc_table(binned, [f"ctx_{c}"], min_count=min_count, alpha=None, min_effect=min_effect)
        .rename(columns={f"ctx_{c}": "bin"})
        .assign(context=c)
        for c in CONTEXTS
    ]
    one_way = pd.concat(parts, ignore_index=True)
    one_way = _flag(one_way, binned, min_count=min_count, alpha=alpha, min_effect=min_effect)
    one_way = one_way[["context", "bin", *[c for c in one_way.columns if c not in ("context", "bin")]]]
    _, paired = outcome_columns(binned)
    return CMOCTables(conf, one_way, statements(conf, keys), paired, tuple(contexts), len(binned))


def cmoc_table(
    binned: pd.DataFrame,
    keys: Sequence[str],
    *,
    min_count: int = 10,
    alpha: float | None = 0.05,
    min_effect: float = 0.3,
) -> pd.DataFrame:
    """Per configuration of ``keys``: count, mechanisms and outcomes with 95% intervals.

    Unless ``alpha`` is None, demi-regularity flags are added (see :func:`cmoc_tables`).
    """
    import pandas as pd

    outcomes, _ = outcome_columns(binned)
    rows = []
    for cfg, sel in binned.groupby(list(keys), sort=True, observed=True):
        cfg = cfg if isinstance(cfg, tuple) else (cfg,)
        row: dict[str, Any] = dict(zip(keys, cfg, strict=True))
        row["n"] = len(sel)
        row["types"] = ", ".join(f"{t} {c}" for t, c in sel["type"].value_counts().items())
        for m in MECHANISMS:
            if m not in sel:
                continue
            if m == "dissolved":
                k = int(sel[m].astype(bool).sum())
                lo, hi = wilson(k, len(sel))
                row.update({"dissolved": k / len(sel), "dissolved_lo": lo, "dissolved_hi": hi})
            else:
                mean, lo, hi = mean_ci(sel[m].astype(float))
                row.update({m: mean, f"{m}_lo": lo, f"{m}_hi": hi})
        for o in outcomes:
            mean, lo, hi = mean_ci(sel[o].astype(float))
            row.update({o: mean, f"{o}_lo": lo, f"{o}_hi": hi})
        rows.append(row)
    table = pd.DataFrame(rows)
    if alpha is not None and len(table):
        table = _flag(table, binned, keys=list(keys), min_count=min_count, alpha=alpha, min_effect=min_effect)
    return table


def _flag(
    table: pd.DataFrame,
    binned: pd.DataFrame,
    *,
    keys: list[str] | None = None,
    min_count: int,
    alpha: float,
    min_effect: float,
) -> pd.DataFrame:
    """Add per-outcome test columns (d, p, q, flag) and a ``demi_regularity`` summary."""
    from scipy import stats

    outcomes, _ = outcome_columns(binned)
    table = table.copy()
    tests = []  # (row index, outcome, d, p)
    for i, row in table.iterrows():
        if keys is None:  # one-way table: the row's own context and bin
            inside = (binned[f"ctx_{row['context']}"] == row["bin"]).to_numpy()
        else:
            inside = np.ones(len(binned), dtype=bool)
            for k in keys:
                inside &= (binned[k] == row[k]).to_numpy()
        for o in outcomes:
            x = binned.loc[inside, o].astype(float).dropna().to_numpy()
            y = binned.loc[~inside, o].astype(float).dropna().to_numpy()
            d = p = float("nan")
            if len(x) >= 2 and len(y) >= 2:
                pooled = np.sqrt(((len(x) - 1) * x.var(ddof=1) + (len(y) - 1) * y.var(ddof=1)) / (len(x) + len(y) - 2))
                d = float((x.mean() - y.mean()) / pooled) if pooled > 0 else 0.0
                p = float(stats.ttest_ind(x, y, equal_var=False).pvalue) if pooled > 0 else 1.0
            tests.append((i, o, d, p, len(x)))
    pvals = np.array([t[3] for t in tests], dtype=float)
    q = benjamini_hochberg(pvals)
    for (i, o, d, p, n), qv in zip(tests, q, strict=True):
        table.loc[i, f"{o}_d"] = d
        table.loc[i, f"{o}_p"] = p
        table.loc[i, f"{o}_q"] = qv
        flagged = bool(n >= min_count and np.isfinite(qv) and qv < alpha and abs(d) >= min_effect)
        table.loc[i, f"{o}_flag"] = ("higher" if d > 0 else "lower") if flagged else ""
    table["demi_regularity"] = [
        "; ".join(
            f"{_short(o)} {row[f'{o}_flag']} (d = {row[f'{o}_d']:+.2f}, q = {row[f'{o}_q']:.2g})"
            for o in outcomes
            if row.get(f"{o}_flag")
        )
        for _, row in table.iterrows()
    ]
    return table


def _short(outcome: str) -> str:
    """An outcome column in words: ``paired_delta_efficiency`` → ``efficiency (finances) index``."""
    label = outcome_for("mean_" + outcome.replace("paired_delta_", "").replace("delta_", "")).label
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def _column_words(column: str) -> str:
    """A CMOC table column for people: outcomes by their labels ("Δ quality index"), the rest without underscores."""
    if column.startswith(("paired_delta_", "delta_")):
        return ("Δ " if column.startswith("paired_") else "change in ") + _short(column)
    return column.replace("ctx_", "").replace("_", " ")


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values); NaN p-values stay NaN and are not counted."""
    p = np.asarray(p_values, dtype=float)
    q = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if not len(ok):
        return q
    order = ok[np.argsort(p[ok])]
    m = len(ok)
    ranked = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return q


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson 95% interval of a proportion k/n, within [0, 1] (rounding can put an end a hair outside)."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def statements(table: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    """Flagged configurations as context → mechanism → outcome sentences."""
    if not len(table) or "demi_regularity" not in table:
        return []
    out = []
    outcomes = [c[:-5] for c in table.columns if c.endswith("_flag")]
    total = table["n"].sum()
    for _, row in table[table["demi_regularity"] != ""].iterrows():
        ctx = ", ".join(f"{k.replace('ctx_', '').replace('_', ' ')} {row[k]}" for k in keys)
        others = table.drop(index=row.name)
        w = others["n"] / max(others["n"].sum(), 1)
        mech = []
        for m in ("mean_trust", "mean_confidence", "mean_faith", "mean_behaviour"):
            if m in table:
                mech.append(f"{m.replace('mean_', '')} {row[m]:.2f} (others {float((others[m] * w).sum()):.2f})")
        if "dissolved" in table:
            rest = 100 * float((others["dissolved"] * w).sum())
            mech.append(f"dissolved {100 * row['dissolved']:.0f}% (others {rest:.0f}%)")
        outs = [
            f"{_short(o)} {row[o]:+.3f} vs {float((others[o] * w).sum()):+.3f}" for o in outcomes if row[f"{o}_flag"]
        ]
        out.append(
            f"Context [{ctx}] (n = {row['n']} of {total}) → mechanisms: {'; '.join(mech)} → "
            f"outcomes differ: {'; '.join(outs)}."
        )
    return out


# -- presentation ----------------------------------------------------------------------------
def cmoc_html(tables: CMOCTables, *, digits: int = 3) -> str:
    """An HTML fragment (tables only) for the report."""
    import html

    def fmt(v: Any) -> str:
        if isinstance(v, float | np.floating):
            if not np.isfinite(v):
                return ""
            text = f"{v:.{digits}f}"
            return text[1:] if text.startswith("-") and not text.strip("-0.") else text  # no '-0.000'
        return html.escape(str(v))

    def table(df: pd.DataFrame, keys: list[str]) -> str:
        outcomes, _ = outcome_columns(df) if len(df) else ([], False)
        cols = keys + ["n"] + [m for m in MECHANISMS if m in df] + outcomes + ["demi_regularity"]
        head = "".join(f"<th>{html.escape(_column_words(c))}</th>" for c in cols)
        body = []
        for _, r in df.iterrows():
            cells = []
            for c in cols:
                v = r.get(c, "")
                if f"{c}_lo" in df and isinstance(v, float) and np.isfinite(r[f"{c}_lo"]):
                    cells.append(f"<td>{fmt(v)} <small>[{fmt(r[f'{c}_lo'])}, {fmt(r[f'{c}_hi'])}]</small></td>")
                else:
                    cells.append(f"<td>{fmt(v)}</td>")
            mark = ' class="flagged"' if r.get("demi_regularity") else ""
            body.append(f"<tr{mark}>{''.join(cells)}</tr>")
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"

    conf_keys = [c for c in tables.configurations.columns if c.startswith("ctx_") or c == "scenario"]
    paired = (
        "paired against the baseline run with the same seed"
        if tables.paired
        else "raw changes (not paired against a baseline)"
    )
    parts = [
        '<div class="cmoc">',
        f"<p>{tables.n} partnerships. Outcomes are members' changes over the partnership's life, {paired}. "
        "Intervals are 95% (t for means, Wilson for shares). A configuration is a demi-regularity when its "
        "outcome differs from all other partnerships by a Welch test with Benjamini–Hochberg false-discovery "
        "control and a minimum standardised difference.</p>",
    ]
    if tables.statements:
        parts.append("<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in tables.statements) + "</ul>")
    parts.append("<h4>Configurations</h4>" + table(tables.configurations, conf_keys))
    parts.append("<h4>One context at a time</h4>" + table(tables.one_way, ["context", "bin"]))
    parts.append(
        "<p><small>Context rules: "
        + "; ".join(f"<b>{html.escape(k)}</b>: {html.escape(v)}" for k, v in CONTEXT_RULES.items())
        + "</small></p>"
    )
    parts.append("</div>")
    return "\n".join(parts)


def write_csv(tables: CMOCTables, folder: str | Path, log: pd.DataFrame | None = None) -> list[str]:
    """Write the tables (and the binned log) as CSV files in ``folder``; return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in (("cmoc_configurations.csv", tables.configurations), ("cmoc_one_way.csv", tables.one_way)):
        df.to_csv(folder / name, index=False)
        written.append(str(folder / name))
    if log is not None:
        log.to_csv(folder / "partnerships.csv", index=False)
        written.append(str(folder / "partnerships.csv"))
    (folder / "cmoc_statements.txt").write_text("\n".join(tables.statements) + "\n")
    written.append(str(folder / "cmoc_statements.txt"))
    return written


def load_cmoc(folder: str | Path) -> CMOCTables:
    """CMOC tables saved by ``partnersim cmoc`` (cmoc_configurations.csv, cmoc_one_way.csv …)."""
    import pandas as pd

    folder = Path(folder)
    conf = pd.read_csv(folder / "cmoc_configurations.csv", keep_default_na=False, na_values=[""])
    one = pd.read_csv(folder / "cmoc_one_way.csv", keep_default_na=False, na_values=[""])
    for df in (conf, one):
        for col in df.columns:
            if col.endswith("_flag") or col == "demi_regularity":
                df[col] = df[col].astype(object).where(df[col].notna(), "").astype(str)
    st = folder / "cmoc_statements.txt"
    statements = [s for s in st.read_text().splitlines() if s.strip()] if st.exists() else []
    contexts = tuple(c.replace("ctx_", "") for c in conf.columns if c.startswith("ctx_"))
    paired = any(c.startswith("paired_delta_") for c in conf.columns)
    return CMOCTables(conf, one, statements, paired, contexts, int(conf["n"].sum()) if len(conf) else 0)
