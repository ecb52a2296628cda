#!/usr/bin/env python3
"""Generate a synthetic Flux fleet repo for Waypath benchmarks.

    python bench/gen_fleet.py OUT_DIR --clusters N [--seed S] [--force]

Writes N clusters under OUT_DIR/clusters/cluster-<i>/ (i = 0 .. N-1). Each cluster has:

* flux-system/ with gotk-sync.yaml, kustomization.yaml and a ~200 KB gotk-components.yaml
  (CRD-like text that mentions ``kind: HelmRelease`` on indented lines, as the real file does);
* addons/<addon>.yaml: one Flux Kustomization per add-on (with postBuild substitution);
* <addon>/ with helmrelease.yaml, helmrepository.yaml, configmap.yaml (values for valuesFrom)
  and a kustomize kustomization.yaml, for 20 add-ons, one of which is Linkerd stable-2.11.5
  (chart ``linkerd2`` "2.11.5" from HelmRepository ``linkerd``).

Files vary the way real repos do (indentation 2/4, leading ``---`` or not, a comment block above
the first document, quoted or plain versions, HelmRelease v2beta1/v2beta2/v2, a few CRLF files),
all chosen from a PRNG seeded by (seed, cluster, add-on): the output is byte-identical for the
same seed, and cluster k is the same whatever N is. Standard library only.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

# --------------------------------------------------------------------------------------
# Add-on catalogue. Values are YAML text at indent 0 (2-space style); @@name@@ placeholders
# are filled per cluster. ${...} tokens are Flux postBuild substitutions and are kept as is.
# --------------------------------------------------------------------------------------

ADDONS: list[dict] = [
    {
        "name": "cert-manager",
        "namespace": "cert-manager",
        "chart": "cert-manager",
        "version": "v1.14.4",
        "repo": "https://charts.jetstack.io",
        "depends": [],
        "doc": "cert-manager issues TLS certificates (ACME via Route53 DNS-01, internal CA).",
        "values": """\
installCRDs: true
replicaCount: @@replicas@@
# Route53 DNS-01 needs the IRSA role below.
serviceAccount:
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::@@account@@:role/${cluster_name}-cert-manager
extraArgs:
  - --dns01-recursive-nameservers-only
  - --dns01-recursive-nameservers=8.8.8.8:53,1.1.1.1:53
  - --enable-certificate-owner-ref=true
prometheus:
  enabled: true
  servicemonitor:
    enabled: true
    labels:
      release: kube-prometheus-stack
resources:
  requests:
    cpu: 20m
    memory: 64Mi
  limits:
    memory: 256Mi
webhook:
  replicaCount: @@replicas@@
  timeoutSeconds: 10
cainjector:
  replicaCount: 1
  resources:
    requests:
      cpu: 20m
      memory: 128Mi
podDisruptionBudget:
  enabled: @@pdb@@
""",
        "overrides": """\
global:
  logLevel: 2
  leaderElection:
    namespace: cert-manager
""",
    },
    {
        "name": "external-dns",
        "namespace": "external-dns",
        "chart": "external-dns",
        "version": "1.14.3",
        "repo": "https://kubernetes-sigs.github.io/external-dns/",
        "depends": [],
        "doc": "external-dns publishes Ingress/Service hostnames to Route53.",
        "values": """\
provider: aws
policy: upsert-only
registry: txt
txtOwnerId: ${cluster_name}
txtPrefix: "_extdns."
interval: 2m
domainFilters:
  - @@env@@.example.com
  - internal.@@env@@.example.com
sources:
  - service
  - ingress
serviceAccount:
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::@@account@@:role/${cluster_name}-external-dns
env:
  - name: AWS_DEFAULT_REGION
    value: @@region@@
serviceMonitor:
  enabled: true
resources:
  requests:
    cpu: 10m
    memory: 48Mi
  limits:
    memory: 128Mi
""",
        "overrides": """\
logLevel: info
logFormat: json
""",
    },
    {
        "name": "ingress-nginx",
        "namespace": "ingress-nginx",
        "chart": "ingress-nginx",
        "version": "4.10.0",
        "repo": "https://kubernetes.github.io/ingress-nginx",
        "depends": ["cert-manager"],
        "doc": "Internal and public ingress controller (NLB, proxy protocol).",
        "values": """\
controller:
  replicaCount: @@replicas3@@
  ingressClassResource:
    name: nginx
    default: true
  config:
    use-proxy-protocol: "true"
    use-forwarded-headers: "true"
    proxy-body-size: 16m
    log-format-escape-json: "true"
    log-format-upstream: '{"time": "$time_iso8601", "status": $status, "host": "$host", "path": "$uri", "request_time": $request_time}'
  service:
    annotations:
      service.beta.kubernetes.io/aws-load-balancer-type: nlb
      service.beta.kubernetes.io/aws-load-balancer-proxy-protocol: "*"
      service.beta.kubernetes.io/aws-load-balancer-scheme: internet-facing
    externalTrafficPolicy: Local
  podAnnotations:
    linkerd.io/inject: enabled
    config.linkerd.io/skip-inbound-ports: "80,443"
  metrics:
    enabled: true
    serviceMonitor:
      enabled: true
  resources:
    requests:
      cpu: 200m
      memory: 256Mi
  autoscaling:
    enabled: @@hpa@@
    minReplicas: @@replicas3@@
    maxReplicas: 12
    targetCPUUtilizationPercentage: 70
  admissionWebhooks:
    enabled: true
