"""Checking a precondition against the cluster with kubectl.

`suspended`: the live HelmRelease has `spec.suspend: true` (Flux applied the suspend).
`ready`: its Ready condition is True and `metadata.generation` equals
`status.observedGeneration` — what helm-controller itself waits for on a `dependsOn`
(flux.md §1.1).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

from engine.errors import WaypathError
from engine.planning.preconditions import Condition

Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)


def kubectl_args(condition: Condition, kubeconfig: str, context: str | None) -> list[str]:
    args = ["kubectl", f"--kubeconfig={kubeconfig}"]
    if context:
        args.append(f"--context={context}")
    kind = "helmreleases.helm.toolkit.fluxcd.io"
    return [*args, "get", kind, f"--namespace={condition.namespace}", condition.name, "--output=json"]


def live_problem(
    condition: Condition, kubeconfig: str, context: str | None = None, run: Runner = _run
) -> str | None:
    """Why the cluster does not hold `condition` yet, or None when it does."""
    args = kubectl_args(condition, kubeconfig, context)
    try:
        proc = run(args)
    except FileNotFoundError as exc:
        raise WaypathError(
            "kubectl is not installed (or not on PATH)",
            hint="install kubectl, or leave out --kubeconfig to check the commits only",
        ) from exc
    what = f"HelmRelease {condition.namespace}/{condition.name}"
    if proc.returncode != 0:
        return f"{what}: kubectl failed: {proc.stderr.strip() or 'no output'}"
    try:
        obj: Any = json.loads(proc.stdout)
    except ValueError:
        return f"{what}: kubectl printed no JSON"
    spec = obj.get("spec") or {}
    if condition.state == "suspended":
        return None if spec.get("suspend") is True else f"{what} is not suspended in the cluster yet"
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    if not ready or ready[0].get("status") != "True":
        reason = ready[0].get("message", "") if ready else "no Ready condition"
        return f"{what} is not Ready: {reason}"
    if meta.get("generation") != status.get("observedGeneration"):
        return (
            f"{what} has not reconciled its latest spec (generation {meta.get('generation')}, "
            f"observed {status.get('observedGeneration')})"
        )
    return None
