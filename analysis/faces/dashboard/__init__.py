"""The live dashboard: Solara pages around the Mesa model (``partnersim dashboard``), also in Jupyter.

Pages: *Watch a run* (one run month by month: partnership network and outcomes, with the
scenario, levers, outside pressures and key effect sizes as plain-language controls, and
the settings saved as a scenario file), *Compare policies* (replicated runs of a baseline
and policies in the background, kept under ``results/dashboard/``, with bands and paired
differences) and *Theory* (the causal web; arrow strengths, arrow delays and mechanism
parameters editable for the session).

Without Solara (importable and testable without a browser): ``model`` (the watched model,
its controls, the scenario library), ``live`` (incrementally redrawn figures), ``editing``
(the editable theory values), ``saving`` (scenario files) and ``jobs`` (the comparison).
With Solara: ``app`` (routes; ``solara run analysis.faces.dashboard.app``), one module per
page, ``widgets``, ``state`` and ``notebook`` (``show()`` in a Jupyter cell). ``serve``
starts the server.
"""
