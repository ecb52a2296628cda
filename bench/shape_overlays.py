"""The second fleet shape: shared bases, per-cluster overlays, Flux Kustomizations, git-tracked.

Used by gen_fleet.py (`--shape overlays`). Where the flat shape gives every cluster a full
copy of every add-on, this one is laid out like fluxcd/flux2-kustomize-helm-example and most
real fleets:

* ``infrastructure/base/<addon>/``: one HelmRelease, HelmRepository and kustomization.yaml per
  add-on, shared by every cluster (19 add-ons; Linkerd's source and namespace too);
* ``clusters/<c>/``: Flux bootstrap (gotk-sync.yaml and a 60 KB gotk-components.yaml, a third
  of the flat shape's: the controllers without their long CRD descriptions) and two Flux
  Kustomizations, ``infrastructure`` (path ``./infrastructure/clusters/<c>``)
  and ``apps`` (dependsOn infrastructure, postBuild substitution);
* ``infrastructure/clusters/<c>/``: a kustomize overlay listing the bases, with
  strategic-merge and targeted patches of the add-ons' values, and ``linkerd/``: the cluster's
  own Linkerd HelmRelease (the pin is per cluster: upgrades move cluster by cluster), its
  values ConfigMap and a targeted patch on it;
* ``apps/<c>/<app>/``: Deployment, Service and kustomization.yaml for 10 workloads.

About 50 small files per cluster (~85 KB) against the flat shape's 107 (~255 KB): many more
files are Flux/kustomize plumbing the engine must follow and far fewer bytes are CRD text.
The output is committed to a git repository (the engine then lists files with git).
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Callable
from pathlib import Path

import gen_fleet as flat

APPS = ["checkout", "cart", "catalog", "payments", "search", "users", "orders", "mailer",
        "gateway", "reports"]  # fmt: skip
# Add-ons whose values the overlay patches (strategic merge), the rest come from the base as is.
PATCHED = {"cert-manager", "ingress-nginx", "kube-prometheus-stack", "loki", "velero",
           "external-dns", "cluster-autoscaler", "kyverno"}  # fmt: skip
BASE_PARAMS = {
    "cluster": "base",
    "env": "nonprod",
    "region": "eu-west-1",
    "account": "111111111111",
    "replicas": "1",
    "replicas3": "1",
    "pdb": "false",
    "hpa": "false",
    "retention": "72h",
    "policy": "cluster-authenticated",
    "webhook": "Ignore",
    "flux": "v2.5.1",
}


def generate(
    out: Path,
    clusters: int,
    seed: int,
    write: Callable[[Path, str], int],
    linkerd_version: str,
) -> tuple[int, int]:
    files = total = 0
    infra = out / "infrastructure"
    total += write(out / "README.md", f"# Generated fleet, overlays shape ({clusters} clusters)\n")
    files += 1
    api: dict[str, str] = {}  # add-on -> its base HelmRelease's apiVersion (patches match it)
    for addon in flat.ADDONS:
        rng = random.Random(f"{seed}:base:{addon['name']}")
        d = infra / "base" / addon["name"]
        resources = ["helmrepository.yaml"]
        total += write(d / "helmrepository.yaml", flat.render_helmrepository(addon, rng))
        if addon["name"] == "linkerd":
            resources.insert(0, "namespace.yaml")
            total += write(d / "namespace.yaml", flat.LINKERD_NAMESPACE)
            files += 1
        else:
            resources.append("helmrelease.yaml")
            release = flat.render_helmrelease(addon, BASE_PARAMS, rng)
            api[addon["name"]] = release.split("apiVersion: ", 1)[1].split()[0]
            total += write(d / "helmrelease.yaml", release)
            files += 1
        total += write(d / "kustomization.yaml", _kustomize(resources))
        files += 2
    gotk: dict[str, str] = {}
    for idx in range(clusters):
        params = flat.cluster_params(seed, idx)
        c = params["cluster"]
        rng = random.Random(f"{seed}:overlays:{idx}")
        root = out / "clusters" / c
        total += write(root / "flux-system" / "gotk-sync.yaml", flat.render_gotk_sync(params))
        fv = params["flux"]
        if fv not in gotk:
            gotk[fv] = flat.gotk_components(fv, target=60_000)
        total += write(root / "flux-system" / "gotk-components.yaml", gotk[fv])
        total += write(root / "flux-system" / "kustomization.yaml", flat.FLUX_KUSTOMIZE)
        total += write(root / "infrastructure.yaml", _flux_kustomizations(c, rng))
        files += 4
        overlay = infra / "clusters" / c
        patches = sorted(PATCHED)
        total += write(overlay / "kustomization.yaml", _overlay_kustomize(patches))
        total += write(overlay / "cluster-settings.yaml", flat.render_cluster_settings(params))
        files += 2
        for name in patches:
            addon = next(a for a in flat.ADDONS if a["name"] == name)
            total += write(
                overlay / "patches" / f"{name}.yaml", _values_patch(addon, params, api[name])
            )
            files += 1
        lk = next(a for a in flat.ADDONS if a["name"] == "linkerd")
        lrng = random.Random(f"{seed}:{idx}:linkerd")
        release = flat.render_helmrelease(lk, params, lrng, linkerd_version=linkerd_version)
        total += write(overlay / "linkerd" / "helmrelease.yaml", release)
        total += write(
            overlay / "linkerd" / "configmap.yaml", flat.render_configmap(lk, params, lrng)
        )
        total += write(overlay / "linkerd" / "proxy-patch.yaml", LINKERD_PATCH)
        total += write(overlay / "linkerd" / "kustomization.yaml", LINKERD_OVERLAY)
        files += 4
        apps = out / "apps" / c
        total += write(apps / "kustomization.yaml", _kustomize(APPS))
        files += 1
        for app in APPS:
            replicas = params["replicas3"]
            total += write(apps / app / "deployment.yaml", _deployment(app, replicas, rng))
            total += write(apps / app / "service.yaml", _service(app))
            total += write(apps / app / "kustomization.yaml", APP_KUSTOMIZE)
            files += 3
    _commit(out)
    return files, total


def _commit(out: Path) -> None:
    env_git = ["git", "-C", str(out), "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(out)], check=True)
    subprocess.run([*env_git, "add", "-A"], check=True)
    subprocess.run([*env_git, "commit", "-q", "-m", "generated fleet"], check=True)


def _kustomize(resources: list[str], namespace: str | None = None) -> str:
    head = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
    if namespace:
        head += f"namespace: {namespace}\n"
    return head + "resources:\n" + "".join(f"  - {r}\n" for r in resources)


def _overlay_kustomize(patched: list[str]) -> str:
    bases = [f"../../base/{a['name']}" for a in flat.ADDONS if a["name"] != "linkerd"]
    text = _kustomize(["cluster-settings.yaml", "../../base/linkerd", "linkerd", *bases])
    text += "patches:\n"
    for name in patched:
        text += f"  - path: patches/{name}.yaml\n"
    text += (
        "  - target:\n      kind: HelmRelease\n      labelSelector: app.kubernetes.io/part-of=platform-addons\n"
        "    patch: |-\n      - op: add\n        path: /spec/install/disableWait\n        value: false\n"
    )
    return text


def _flux_kustomizations(cluster: str, rng: random.Random) -> str:
    return f"""\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: infrastructure
  namespace: flux-system