""",
        "overrides": """\
controller:
  extraArgs:
    default-ssl-certificate: ingress-nginx/wildcard-tls
""",
    },
    {
        "name": "kube-prometheus-stack",
        "namespace": "monitoring",
        "chart": "kube-prometheus-stack",
        "version": "57.2.0",
        "repo": "https://prometheus-community.github.io/helm-charts",
        "depends": [],
        "doc": "Prometheus, Alertmanager, Grafana and the default rules.",
        "values": """\
fullnameOverride: kube-prometheus-stack
crds:
  enabled: true
defaultRules:
  create: true
  rules:
    etcd: false
    kubeScheduler: false
    kubeControllerManager: false
kubeEtcd:
  enabled: false
kubeScheduler:
  enabled: false
kubeControllerManager:
  enabled: false
prometheus:
  prometheusSpec:
    replicas: @@replicas@@
    retention: @@retention@@
    retentionSize: 45GB
    externalLabels:
      cluster: ${cluster_name}
      env: @@env@@
    ruleSelectorNilUsesHelmValues: false
    serviceMonitorSelectorNilUsesHelmValues: false
    podMonitorSelectorNilUsesHelmValues: false
    storageSpec:
      volumeClaimTemplate:
        spec:
          storageClassName: gp3
          resources:
            requests:
              storage: 50Gi
    resources:
      requests:
        cpu: 500m
        memory: 2Gi
alertmanager:
  alertmanagerSpec:
    replicas: @@replicas@@
grafana:
  enabled: true
  defaultDashboardsTimezone: utc
  sidecar:
    dashboards:
      enabled: true
      searchNamespace: ALL
  ingress:
    enabled: true
    ingressClassName: nginx
    hosts:
      - grafana.${cluster_name}.@@env@@.example.com
""",
        "overrides": """\
alertmanager:
  config:
    route:
      receiver: slack-platform
      group_by: [alertname, namespace]
""",
    },
    {
        "name": "loki",
        "namespace": "logging",
        "chart": "loki",
        "version": "5.47.2",
        "repo": "https://grafana.github.io/helm-charts",
        "depends": ["kube-prometheus-stack"],
        "doc": "Loki in simple scalable mode, chunks in S3.",
        "values": """\
deploymentMode: SimpleScalable
loki:
  auth_enabled: false
  commonConfig:
    replication_factor: @@replicas@@
  storage:
    type: s3
    bucketNames:
      chunks: @@env@@-${cluster_name}-loki-chunks
      ruler: @@env@@-${cluster_name}-loki-ruler
    s3:
      region: @@region@@
  limits_config:
    retention_period: @@retention@@
    ingestion_rate_mb: 16
serviceAccount:
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::@@account@@:role/${cluster_name}-loki
write:
  replicas: @@replicas3@@
read:
  replicas: @@replicas@@
backend:
  replicas: @@replicas@@
monitoring:
  selfMonitoring:
    enabled: false
  lokiCanary:
    enabled: false
test:
  enabled: false
""",
        "overrides": """\
loki:
  schemaConfig:
    configs:
      - from: "2024-01-01"
        store: tsdb
        object_store: s3
        schema: v13
        index:
          prefix: index_
          period: 24h
""",
    },
    {
        "name": "tempo",
        "namespace": "tracing",
        "chart": "tempo",
        "version": "1.7.2",
        "repo": "https://grafana.github.io/helm-charts",
        "depends": ["kube-prometheus-stack"],
        "doc": "Tempo (single binary) for traces from the OpenTelemetry collectors.",
        "values": """\
tempo:
  retention: @@retention@@
  storage:
    trace:
      backend: s3
      s3:
        bucket: @@env@@-${cluster_name}-tempo
        endpoint: s3.@@region@@.amazonaws.com
  receivers:
    otlp:
      protocols:
        grpc:
          endpoint: 0.0.0.0:4317
        http:
          endpoint: 0.0.0.0:4318
serviceAccount:
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::@@account@@:role/${cluster_name}-tempo
serviceMonitor:
  enabled: true
persistence:
  enabled: true
  size: 20Gi
""",
        "overrides": """\
tempo:
  metricsGenerator:
    enabled: true
    remoteWriteUrl: http://kube-prometheus-stack-prometheus.monitoring:9090/api/v1/write
""",
    },
    {
        "name": "velero",
        "namespace": "velero",
        "chart": "velero",
        "version": "6.0.0",
        "repo": "https://vmware-tanzu.github.io/helm-charts",
        "depends": [],
        "doc": "Velero backups of cluster state and EBS snapshots.",
        "values": """\
initContainers:
  - name: velero-plugin-for-aws
    image: velero/velero-plugin-for-aws:v1.9.1
    volumeMounts:
      - mountPath: /target
        name: plugins
