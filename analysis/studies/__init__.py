"""The studies: what the experiments mean.

``compare`` (paired contrasts with intervals), ``sensitivity/`` (SALib over the theory's
uncertain parameters), ``discovery/`` (PRIM and CART boxes where a policy fails),
``pathways/`` (attribution of an effect to the routes of the causal web), ``realist`` (CMOC
tables), ``validation`` (checks against the evidence) and ``calibration`` (ABC), with
``inputs`` (what a realist study compares). Each takes runs (from :mod:`analysis.runner` and
the store, or :mod:`analysis.paired`) and returns tables; none writes files except through
an explicit ``write_*`` function.
"""
