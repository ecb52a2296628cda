"""The Flux repo model: clusters -> Flux Kustomizations -> kustomize builds -> documents."""

from __future__ import annotations

from engine.repo.flux.model import Cluster, FluxKustomization, FluxModel, Rendering, build_model
from engine.repo.flux.resources import Patch, Problem, Resource

__all__ = [
    "Cluster",
    "FluxKustomization",
    "FluxModel",
    "Patch",
    "Problem",
    "Rendering",
    "Resource",
    "build_model",
]