configuration:
  backupStorageLocation:
    - name: default
      provider: aws
      bucket: @@env@@-velero-backups
      prefix: ${cluster_name}
      config:
        region: @@region@@
  volumeSnapshotLocation:
    - name: default
      provider: aws
      config:
        region: @@region@@
serviceAccount:
  server:
    annotations:
      eks.amazonaws.com/role-arn: arn:aws:iam::@@account@@:role/${cluster_name}-velero
schedules:
  daily:
    schedule: "0 3 * * *"
    template:
      ttl: 720h
      includedNamespaces:
        - "*"
metrics:
  enabled: true
  serviceMonitor:
    enabled: true
""",
        "overrides": """\
kubectl:
  image:
    tag: "1.29"
""",
    },
    {
        "name": "external-secrets",
        "namespace": "external-secrets",
        "chart": "external-secrets",
        "version": "0.9.13",
        "repo": "https://charts.external-secrets.io",
        "depends": [],
        "doc": "External Secrets Operator; ClusterSecretStore for AWS Secrets Manager.",
        "values": """\
installCRDs: true
replicaCount: @@replicas@@
leaderElect: true
serviceAccount:
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::@@account@@:role/${cluster_name}-external-secrets
serviceMonitor:
  enabled: true
webhook:
  replicaCount: @@replicas@@
certController:
  replicaCount: 1
resources:
  requests:
    cpu: 10m
    memory: 64Mi
""",
        "overrides": """\
concurrent: 4
""",
    },
    {
        "name": "kyverno",
        "namespace": "kyverno",
        "chart": "kyverno",
        "version": "3.1.4",
        "repo": "https://kyverno.github.io/kyverno/",
        "depends": [],
        "doc": "Kyverno admission policies (audit in nonprod, enforce in prod).",
        "values": """\
admissionController:
  replicas: @@replicas3@@
  container:
    resources:
      limits:
        memory: 768Mi
      requests:
        cpu: 100m
        memory: 256Mi
backgroundController:
  replicas: @@replicas@@
cleanupController:
  replicas: 1
reportsController:
  replicas: 1
config:
  webhooks:
    - namespaceSelector:
        matchExpressions:
          - key: kubernetes.io/metadata.name
            operator: NotIn
            values:
              - kube-system
              - kyverno
              - linkerd
features:
  policyExceptions:
    enabled: true
""",
        "overrides": """\
config:
  excludeGroups:
    - system:nodes
""",
    },
    {
        "name": "metrics-server",
        "namespace": "kube-system",
        "chart": "metrics-server",
        "version": "3.12.0",
        "repo": "https://kubernetes-sigs.github.io/metrics-server/",
        "depends": [],
        "doc": "metrics-server for HPA and kubectl top.",
        "values": """\
replicas: @@replicas@@
args:
  - --kubelet-preferred-address-types=InternalIP
  - --metric-resolution=15s
podDisruptionBudget:
  enabled: @@pdb@@
  minAvailable: 1
resources:
  requests:
    cpu: 50m
    memory: 64Mi
""",
        "overrides": """\
serviceMonitor:
  enabled: true
""",
    },
    {
        "name": "cluster-autoscaler",
        "namespace": "kube-system",
        "chart": "cluster-autoscaler",
        "version": "9.35.0",
        "repo": "https://kubernetes.github.io/autoscaler",
        "depends": [],
        "doc": "Cluster Autoscaler for the EKS managed node groups.",
        "values": """\
cloudProvider: aws
awsRegion: @@region@@
autoDiscovery:
  clusterName: ${cluster_name}
rbac:
  serviceAccount:
    name: cluster-autoscaler
    annotations:
      eks.amazonaws.com/role-arn: arn:aws:iam::@@account@@:role/${cluster_name}-cluster-autoscaler
extraArgs:
  balance-similar-node-groups: true
  skip-nodes-with-system-pods: false
  expander: least-waste
  scale-down-utilization-threshold: 0.6
  scale-down-unneeded-time: 10m
podAnnotations:
  cluster-autoscaler.kubernetes.io/safe-to-evict: "false"
serviceMonitor:
  enabled: true
  namespace: monitoring
""",
        "overrides": """\
image:
  tag: v1.29.0
""",
    },
    {
        "name": "reloader",
        "namespace": "reloader",
        "chart": "reloader",
        "version": "1.0.72",
        "repo": "https://stakater.github.io/stakater-charts",
        "depends": [],
        "doc": "Restarts workloads when their ConfigMaps/Secrets change.",
        "values": """\
reloader:
  watchGlobally: true
  ignoreSecrets: false
  reloadOnCreate: false
  deployment:
    replicas: 1
    resources:
      requests:
        cpu: 10m
        memory: 64Mi
      limits:
        memory: 256Mi
  podMonitor:
    enabled: true
""",
        "overrides": """\
reloader:
  logFormat: json
""",
    },
    {
        "name": "sealed-secrets",
        "namespace": "kube-system",
        "chart": "sealed-secrets",
        "version": "2.15.2",
        "repo": "https://bitnami-labs.github.io/sealed-secrets",
        "depends": [],
        "doc": "Legacy: Sealed Secrets controller kept for teams not yet on SOPS/ESO.",
        "values": """\
