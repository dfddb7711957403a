"""partnersim's tooling around the model: scenarios, experiments, studies, reports, CLI.

The folders read as the pipeline, scenario → plan → run → store → study → face, and
imports go one way only (``scripts/import_graph.py`` checks that there is no cycle):

==================  =============================================================================
``errors``          user-facing errors (the lowest layer: anything may raise them)
``limits``          the bounds of every number a user gives, in scenario files and as options
``scenario``        scenario files → :class:`sim.RunSpec`, with clear errors; JSON Schema
``plan``            plans, tasks, the replicate seeds (common random numbers), digests
``executors``       where tasks run: serial, local process pool, Dask (one :class:`Executor` protocol)
``store/``          experiment folders: Parquet tables + manifest, atomic batches, resume
``runner``          a plan's runs in batches on an executor, into the store
``paired``          paired runs in memory (history, hooks) for the realist studies
``studies/``        compare, sensitivity, discovery, pathways, realist (CMOC), validation, calibration
``faces/``          plots, diagrams, the HTML report, the dashboard
``jobs/``           one function per command: run a study, write its outputs, print a summary
``cli/``            ``partnersim``: one module per command, parsing options and calling one job
==================  =============================================================================

Every run goes through :func:`sim.run` (or :func:`sim.observe`), the one loop that steps a
model; analyses that need more than the monthly metrics pass observers.
"""
