"""Verify one repo state: what Flux would build, validate, wait for and install.

1. The Flux repo model (engine/repo/flux) says which clusters there are and which Flux
   Kustomizations each applies (discovery.py).
2. Every one is built with the real kustomize (build.py), its output substituted
   (`spec.postBuild`) as Flux does.
3. In each cluster: every Flux object validates against the CRDs (schemas.py), every
   `dependsOn` and Flux `healthChecks` entry names an object the cluster has
   (references.py), every HelmRelease and Flux Kustomization's source is there too, no
   object is defined twice (duplicates.py), and every HelmRelease whose chart is at hand renders (releases.py).

Without kustomize the builds are skipped and the other checks read the YAML files below
each Kustomization's path instead.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from engine.repo.flux.model import build_model, model_for
from engine.verify import build as kbuild
from engine.verify.cache import VerifyCache
from engine.verify.discovery import (
    YAML_SUFFIXES,
    FluxKustomization,
    Obj,
    cluster_kustomizations,
    documents,
)
from engine.verify.duplicates import check_duplicates
from engine.verify.leaks import rendered
from engine.verify.options import VerifyOptions
from engine.verify.references import check_references
from engine.verify.releases import check_releases
from engine.verify.report import CheckResult, Status, VerifyReport
from engine.verify.schemas import is_flux
from engine.verify.substitute import DISABLED, disabled, substitute
from engine.verify.tools import parallel
from engine.verify.tree import Tree, spec_path

_CONFIGMAP_LINE = re.compile(rb"^kind:\s*ConfigMap\s*$", re.MULTILINE)
_CRD_LINE = re.compile(r"^kind:\s*CustomResourceDefinition\s*$", re.MULTILINE)

@dataclass
class Node:
    ks: FluxKustomization
    objects: list[Obj] = field(default_factory=list)


class _Verifier:
    def __init__(self, tree: Tree, options: VerifyOptions, cache: VerifyCache) -> None:
        self.tree = tree
        self.options = options
        self.cache = cache
        self.report = VerifyReport(tools=options.tool_labels())
        self._configmaps: list[dict[str, Any]] | None = None
        self._closures: dict[str, list[str]] = {}
        # inferred clusters (no sync files in the repo) -> the source bootstrap created
        self._bootstrapped: dict[str, list[tuple[str, str, str]]] = {}

    # -- building ------------------------------------------------------------------

    def run(self) -> VerifyReport:
        reader = self.tree.reader()
        # The state before any change is the workspace's: its model is the planner's
        # (`plan --verify` builds one model for the repo, then one per commit's state).
        model = build_model(reader) if reader.writes else model_for(reader.base)
        for problem in model.problems:
            self.report.note(problem.path, problem.reason)
        clusters = cluster_kustomizations(model, reader)
        self._bootstrapped = {
            c.name: [("GitRepository", c.source[1], c.source[0])]
            for c in model.clusters
            if c.sync_file is None
        }
        self._prebuild([ks for members in clusters.values() for ks in members])
        built: dict[tuple[str, str], list[Obj]] = {}
        for name, members in clusters.items():
            nodes = []
            for ks in members:
                key = (ks.file, json.dumps(ks.spec, sort_keys=True, default=str))
                if key not in built:
                    built[key] = self._objects_of(ks)
                nodes.append(Node(ks, built[key]))
            self._check_cluster(name, nodes)
        return self.report

    def _closure(self, folder: str) -> list[str]:
        if folder not in self._closures:
            self._closures[folder] = kbuild.closure(self.tree, folder)
        return self._closures[folder]

    def _prebuild(self, pending: list[FluxKustomization]) -> None:
        """Run the builds the queue will need and the cache lacks, side by side."""
        if self.options.kustomize.argv is None:
            return
        jobs: dict[str, Callable[[], kbuild.BuildOutcome]] = {}
        for ks in pending:
            files = self._closure(spec_path(str(ks.spec.get("path", ""))))
            key = kbuild.cache_key(self.options.kustomize, self.tree, ks, files)
            if key not in jobs and self.cache.build(key) is None:
                jobs[key] = partial(kbuild.build, self.options.kustomize, self.tree, ks, files)
        for key, outcome in zip(jobs, parallel(list(jobs.values())), strict=True):
            self.cache.put_build(key, outcome)

    def _objects_of(self, ks: FluxKustomization) -> list[Obj]:
        folder = spec_path(str(ks.spec.get("path", "")))
        subject = ks.label
        if self.options.kustomize.argv is None:
            self.report.add(
                CheckResult("build", "skip", ks.file, subject, self.options.kustomize.missing)
            )
            return self._raw_objects(folder)
        files = self._closure(folder)
        key = kbuild.cache_key(self.options.kustomize, self.tree, ks, files)
        outcome = self.cache.build(key)
        if outcome is None:
            outcome = kbuild.build(self.options.kustomize, self.tree, ks, files)
            self.cache.put_build(key, outcome)
        self.cache.stats["builds checked"] += 1
        if outcome.error is not None:
            message = kbuild.error_text(outcome.error)
            self.report.add(CheckResult("build", "fail", ks.file, subject, message))
            return []
        self.report.add(CheckResult("build", "pass", ks.file, subject))
        variables = self._variables(ks)
        parsed_key = key + json.dumps(variables, sort_keys=True)
        if parsed_key not in self.cache.parsed:
            self.cache.parsed[parsed_key] = self._parse(outcome.objects, variables)
        objects, unresolved = self.cache.parsed[parsed_key]
        for origin, name in unresolved:
            self.report.note(
                origin,
                f"${{{name}}} has no value in {subject}'s postBuild (inline substitute "
                "and ConfigMaps in the repo); Flux's strict mode fails on it unless a "
                "Secret or a ConfigMap outside the repo defines it",
            )
        return objects

    @staticmethod
    def _parse(
        built: list[kbuild.BuiltObject], variables: dict[str, str]
    ) -> tuple[list[Obj], list[tuple[str, str]]]:
        objects: list[Obj] = []
        missing: list[tuple[str, str]] = []
        for item in built:
            if _CRD_LINE.search(item.text):
                continue  # no check reads CRDs; they are most of a build's bytes
            text = item.text
            if variables and not (
                DISABLED in text and disabled(_built_data(item.origin, text) or {})
            ):
                text, unresolved = substitute(text, variables)
                missing.extend((item.origin, name) for name in sorted(set(unresolved)))
            data = _built_data(item.origin, text)
            if isinstance(data, dict):
                objects.append(Obj(item.origin, kbuild.strip_origin(data)))
        return objects, missing

    def _raw_objects(self, folder: str) -> list[Obj]:
        objects: list[Obj] = []
        for path in self.tree.under(folder):
            if (
                path.endswith(YAML_SUFFIXES)
                and path.rsplit("/", 1)[-1] not in kbuild.KUSTOMIZATION_FILES
            ):
                objects.extend(Obj(path, d) for d in self._documents(path))
        return objects

    def _documents(self, path: str) -> list[dict[str, Any]]:
        return [d for d in documents(path, self.tree.read(path)) if isinstance(d, dict)]

    def _variables(self, ks: FluxKustomization) -> dict[str, str]:
        post = ks.spec.get("postBuild")
        if not isinstance(post, dict):
            return {}
        variables: dict[str, str] = {}
        for source in post.get("substituteFrom") or []:
            if source.get("kind") != "ConfigMap":
                continue  # Secrets: encrypted or outside the repo; unresolved names get a note
            for cm in self._raw_configmaps():
                meta = cm.get("metadata") or {}
                if meta.get("name") == source.get("name") and meta.get("namespace") in (
                    None,
                    ks.namespace,
                ):
                    variables.update({str(k): str(v) for k, v in (cm.get("data") or {}).items()})
        variables.update({str(k): str(v) for k, v in (post.get("substitute") or {}).items()})
        return variables

    def _raw_configmaps(self) -> list[dict[str, Any]]:
        if self._configmaps is None:
            self._configmaps = [
                doc
                for path in self.tree.paths
                if path.endswith(YAML_SUFFIXES) and _CONFIGMAP_LINE.search(self.tree.read(path))
                for doc in self._documents(path)
                if doc.get("kind") == "ConfigMap"
            ]
        return self._configmaps

    # -- checking a cluster ---------------------------------------------------------

    def _check_cluster(self, name: str, nodes: list[Node]) -> None:
        self.report.outputs[name] = rendered(obj for node in nodes for obj in node.objects)
        if self.options.kustomize.argv is None:
            for node in nodes:
                self.report.add(
                    CheckResult(
                        "duplicate", "skip", node.ks.file, node.ks.label,
                        self.options.kustomize.missing,
                    )
                )  # fmt: skip
        else:
            for result in check_duplicates([(node.ks, node.objects) for node in nodes]):
                self.report.add(result)
        # The same object may reach the cluster twice (a Flux Kustomization is in its
        # parent's build and is also a node); duplicates are found above, before this.
        objects: dict[tuple[str, str, str, str], Obj] = {}
        for node in nodes:
            own = Obj(node.ks.file, node.ks.data)
            for obj in [own, *node.objects]:
                objects.setdefault((obj.origin, obj.kind, obj.namespace, obj.name), obj)
        # An object its schema refuses is reported as that; the checks below read its
        # fields and skip it rather than guess what a field of the wrong type meant.
        cluster = self._check_schemas(list(objects.values()))
        for result in check_references(cluster, self._bootstrapped.get(name, [])):
            self.report.add(result)
        label = min(node.ks.file for node in nodes)
        check_releases(cluster, self.options, self.cache, self.report, label)

    def _check_schemas(self, objects: list[Obj]) -> list[Obj]:
        """The objects their schema does not refuse (all of them without schemas)."""
        valid = []
        for obj in objects:
            if not is_flux(obj.data):
                valid.append(obj)
                continue
            if self.options.schemas is None:
                self.report.add(
                    CheckResult(
                        "schema", "skip", obj.origin, obj.label, self.options.schemas_missing
                    )
                )
                valid.append(obj)
                continue
            key = hashlib.sha256(
                json.dumps(obj.data, sort_keys=True, default=str).encode()
            ).hexdigest()
            if key not in self.cache.schema:
                self.cache.schema[key] = self.options.schemas.problems(obj.data)
            problems = self.cache.schema[key]
            status: Status = "fail" if problems else "pass"
            self.report.add(
                CheckResult("schema", status, obj.origin, obj.label, "\n".join(problems))
            )
            if not problems:
                valid.append(obj)
        return valid


def _built_data(origin: str, text: str) -> Any:
    """One object of kustomize's output, read within the limits of every YAML input (a
    document nested deeper than they allow is left out; the repo model named its file)."""
    found = [d for d in documents(origin, text.encode("utf-8", "surrogateescape")) if d is not None]
    return found[0] if len(found) == 1 else None


def verify_tree(
    tree: Tree, options: VerifyOptions, cache: VerifyCache | None = None
) -> VerifyReport:
    """Check one repo state; see the module docstring."""
    return _Verifier(tree, options, cache if cache is not None else VerifyCache()).run()
