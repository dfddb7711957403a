"""What each ``partnersim`` command does, as plain functions with typed keyword arguments.

A job loads its inputs, runs a study, writes its outputs and prints a summary; it returns the
command's exit code. The CLI (:mod:`analysis.cli`) only parses the command line and calls
one job, so everything here can be called from Python (scripts, notebooks, tests) without
``argparse``: the library never sees ``args``.
"""
