"""Waypath: declarative migration recipes for Flux GitOps repositories."""

__version__ = "0.1.0"