fullnameOverride: sealed-secrets-controller
keyrenewperiod: "720h"
metrics:
  serviceMonitor:
    enabled: true
resources:
  requests:
    cpu: 10m
    memory: 32Mi
""",
        "overrides": """\
updateStatus: true
""",
    },
    {
        "name": "keda",
        "namespace": "keda",
        "chart": "keda",
        "version": "2.13.2",
        "repo": "https://kedacore.github.io/charts",
        "depends": [],
        "doc": "KEDA event-driven autoscaling (SQS, Kafka, Prometheus scalers).",
        "values": """\
operator:
  replicaCount: @@replicas@@
metricsServer:
  replicaCount: @@replicas@@
podIdentity:
  aws:
    irsa:
      enabled: true
      roleArn: arn:aws:iam::@@account@@:role/${cluster_name}-keda
prometheus:
  operator:
    enabled: true
    serviceMonitor:
      enabled: true
  metricServer:
    enabled: true
resources:
  operator:
    requests:
      cpu: 50m
      memory: 128Mi
""",
        "overrides": """\
logging:
  operator:
    format: json
""",
    },
    {
        "name": "argo-rollouts",
        "namespace": "argo-rollouts",
        "chart": "argo-rollouts",
        "version": "2.35.0",
        "repo": "https://argoproj.github.io/argo-helm",
        "depends": [],
        "doc": "Argo Rollouts for canary deployments (traffic split via the mesh).",
        "values": """\
installCRDs: true
controller:
  replicas: @@replicas@@
  metrics:
    enabled: true
    serviceMonitor:
      enabled: true
dashboard:
  enabled: false
notifications:
  secret:
    create: false
""",
        "overrides": """\
controller:
  trafficRouterPlugins:
    trafficRouterPlugins: |-
      - name: "argoproj-labs/gatewayAPI"
        location: "https://github.com/argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi/releases/download/v0.2.0/gateway-api-plugin-linux-amd64"
""",
    },
    {
        "name": "vault-agent",
        "namespace": "vault",
        "chart": "vault",
        "version": "0.27.0",
        "repo": "https://helm.releases.hashicorp.com",
        "depends": ["cert-manager"],
        "doc": "Vault agent injector only; the Vault servers run outside the cluster.",
        "values": """\
global:
  externalVaultAddr: https://vault.@@env@@.example.com:8200
injector:
  enabled: true
  replicas: @@replicas@@
  authPath: auth/${cluster_name}
  logFormat: json
  metrics:
    enabled: true
  resources:
    requests:
      cpu: 50m
      memory: 64Mi
server:
  enabled: false
csi:
  enabled: false
""",
        "overrides": """\
injector:
  agentDefaults:
    cpuRequest: 25m
    memRequest: 32Mi
""",
    },
    {
        "name": "node-local-dns",
        "namespace": "kube-system",
        "chart": "node-local-dns",
        "version": "2.0.6",
        "repo": "https://charts.deliveryhero.io/",
        "depends": [],
        "doc": "NodeLocal DNSCache on 169.254.20.10.",
        "values": """\
config:
  localDns: 169.254.20.10
  dnsServer: 172.20.0.10
  zones:
    - zone: cluster.local
      plugins:
        cache:
          denial:
            size: 9984
            ttl: 5
          success:
            size: 9984
            ttl: 30
        forward:
          parameters: __PILLAR__CLUSTER__DNS__
    - zone: .
      plugins:
        forward:
          parameters: __PILLAR__UPSTREAM__SERVERS__
resources:
  requests:
    cpu: 25m
    memory: 32Mi
""",
        "overrides": """\
serviceMonitor:
  enabled: true
""",
    },
    {
        "name": "descheduler",
        "namespace": "kube-system",
        "chart": "descheduler",
        "version": "0.29.0",
        "repo": "https://kubernetes-sigs.github.io/descheduler/",
        "depends": [],
        "doc": "Descheduler (CronJob) to rebalance after scale-ups.",
        "values": """\
kind: CronJob
schedule: "*/15 * * * *"
deschedulerPolicy:
  profiles:
    - name: default
      pluginConfig:
        - name: DefaultEvictor
          args:
            ignorePvcPods: true
            evictLocalStoragePods: false
        - name: RemoveDuplicates
        - name: LowNodeUtilization
          args:
            thresholds:
              cpu: 20
              memory: 20
            targetThresholds:
              cpu: 60
              memory: 60
      plugins:
        balance:
          enabled:
            - RemoveDuplicates
            - LowNodeUtilization
""",
        "overrides": """\
resources:
  requests:
    cpu: 100m
    memory: 128Mi
""",
    },
    {
        "name": "trivy-operator",
        "namespace": "trivy-system",
        "chart": "trivy-operator",
        "version": "0.21.4",
        "repo": "https://aquasecurity.github.io/helm-charts/",
        "depends": ["kube-prometheus-stack"],
        "doc": "Trivy operator: vulnerability and config audit reports.",
        "values": """\
