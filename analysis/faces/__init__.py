"""The faces: what people see.

``plots`` and ``diagrams`` (each takes data and returns a matplotlib Figure), ``report/``
(the self-contained HTML report) and ``dashboard/`` (the Solara app).
"""
