"""Every citation in the scenario and theory files points at docs/evidence.md.

A ``source`` string (and every entry of a scenario's ``sources`` list) must either

* start with "assumption" (no source gives the number),
* name one of the allowed non-evidence sources: "design.md", "definition" or "calibration", or
* cite ``evidence.md#KEY`` with a KEY that is an anchor (``<a id="KEY"></a>``) of docs/evidence.md;

whatever it says, every ``evidence.md#KEY`` in it must exist, and no string anywhere in the files
may still cite the old out-of-repository brief ("domain.md"). The generated
``irt_calibrated*.toml`` files are skipped.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE = ROOT / "docs" / "evidence.md"
SCENARIOS = ROOT / "scenarios"

ANCHOR = re.compile(r'<a id="([^"]+)"></a>')
CITATION = re.compile(r"evidence\.md#([A-Za-z0-9_-]+)")
ALLOWED = re.compile(r"\b(design\.md|definition|calibration)\b", re.IGNORECASE)


def anchors(text: str) -> list[str]:
    return ANCHOR.findall(text)


def toml_files() -> list[Path]:
    return sorted(p for p in SCENARIOS.rglob("*.toml") if not p.name.startswith("irt_calibrated"))


def strings(node: object, path: str = "") -> Iterator[tuple[str, str, bool]]:
    """Yield (key path, string, is_citation) for every string in a parsed TOML document.

    A citation is the value of a ``source`` key or an entry of a ``sources`` list. The
    ``source`` of a causal edge (a table that also has ``target``) is a domain name, not a
    citation.
    """
    if isinstance(node, dict):
        for key, value in node.items():
            sub = f"{path}.{key}" if path else key
            if key == "source" and isinstance(value, str):
                yield sub, value, "target" not in node
            elif key == "sources" and isinstance(value, list):
                for i, entry in enumerate(value):
                    yield f"{sub}[{i}]", str(entry), True
            else:
                yield from strings(value, sub)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from strings(value, f"{path}[{i}]")
    elif isinstance(node, str):
        yield path, node, False


def problems(text: str, keys: set[str]) -> list[str]:
    """Why a citation string is not acceptable (empty if it is)."""
    out = []
    cited = CITATION.findall(text)
    unknown = sorted({k for k in cited if k not in keys})
    if unknown:
        out.append(f"unknown evidence key(s) {unknown}")
    if not (cited or text.strip().lower().startswith("assumption") or ALLOWED.search(text)):
        out.append("neither an assumption, nor design.md/definition/calibration, nor an evidence.md#KEY citation")
    return out


def offences(files: list[Path], keys: set[str]) -> list[str]:
    """One line per offence: file, key path, the string and what is wrong with it."""
    bad = []
    for f in files:
        name = f.relative_to(ROOT) if f.is_relative_to(ROOT) else f.name
        with f.open("rb") as fh:
            doc = tomllib.load(fh)
        for path, text, is_citation in strings(doc):
            why = problems(text, keys) if is_citation else []
            if "domain.md" in text:
                why.append('still cites "domain.md"')
            bad.extend(f"{name}: {path} = {text!r}: {w}" for w in why)
    return bad


@pytest.fixture(scope="module")
def evidence_keys() -> set[str]:
    return set(anchors(EVIDENCE.read_text(encoding="utf-8")))


def test_evidence_anchors_are_unique_and_internal_links_resolve() -> None:
    text = EVIDENCE.read_text(encoding="utf-8")
    found = anchors(text)
    dupes = sorted({k for k in found if found.count(k) > 1})
    assert not dupes, f"duplicate anchors in docs/evidence.md: {dupes}"
    broken = sorted({k for k in re.findall(r"\]\(#([^)]+)\)", text) if k not in found})
    assert not broken, f"links in docs/evidence.md to missing anchors: {broken}"


def test_every_citation_points_at_evidence(evidence_keys: set[str]) -> None:
    files = toml_files()
    assert files, "no scenario files found"
    bad = offences(files, evidence_keys)
    assert not bad, "citations that do not resolve to docs/evidence.md:\n  " + "\n  ".join(bad)


def test_the_files_do_cite_evidence() -> None:
    """Guard against a vacuous pass: the theory and scenarios cite many evidence keys."""
    cited = set()
    for f in toml_files():
        with f.open("rb") as fh:
            for _, text, is_citation in strings(tomllib.load(fh)):
                if is_citation:
                    cited |= set(CITATION.findall(text))
    assert len(cited) >= 20, sorted(cited)


def test_the_check_catches_a_broken_citation(tmp_path: Path, evidence_keys: set[str]) -> None:
    bad_file = tmp_path / "broken.toml"
    bad_file.write_text(
        'name = "x"\n'
        'sources = ["evidence.md#nosuchkey: x", "domain.md §4", "a paper by name"]\n'
        '[p]\nq = {value = 1, source = "evidence.md#gaynor2012"}\n'
        '[[edges]]\nsource = "governance"\ntarget = "culture"\n',
        encoding="utf-8",
    )
    bad = offences([bad_file], evidence_keys)
    assert any("sources[0]" in b and "nosuchkey" in b for b in bad)
    assert any("sources[1]" in b and "domain.md" in b for b in bad)
    assert any("sources[2]" in b and "neither" in b for b in bad)
    assert not any("p.q" in b or "edges" in b for b in bad)