operator:
  replicas: 1
  scanJobsConcurrentLimit: 3
  vulnerabilityScannerScanOnlyCurrentRevisions: true
  configAuditScannerScanOnlyCurrentRevisions: true
trivy:
  ignoreUnfixed: true
  severity: HIGH,CRITICAL
  dbRegistry: @@account@@.dkr.ecr.@@region@@.amazonaws.com
  dbRepository: mirror/aquasecurity/trivy-db
serviceMonitor:
  enabled: true
excludeNamespaces: "kube-system,linkerd"
""",
        "overrides": """\
trivy:
  resources:
    requests:
      cpu: 100m
      memory: 128M
""",
    },
    {
        # Linkerd stable-2.11.5: the add-on Waypath upgrades. Rendered by linkerd_release().
        "name": "linkerd",
        "namespace": "linkerd",
        "chart": "linkerd2",
        "version": "2.11.5",
        "repo": "https://helm.linkerd.io/stable",
        "depends": ["cert-manager"],
        "doc": "Linkerd control plane, stable-2.11.x (single linkerd2 chart).",
        "values": None,
        "overrides": """\
# Shared proxy settings, layered under the inline values of the HelmRelease.
proxy:
  logLevel: warn,linkerd=info
  resources:
    cpu:
      request: 50m
    memory:
      request: 32Mi
      limit: 192Mi
proxyInit:
  skipSubnets: "169.254.169.254/32"
""",
    },
]

LINKERD_VALUES = """\
# The linkerd Namespace is created by this add-on's kustomization (namespace.yaml).
installNamespace: false
policyController:
  defaultAllowPolicy: @@policy@@
controllerReplicas: @@replicas3@@
webhookFailurePolicy: @@webhook@@
# Images come from the ECR mirror of cr.l5d.io.
controllerImage: @@account@@.dkr.ecr.@@region@@.amazonaws.com/linkerd/controller
proxy:
  image:
    name: @@account@@.dkr.ecr.@@region@@.amazonaws.com/linkerd/proxy
    version: stable-2.11.5@@marker@@
proxyInit:
  image:
    name: @@account@@.dkr.ecr.@@region@@.amazonaws.com/linkerd/proxy-init
    version: v1.5.3
podLabels:
  platform.example.com/cluster: ${cluster_name}
"""

REGIONS = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-2"]
ENVS = ["nonprod", "nonprod", "prod"]
HR_VERSIONS = ["helm.toolkit.fluxcd.io/v2"] * 3 + [
    "helm.toolkit.fluxcd.io/v2beta2",
    "helm.toolkit.fluxcd.io/v2beta1",
]
# All serve HelmRelease v2/v2beta2/v2beta1 and HelmRepository v1 (Flux 2.3 - 2.6).
FLUX_VERSIONS = ["v2.3.0", "v2.4.0", "v2.5.1"]


# --------------------------------------------------------------------------------------
# Small text helpers (no YAML library: output is written exactly as real repos look).
# --------------------------------------------------------------------------------------


def indent(text: str, n: int) -> str:
    pad = " " * n
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


def fill(text: str, params: dict[str, str]) -> str:
    for k, v in params.items():
        text = text.replace(f"@@{k}@@", v)
    return text


def four_space(text: str) -> str:
    """Re-indent 2-space YAML with 4 spaces per mapping level ("- " items keep their offset)."""
    out = []
    stack = [(0, 0)]  # (old indent, new indent)
    for line in text.splitlines(True):
        body = line.lstrip(" ")
        if not body.strip():
            out.append(line)
            continue
        old = len(line) - len(body)
        while stack[-1][0] > old:
            stack.pop()
        if stack[-1][0] == old:
            new = stack[-1][1]
        else:
            new = stack[-1][1] + 4
            stack.append((old, new))
        if body.startswith("- "):
            # keys of a mapping that starts on the dash line sit 2 columns in
            stack.append((old + 2, new + 2))
        out.append(" " * new + body)
    return "".join(out)


def restyle(text: str, rng: random.Random, comment: str) -> str:
    """Apply per-file style choices: 4-space indentation, leading ---, header, CRLF."""
    if rng.random() < 0.2:
        text = four_space(text)
    if rng.random() < 0.5:
        text = "---\n" + text
    if rng.random() < 0.6:
        text = "".join(f"# {c}\n" if c else "#\n" for c in comment.splitlines()) + text
    if rng.random() < 0.02:
        text = text.replace("\n", "\r\n")
    return text


def quoted(version: str, rng: random.Random) -> str:
    return f'"{version}"' if rng.random() < 0.6 else version


# --------------------------------------------------------------------------------------
# Renderers
# --------------------------------------------------------------------------------------


def cluster_params(seed: int, idx: int) -> dict[str, str]:
    rng = random.Random(f"{seed}:cluster:{idx}")
    env = ENVS[idx % len(ENVS)]
    prod = env == "prod"
    return {
        "cluster": f"cluster-{idx}",
        "env": env,
        "region": rng.choice(REGIONS),
        "account": str(rng.randrange(100000000000, 999999999999)),
        "replicas": "2" if prod else "1",
        "replicas3": "3" if prod else "1",
        "pdb": "true" if prod else "false",
        "hpa": "true" if prod else "false",
        "retention": rng.choice(["168h", "336h", "720h"]) if prod else "72h",
        "policy": "all-authenticated"
        if prod
        else rng.choice(["all-unauthenticated", "cluster-authenticated"]),
        "webhook": "Fail" if prod else "Ignore",
        "flux": FLUX_VERSIONS[rng.randrange(len(FLUX_VERSIONS))],
    }


def render_helmrepository(addon: dict, rng: random.Random) -> str:
    text = f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: {addon["name"]}
  namespace: flux-system
spec:
  interval: {rng.choice(["1h", "2h", "6h", "12h"])}
  url: {addon["repo"]}
"""
    return restyle(text, rng, f"Chart source for {addon['name']}.")


