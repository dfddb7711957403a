"""The shape of analysis/: no import cycle, the CLI only parses and calls, the library never sees argparse."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "import_graph.py"
CLI = ROOT / "analysis" / "cli"


def run_graph(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def test_analysis_has_no_import_cycle_and_no_sibling_import_inside_a_function():
    proc = run_graph(str(ROOT / "analysis"), "--quiet", "--no-function-imports")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no import cycle" in proc.stdout and "0 in functions" in proc.stdout


def test_the_graph_script_finds_a_cycle_hidden_in_a_function(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "low.py").write_text("def f():\n    from pkg.sub.high import g\n    return g\n")
    (pkg / "sub" / "high.py").write_text("from pkg import low\n\ndef g():\n    return low\n")
    proc = run_graph(str(pkg))
    assert proc.returncode == 1
    assert "pkg.low <-> pkg.sub.high" in proc.stdout and "pkg/low.py:2: pkg.sub.high" in proc.stdout
    (pkg / "low.py").write_text("def f():\n    return 1\n")
    assert run_graph(str(pkg)).returncode == 0
    (pkg / "low.py").write_text("def f():\n    from pkg import sub\n    return sub\n")
    assert run_graph(str(pkg)).returncode == 0
    assert run_graph(str(pkg), "--no-function-imports").returncode == 1


LAYERS = (("errors", "limits"), "scenario", "plan", "executors", "store", "batching", ("runner", "paired"))
LAYERS += ("studies", "faces", "jobs", "cli")
"""The layers of analysis/, lowest first: a module imports only from its own layer or lower ones."""


def test_imports_go_down_the_layers_only():
    spec = importlib.util.spec_from_file_location("import_graph", SCRIPT)
    graph = importlib.util.module_from_spec(spec)
    sys.modules["import_graph"] = graph  # its dataclasses look their module up
    spec.loader.exec_module(graph)
    rank = {name: i for i, layer in enumerate(LAYERS) for name in ((layer,) if isinstance(layer, str) else layer)}
    modules = graph.module_names(ROOT / "analysis")
    edges = [e for m, p in modules.items() for e in graph.edges_of(m, p, modules)]
    layer = {m: m.split(".")[1] for m in modules if m != "analysis"}
    assert set(layer.values()) == set(rank), "a new top-level part of analysis/: give it a layer"
    upward = [f"{e.source} -> {e.target}" for e in edges if rank[layer[e.source]] < rank[layer[e.target]]]
    assert not upward, upward


def command_modules() -> list[Path]:
    return sorted(p for p in CLI.glob("*.py") if p.name not in ("__init__.py", "__main__.py", "options.py"))


def test_every_cli_module_only_parses_and_calls_one_function():
    """Each command module defines add_parser and run; run returns one call, argument by argument."""
    assert len(command_modules()) == 15
    for path in command_modules():
        tree = ast.parse(path.read_text())
        functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert set(functions) == {"add_parser", "run"}, path.name
        assert not [n for n in tree.body if isinstance(n, ast.ClassDef)], path.name
        body = [n for n in functions["run"].body if not isinstance(n, ast.Expr)]  # the docstring aside
        *setup, last = body
        assert isinstance(last, ast.Return) and isinstance(last.value, ast.Call), path.name
        for stmt in setup:  # at most: name the options a call takes as one mapping
            assert isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Dict), path.name
        for node in ast.walk(functions["run"]):
            assert not isinstance(node, ast.If | ast.For | ast.While | ast.Try | ast.With), path.name
        # the one call is jobs.<module>.<function>(...): the job modules load on first use (--help stays fast)
        func = last.value.func
        assert isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute), path.name
        assert isinstance(func.value.value, ast.Name) and func.value.value.id == "jobs", path.name
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        library = {m for m in imported if m.startswith("analysis.") and not m.startswith("analysis.cli")}
        assert library <= {"analysis.jobs.defaults"}, (path.name, library)


def test_help_imports_none_of_the_science():
    """``partnersim --help`` parses without importing numpy, pandas, Mesa, numba or the studies."""
    code = (
        "import sys; from analysis.cli import build_parser; build_parser().format_help(); "
        "heavy = ('numpy', 'pandas', 'mesa', 'numba', 'scipy', 'matplotlib', 'solara', 'sim.model', "
        "'analysis.studies', 'analysis.jobs.experiment'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(heavy)))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_batched_runs_never_import_mesa():
    """The runner's path (the experiment job, ``sim.run_many``) builds Worlds, not Mesa models: no Mesa import.

    Mesa's import costs about a second of every worker's start-up; a Mesa model is built only
    for a run alone (``sim.run``), ``mesa.batch_run`` and the dashboard.
    """
    code = (
        "import sys, analysis.jobs.experiment, sim; "
        "res = sim.run_many([({'failure_regime_enabled': True, 'voluntary_enabled': True}, s) for s in (1, 2)], 3); "
        "assert len(res) == 2 and len(res[0].series) == 4; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'mesa' or m in ('sim.model', 'sim.agents')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_the_library_never_sees_argparse():
    for path in sorted((ROOT / "analysis").rglob("*.py")):
        if path.is_relative_to(CLI):
            continue
        tree = ast.parse(path.read_text())
        imports = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        imports += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
        assert "argparse" not in imports, path
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names = [a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)]
                assert "args" not in names, f"{path}: {node.name}(args)"


def test_the_run_job_loads_the_excel_writer_only_when_asked():
    """``partnersim run`` without ``--xlsx`` never imports openpyxl; ``faces.excel`` loads it on first use."""
    code = (
        "import sys; import analysis.jobs.experiment; print('openpyxl' in sys.modules); "
        "from analysis import faces; faces.excel.write_xlsx; print('openpyxl' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True"]


def test_the_run_and_compare_job_imports_pandas_only_for_its_tables():
    """``partnersim run``/``compare`` import no pandas (0.4 s) before their runs; the report loads it.

    A pool's workers are forked from the job's process: whatever it imports first, every worker
    waits for while a core idles. The runs and their encoding need no pandas, so the job imports
    it only for the report (loaded while the workers run the batches in flight).
    """
    code = (
        "import sys; from analysis.jobs import experiment; print('pandas' in sys.modules); "
        "experiment.prepare_report(); print('pandas' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True"]
