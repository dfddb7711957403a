"""The live dashboard: Mesa's SolaraViz served by Solara (``partnersim dashboard``).

Pages: *Watch a run* (one run month by month: partnership network and outcomes, with the
scenario, levers and key effect sizes as controls), *Compare policies* (replicated runs of a
baseline and policies in the background, with bands and paired differences) and *Theory*
(the causal web, its effect sizes editable for the session).

``analysis.faces.dashboard.app`` is the Solara app; ``analysis.faces.dashboard.model`` and
``analysis.faces.dashboard.jobs`` hold the logic without any Solara import.
"""