def render_configmap(addon: dict, params: dict[str, str], rng: random.Random) -> str:
    body = fill(addon["overrides"], params)
    text = f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {addon["name"]}-values
  namespace: {addon["namespace"]}
  labels:
    app.kubernetes.io/part-of: platform-addons
    reconcile.fluxcd.io/watch: Enabled
data:
  values.yaml: |
{indent(body, 4)}"""
    return restyle(
        text,
        rng,
        f"Environment overrides for {addon['name']} ({params['env']}),\n"
        "read by the HelmRelease through valuesFrom.",
    )


def render_helmrelease(
    addon: dict, params: dict[str, str], rng: random.Random, linkerd_version: str = "2.11.5"
) -> str:
    api = rng.choice(HR_VERSIONS)
    if addon["name"] == "linkerd":
        marker = (
            ' # {"$imagepolicy": "flux-system:linkerd-proxy:tag"}' if rng.random() < 0.5 else ""
        )
        values = fill(LINKERD_VALUES, {**params, "marker": marker})
        version = f'"{linkerd_version}"'  # always quoted: the pin detectors must read
    else:
        values = fill(addon["values"], params)
        version = quoted(addon["version"], rng)
    depends = ""
    if addon["depends"]:
        items = "".join(f"    - name: {d}\n      namespace: {_ns(d)}\n" for d in addon["depends"])
        depends = "  dependsOn:\n" + items
    values_from = f"""\
  valuesFrom:
    - kind: ConfigMap
      name: {addon["name"]}-values
      valuesKey: values.yaml
"""
    if addon["name"] == "linkerd":
        values_from += """\
    - kind: Secret
      name: linkerd-identity-issuer-values
      valuesKey: ca.crt
      targetPath: identityTrustAnchorsPEM
    - kind: Secret
      name: linkerd-identity-issuer-values
      valuesKey: tls.crt
      targetPath: identity.issuer.tls.crtPEM
    - kind: Secret
      name: linkerd-identity-issuer-values
      valuesKey: tls.key
      targetPath: identity.issuer.tls.keyPEM
"""
    text = f"""\
apiVersion: {api}
kind: HelmRelease
metadata:
  name: {addon["name"]}
  namespace: {addon["namespace"]}
  labels:
    app.kubernetes.io/part-of: platform-addons
spec:
  interval: {rng.choice(["10m", "15m", "30m", "1h"])}
  timeout: {rng.choice(["5m", "10m", "15m"])}
{depends}  chart:
    spec:
      chart: {addon["chart"]}
      version: {version}
      sourceRef:
        kind: HelmRepository
        name: {addon["name"]}
        namespace: flux-system
      interval: 12h
  install:
    crds: CreateReplace
    remediation:
      retries: 3
  upgrade:
    crds: CreateReplace
    remediation:
      retries: 3
      remediateLastFailure: true
{values_from}  values:
{indent(values, 4)}"""
    owner = rng.choice(["platform-team", "sre-core", "observability", "security-eng"])
    return restyle(
        text, rng, f"{addon['doc']}\nOwner: {owner}. Chart: {addon['chart']} from {addon['repo']}"
    )


def _ns(name: str) -> str:
    return next(a["namespace"] for a in ADDONS if a["name"] == name)


def render_kustomize(addon: dict) -> str:
    res = ["helmrepository.yaml", "configmap.yaml", "helmrelease.yaml"]
    if addon["name"] == "linkerd":
        res.insert(0, "namespace.yaml")
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
        + "".join(f"  - {r}\n" for r in res)
    )


LINKERD_NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: linkerd
  labels:
    linkerd.io/is-control-plane: "true"
    config.linkerd.io/admission-webhooks: disabled
    linkerd.io/control-plane-ns: linkerd
  annotations:
    linkerd.io/inject: disabled
"""


