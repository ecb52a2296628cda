"""Find the real `helm` and `kubectl` (with built-in kustomize) for the tests that need them.

Lookup order: `$WAYPATH_TOOLS_BIN`, then `PATH`, then `.tools/bin` of this checkout (where
`tools/install-k8s-tools.sh` puts them; `.ci/run` does that before the tests). A test that
needs a missing tool is skipped with the reason locally and FAILS when `CI=true`: CI must
never report a check as passed that did not run.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.checks.shared import REPO

TOOLS = ("helm", "kubectl")
REPO_BIN = REPO / ".tools" / "bin"
INSTALL_HINT = (
    "run tools/install-k8s-tools.sh (installs into .tools/bin), or put them on PATH, "
    "or set WAYPATH_TOOLS_BIN=/folder/with/them"
)


@dataclass(frozen=True)
class K8sTools:
    helm: Path
    kubectl: Path


def _executable(path: Path) -> Path | None:
    return path if path.is_file() and os.access(path, os.X_OK) else None


def find_tool(name: str) -> Path | None:
    """The first executable `name` in $WAYPATH_TOOLS_BIN, PATH, or .tools/bin."""
    env = os.environ.get("WAYPATH_TOOLS_BIN")
    if env and (found := _executable(Path(env) / name)):
        return found
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    return _executable(REPO_BIN / name)


def missing_tools() -> list[str]:
    return [name for name in TOOLS if find_tool(name) is None]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def require_k8s_tools() -> K8sTools:
    """helm and kubectl, or skip (locally) / fail (CI=true) naming what is missing."""
    missing = missing_tools()
    if missing:
        reason = f"needs {' and '.join(missing)}, not found: {INSTALL_HINT}"
        if in_ci():
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    helm, kubectl = find_tool("helm"), find_tool("kubectl")
    assert helm is not None and kubectl is not None
    return K8sTools(helm=helm, kubectl=kubectl)


@pytest.fixture(scope="session")
def k8s_tools() -> K8sTools:
    """The real helm and kubectl; see the module docstring for skip/fail rules."""
    return require_k8s_tools()


def report_header() -> str:
    """One line for pytest's header, so a local run says up front what will be skipped."""
    missing = missing_tools()
    if not missing:
        found = ", ".join(f"{n}={find_tool(n)}" for n in TOOLS)
        return f"k8s tools: {found}"
    mode = "required (CI=true): those tests FAIL" if in_ci() else "tests needing them are skipped"
    return f"k8s tools: {', '.join(missing)} not found, {mode}; {INSTALL_HINT}"
