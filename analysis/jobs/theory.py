"""``partnersim theory``: print a theory's causal web (domains, edges, types; optionally every parameter)."""

from __future__ import annotations

from sim.theory import Theory, load_theory


def print_theory(file: str | None = None, *, params: bool = False) -> int:
    """Print the causal web of the theory ``file`` (default: the default theory); return 0."""
    print(describe_theory(load_theory(file), params=params))
    return 0


def describe_theory(th: Theory, *, params: bool = False) -> str:
    """The theory's domains, edges (weights, ranges, lags, sources) and types as text."""
    lines = [
        f"{th.meta.get('name', '')}: {th.meta.get('description', '')}\n",
        "Partnering acts on structural domains (per type, typology.toml):",
    ]
    for t in th.types:
        eff = ", ".join(f"{d} {th.v(f'type.{t.name}.effect.{d}'):.2f}" for d in t.effect_domains)
        lines.append(
            f"  {t.name:<22} integration {th.v(f'type.{t.name}.integration'):.2f}  "
            f"change {th.v(f'type.{t.name}.org_change'):.2f}  -> {eff}"
        )
    for tier in ("structural", "relational", "outcome"):
        names = [d.name for d in th.domains if d.tier == tier]
        lines.append(f"\n{tier} domains: {', '.join(names)}")
    lines.append(f"\n{'edge':<34}{'weight':>8}{'range':>14}{'lag (mo)':>10}  source")
    for e in th.edges:
        w = th.params[f"edge.{e.name}.weight"]
        lag = th.v(f"edge.{e.name}.lag")
        mark = " [direct]" if e.direct else ""
        lines.append(
            f"{e.source + ' -> ' + e.target:<34}{th.v(f'edge.{e.name}.weight'):>8.2f}"
            f"{f'[{w.low:.2f}, {w.high:.2f}]':>14}{lag:>10.0f}  {w.source}{mark}"
        )
    if params:
        lines.append(f"\n{'parameter':<48}{'value':>9}{'low':>9}{'high':>9}  source")
        for p in th.params.values():
            lines.append(f"{p.name:<48}{th.v(p.name):>9.4g}{p.low:>9.4g}{p.high:>9.4g}  {p.source}")
    lines.append(
        f"\n{len(th.params)} parameters, {len(th.uncertain_params())} uncertain (swept by sensitivity analysis)"
    )
    return "\n".join(lines)