def render_flux_kustomization(addon: dict, params: dict[str, str], rng: random.Random) -> str:
    c = params["cluster"]
    depends = ""
    if addon["depends"]:
        depends = "  dependsOn:\n" + "".join(f"    - name: {d}\n" for d in addon["depends"])
    text = f"""\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {addon["name"]}
  namespace: flux-system
spec:
{depends}  interval: {rng.choice(["10m", "30m", "1h"])}
  retryInterval: 2m
  timeout: 10m
  path: ./clusters/{c}/{addon["name"]}
  prune: true
  wait: {rng.choice(["true", "false"])}
  sourceRef:
    kind: GitRepository
    name: flux-system
  postBuild:
    substitute:
      cluster_name: {c}
    substituteFrom:
      - kind: ConfigMap
        name: cluster-settings
"""
    return restyle(text, rng, f"Flux Kustomization for {addon['name']} on {c}.")


def render_addons_index(params: dict[str, str]) -> str:
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
        + "".join(f"  - {a['name']}.yaml\n" for a in ADDONS)
        + "  - cluster-settings.yaml\n"
    )


def render_cluster_settings(params: dict[str, str]) -> str:
    return f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: cluster-settings
  namespace: flux-system
data:
  cluster_env: {params["env"]}
  aws_region: {params["region"]}
  aws_account_id: "{params["account"]}"
"""


def render_gotk_sync(params: dict[str, str]) -> str:
    return f"""\
# This manifest was generated by flux. DO NOT EDIT.
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: main
  secretRef:
    name: flux-system
  url: ssh://git@gitlab.example.com/platform/fleet.git
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./clusters/{params["cluster"]}
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
"""


FLUX_KUSTOMIZE = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- gotk-components.yaml
- gotk-sync.yaml
"""

CLUSTER_KUSTOMIZE = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - flux-system
  - addons
