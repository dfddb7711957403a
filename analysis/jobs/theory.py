"""``partnersim theory``: print a theory's causal web (domains, edges, types; optionally every parameter)."""

from __future__ import annotations

from sim.theory import Theory, load_theory


def print_theory(file: str | None = None, *, params: bool = False) -> int:
    """Print the causal web of the theory ``file`` (default: the default theory); return 0."""
    print(describe_theory(load_theory(file), params=params))
    return 0


def describe_theory(theory: Theory, *, params: bool = False) -> str:
    """The theory's domains, edges (weights, ranges, lags, sources) and types as text."""
    lines = [
        f"{theory.meta.get('name', '')}: {theory.meta.get('description', '')}\n",
        "Partnering acts on structural domains (per type, typology.toml):",
    ]
    for kind in theory.types:
        eff = ", ".join(f"{d} {theory.v(f'type.{kind.name}.effect.{d}'):.2f}" for d in kind.effect_domains)
        lines.append(
            f"  {kind.name:<22} integration {theory.v(f'type.{kind.name}.integration'):.2f}  "
            f"change {theory.v(f'type.{kind.name}.org_change'):.2f}  -> {eff}"
        )
    for tier in ("structural", "relational", "outcome"):
        names = [d.name for d in theory.domains if d.tier == tier]
        lines.append(f"\n{tier} domains: {', '.join(names)}")
    lines.append(f"\n{'edge':<34}{'weight':>8}{'range':>14}{'lag (mo)':>10}  source")
    for edge in theory.edges:
        weight = theory.params[f"edge.{edge.name}.weight"]
        lag = theory.v(f"edge.{edge.name}.lag")
        mark = " [direct]" if edge.direct else ""
        lines.append(
            f"{edge.source + ' -> ' + edge.target:<34}{theory.v(f'edge.{edge.name}.weight'):>8.2f}"
            f"{f'[{weight.low:.2f}, {weight.high:.2f}]':>14}{lag:>10.0f}  {weight.source}{mark}"
        )
    if params:
        lines.append(f"\n{'parameter':<48}{'value':>9}{'low':>9}{'high':>9}  source")
        for param in theory.params.values():
            lines.append(
                f"{param.name:<48}{theory.v(param.name):>9.4g}{param.low:>9.4g}{param.high:>9.4g}  {param.source}"
            )
    lines.append(
        f"\n{len(theory.params)} parameters, {len(theory.uncertain_params())} uncertain (swept by sensitivity analysis)"
    )
    return "\n".join(lines)
