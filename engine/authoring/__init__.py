"""Tools for recipe authors: scaffold, lint, recipe-local tests, snapshot review.

Nothing here is needed to plan or apply; the `waypath recipe ...` commands call it.
"""