"""

# --------------------------------------------------------------------------------------
# gotk-components.yaml stand-in (~200 KB of CRD-like text)
# --------------------------------------------------------------------------------------

CRDS = [
    ("source", "GitRepository", "gitrepositories", ["v1", "v1beta2"]),
    ("source", "HelmRepository", "helmrepositories", ["v1", "v1beta2"]),
    ("source", "HelmChart", "helmcharts", ["v1", "v1beta2"]),
    ("source", "OCIRepository", "ocirepositories", ["v1beta2"]),
    ("source", "Bucket", "buckets", ["v1beta2"]),
    ("kustomize", "Kustomization", "kustomizations", ["v1", "v1beta2"]),
    ("helm", "HelmRelease", "helmreleases", ["v2", "v2beta2", "v2beta1"]),
    ("notification", "Alert", "alerts", ["v1beta3", "v1beta2"]),
    ("notification", "Provider", "providers", ["v1beta3", "v1beta2"]),
    ("notification", "Receiver", "receivers", ["v1"]),
    ("image", "ImageRepository", "imagerepositories", ["v1beta2"]),
    ("image", "ImagePolicy", "imagepolicies", ["v1beta2"]),
    ("image", "ImageUpdateAutomation", "imageupdateautomations", ["v1beta2"]),
]

FIELDS = [
    "interval",
    "timeout",
    "suspend",
    "sourceRef",
    "dependsOn",
    "serviceAccountName",
    "kubeConfig",
    "postBuild",
    "decryption",
    "healthChecks",
    "targetNamespace",
    "valuesFrom",
    "values",
    "install",
    "upgrade",
    "rollback",
    "uninstall",
    "test",
    "driftDetection",
    "postRenderers",
    "chart",
    "chartRef",
    "releaseName",
    "storageNamespace",
    "maxHistory",
    "persistentClient",
    "ref",
    "secretRef",
    "verify",
    "ignore",
    "include",
    "provider",
    "url",
    "certSecretRef",
]


def gotk_components(flux_version: str, target: int = 200_000) -> str:
    rng = random.Random(f"gotk:{flux_version}")
    out = [
        "---\n",
        "# This manifest was generated by flux. DO NOT EDIT.\n",
        f"# Flux Version: {flux_version}\n",
        "# Components: source-controller,kustomize-controller,helm-controller,"
        "notification-controller,image-reflector-controller,image-automation-controller\n",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  labels:\n"
        "    app.kubernetes.io/instance: flux-system\n    app.kubernetes.io/part-of: flux\n"
        f"    app.kubernetes.io/version: {flux_version}\n  name: flux-system\n",
    ]
    size = sum(len(s) for s in out)
    rounds = 0
    while size < target:
        for group, kind, plural, versions in CRDS:
            doc = [
                "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
                "metadata:\n  annotations:\n    controller-gen.kubebuilder.io/version: v0.14.0\n"
                f"  labels:\n    app.kubernetes.io/component: {group}-controller\n"
                "    app.kubernetes.io/instance: flux-system\n    app.kubernetes.io/part-of: flux\n"
                f"    app.kubernetes.io/version: {flux_version}\n"
                f"  name: {plural}{'-' + str(rounds) if rounds else ''}.{group}.toolkit.fluxcd.io\n"
                f"spec:\n  group: {group}.toolkit.fluxcd.io\n  names:\n    kind: {kind}\n"
                f"    listKind: {kind}List\n    plural: {plural}\n    singular: {plural[:-1]}\n"
                "  scope: Namespaced\n  versions:\n"
            ]
            for v in versions:
                doc.append(
                    f"  - name: {v}\n    schema:\n      openAPIV3Schema:\n"
                    f"        description: {kind} is the Schema for the {plural} API.\n"
                    "        properties:\n          apiVersion:\n            type: string\n"
                    "          kind:\n            description: |-\n"
                    "              Kind is a string value representing the REST resource this object represents.\n"
                    "              Servers may infer this from the endpoint the client submits requests to.\n"
                    "            type: string\n          spec:\n            properties:\n"
                )
                for f in rng.sample(FIELDS, 12):
                    doc.append(
                        f"              {f}:\n                description: |-\n"
                        f"                  {f} of the {kind} ({v}). When the referenced object is a\n"
                        "                  HelmRelease the dependency must be Ready, for example:\n"
                        "                  kind: HelmRelease\n"
                        f"                  name: {rng.choice(['podinfo', 'ingress-nginx', 'cert-manager'])}\n"
                        "                properties:\n                  name:\n"
                        "                    description: Name of the referent.\n"
                        "                    type: string\n                  namespace:\n"
                        "                    description: Namespace of the referent, defaults to the namespace of the object.\n"
                        "                    maxLength: 63\n                    minLength: 1\n"
                        "                    type: string\n                type: object\n"
                    )
                doc.append(
                    "            type: object\n        type: object\n"
                    f"    served: true\n    storage: {'true' if v == versions[0] else 'false'}\n"
                    "    subresources:\n      status: {}\n"
                )
            text = "".join(doc)
            out.append(text)
            size += len(text)
            if size >= target:
                break
        rounds += 1
    return "".join(out)


# --------------------------------------------------------------------------------------


def write(path: Path, text: str) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode()
    path.write_bytes(data)
    return len(data)


def generate(
    out: Path, clusters: int, seed: int, linkerd_version: str = "2.11.5"
) -> tuple[int, int]:
    files = 0
    total = 0
    gotk_cache: dict[str, str] = {}
    total += write(
        out / "README.md",
        f"# Generated fleet ({clusters} clusters, seed {seed})\n\n"
        "Written by bench/gen_fleet.py. Synthetic; do not deploy.\n",
    )
    files += 1
    for idx in range(clusters):
        params = cluster_params(seed, idx)
        base = out / "clusters" / params["cluster"]
        fv = params["flux"]
        if fv not in gotk_cache:
            gotk_cache[fv] = gotk_components(fv)
        total += write(base / "flux-system" / "gotk-components.yaml", gotk_cache[fv])
        total += write(base / "flux-system" / "gotk-sync.yaml", render_gotk_sync(params))
        total += write(base / "flux-system" / "kustomization.yaml", FLUX_KUSTOMIZE)
        total += write(base / "kustomization.yaml", CLUSTER_KUSTOMIZE)
        total += write(base / "addons" / "kustomization.yaml", render_addons_index(params))
        total += write(base / "addons" / "cluster-settings.yaml", render_cluster_settings(params))
        files += 6
        for addon in ADDONS:
            rng = random.Random(f"{seed}:{idx}:{addon['name']}")
            d = base / addon["name"]
            total += write(
                base / "addons" / f"{addon['name']}.yaml",
                render_flux_kustomization(addon, params, rng),
            )
            total += write(d / "kustomization.yaml", render_kustomize(addon))
            total += write(d / "helmrepository.yaml", render_helmrepository(addon, rng))
            total += write(d / "configmap.yaml", render_configmap(addon, params, rng))
            release = render_helmrelease(addon, params, rng, linkerd_version)
            total += write(d / "helmrelease.yaml", release)
            files += 5
            if addon["name"] == "linkerd":
                total += write(d / "namespace.yaml", LINKERD_NAMESPACE)
                files += 1
    return files, total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", type=Path, help="directory to create (must be empty or absent)")
    ap.add_argument("--clusters", type=int, required=True, help="number of clusters (>= 1)")
    ap.add_argument("--seed", type=int, default=0, help="PRNG seed (default 0)")
    ap.add_argument("--force", action="store_true", help="write into a non-empty directory")
    ap.add_argument(
        "--shape",
        choices=["flat", "overlays"],
        default="flat",
        help="flat: every cluster a full copy of every add-on (default); overlays: shared "
        "bases, per-cluster kustomize overlays, git-tracked (see shape_overlays.py)",
    )
    ap.add_argument(
        "--linkerd-version", default="2.11.5", help="Linkerd chart pin (default 2.11.5)"
    )
    args = ap.parse_args(argv)
    if args.clusters < 1:
        ap.error("--clusters must be >= 1")
    if args.out_dir.exists() and any(args.out_dir.iterdir()) and not args.force:
        ap.error(f"{args.out_dir} is not empty (use --force to write into it)")
    if args.shape == "overlays":
        import shape_overlays

        files, total = shape_overlays.generate(
            args.out_dir, args.clusters, args.seed, write, args.linkerd_version
        )
    else:
        files, total = generate(args.out_dir, args.clusters, args.seed, args.linkerd_version)
    print(
        f"wrote {files} files, {total / 1e6:.1f} MB to {args.out_dir} "
        f"(clusters={args.clusters}, seed={args.seed}, shape={args.shape})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
