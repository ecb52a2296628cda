"""Checks that run over every snapshot scenario's plan (tests/test_linkerd_scenarios.py).

Each module holds one check and knows nothing of pytest: it takes a plan (and the repo the
plan was made from) and returns a list of problems, one readable line each. An empty list
means the check passed. docs/snapshots.md says what each check guarantees.
"""