spec:
  interval: {rng.choice(["10m", "30m", "1h"])}
  path: ./infrastructure/clusters/{cluster}
  prune: true
  wait: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  postBuild:
    substitute:
      cluster_name: {cluster}
    substituteFrom:
      - kind: ConfigMap
        name: cluster-settings
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  dependsOn:
    - name: infrastructure
  interval: 10m
  path: ./apps/{cluster}
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  postBuild:
    substitute:
      cluster_name: {cluster}
"""


def _values_patch(addon: dict[str, object], params: dict[str, str], api: str) -> str:
    body = flat.fill(str(addon["overrides"]), params)
    return f"""\
apiVersion: {api}
kind: HelmRelease
metadata:
  name: {addon["name"]}
  namespace: {addon["namespace"]}
spec:
  values:
{flat.indent(body, 4)}"""


LINKERD_OVERLAY = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: linkerd
resources:
  - configmap.yaml
  - helmrelease.yaml
patches:
  - path: proxy-patch.yaml
    target:
      kind: HelmRelease
      name: linkerd
"""

LINKERD_PATCH = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: linkerd
spec:
  values:
    proxy:
      resources:
        cpu:
          request: 100m
        memory:
          limit: 250Mi
          request: 20Mi
"""

APP_KUSTOMIZE = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
  - service.yaml
"""


def _deployment(app: str, replicas: str, rng: random.Random) -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {app}
  namespace: shop
  labels:
    app.kubernetes.io/name: {app}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app.kubernetes.io/name: {app}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {app}
      annotations:
        linkerd.io/inject: enabled
        config.linkerd.io/proxy-cpu-request: {rng.choice(["10m", "25m", "50m"])}
    spec:
      containers:
        - name: {app}
          image: registry.example.com/shop/{app}:1.{rng.randrange(40)}.{rng.randrange(10)}
          ports:
            - containerPort: 8080
              name: http
          env:
            - name: CLUSTER
              value: ${{cluster_name}}
          resources:
            requests:
              cpu: 50m
              memory: 64Mi
"""


def _service(app: str) -> str:
    return f"""\
apiVersion: v1
kind: Service
metadata:
  name: {app}
  namespace: shop
spec:
  selector:
    app.kubernetes.io/name: {app}
  ports:
    - name: http
      port: 80
      targetPort: http
"""
