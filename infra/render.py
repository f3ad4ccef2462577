#!/usr/bin/env python3
"""Renders Concord's Kubernetes manifests, one directory per region, from one description.

    python3 infra/render.py [--description infra/deployment.json] --out DIR

Each region is its own Kubernetes cluster: DIR/<region>/ holds its namespace, the cluster config
(the same ClusterConfig every process of every region reads), cert-manager issuers and
certificates, each cell's CloudNativePG Cluster, Redis, cell, relay and tier CronJob, the edges,
and the NetworkPolicies; `kubectl apply -k DIR/<region>` applies it. Standard library only.
"""
import argparse
import json
import os
import sys

CONCORD_USER = 10001
PORTS = {"edge": 58080, "edge_admin": 58380, "cell": 58101, "cell_admin": 58301, "relay_admin": 58311,
         "redis": 6379, "postgres": 5432}
DATA = "/var/lib/concord/data"
CONFIG_DIR = "/etc/concord"
TLS_DIR = "/etc/concord/tls"
PUBLIC_TLS_DIR = "/etc/concord/public"
REDIS_TLS_DIR = "/etc/redis/tls"
REDIS_ACL_DIR = "/etc/redis/acl"


def skip(*reasons):
    """checkov's skips, each with why it does not apply, as annotations on the resource."""
    return {f"checkov.io/skip{i + 1}": f"{check}={why}" for i, (check, why) in enumerate(reasons)}


# Findings of checkov that these manifests answer otherwise, said once and put on every workload.
WORKLOAD_SKIPS = [
    ("CKV_K8S_43", "the description names an image tag; pin its digest in deployment.json image once it is pushed"),
    ("CKV_K8S_35", "Concord reads its secrets from the environment only; each comes from a secretKeyRef, none is in a manifest"),
    ("CKV_K8S_15", "the image is pinned by tag (or digest), so IfNotPresent cannot run a stale one"),
]


def labels(role, cell=None, region=None):
    result = {"app.kubernetes.io/name": "concord", "app.kubernetes.io/component": role}
    if cell: result["concord.chat/cell"] = cell
    if region: result["concord.chat/region"] = region
    return result


def meta(name, ns, role, cell=None, annotations=None):
    m = {"name": name, "namespace": ns, "labels": labels(role, cell)}
    if annotations: m["annotations"] = annotations
    return m


def hardened(container, user=CONCORD_USER):
    container["imagePullPolicy"] = "IfNotPresent"
    container["securityContext"] = {
        "runAsNonRoot": True, "runAsUser": user, "runAsGroup": user, "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
    }
    return container


def pod_spec(containers, volumes, init=None, affinity=None, restart=None):
    spec = {
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": CONCORD_USER, "runAsGroup": CONCORD_USER, "fsGroup": CONCORD_USER,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": containers,
        "volumes": volumes,
    }
    if init: spec["initContainers"] = init
    if affinity: spec["affinity"] = affinity
    if restart: spec["restartPolicy"] = restart
    return spec


def secret_env(*pairs):
    return [{"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}} for name, secret, key in pairs]


def concord_env(role, postgres_cluster=None):
    """The secrets a process of `role` needs, and its Redis user's password (see `concordctl redis acl`)."""
    env = secret_env(("CONCORD_TOKEN_SECRET", "concord-secrets", "CONCORD_TOKEN_SECRET"),
                     ("CONCORD_INTERNAL_SECRET", "concord-secrets", "CONCORD_INTERNAL_SECRET"))
    if role == "operator":
        env += secret_env(("CONCORD_REDIS_PASSWORD", "concord-secrets", "CONCORD_REDIS_PASSWORD"))
    else:
        key = f"CONCORD_REDIS_{role.upper()}_PASSWORD"
        env += secret_env((key, "concord-secrets", key))
    if postgres_cluster:
        # CloudNativePG makes the application role and its password (`<cluster>-app`).
        env += secret_env(("CONCORD_PG_PASSWORD", f"{postgres_cluster}-app", "password"))
    env.append({"name": "CONCORD_LOG_FORMAT", "value": "json"})
    return env


def http_probe(port, path, period):
    return {"httpGet": {"path": path, "port": port}, "periodSeconds": period, "timeoutSeconds": 3, "failureThreshold": 3}


def tls_volume(name, entries):
    """A process's internal certificate under the file names Concord looks for: {name}.pem,
    {name}-key.pem and the CA as ca.pem; `entries` are (secret, process names it serves)."""
    sources = []
    for index, (secret, names) in enumerate(entries):
        items = [{"key": "tls.crt", "path": f"{n}.pem"} for n in names] + [{"key": "tls.key", "path": f"{n}-key.pem"} for n in names]
        if index == 0: items.append({"key": "ca.crt", "path": "ca.pem"})
        sources.append({"secret": {"name": secret, "items": items}})
    return {"name": name, "projected": {"sources": sources, "defaultMode": 0o440}}


def certificate(name, ns, dns, issuer, secret, role, cell=None, usages=("server auth", "client auth")):
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": meta(name, ns, role, cell),
            "spec": {"secretName": secret, "dnsNames": dns, "issuerRef": issuer, "duration": "2160h", "renewBefore": "360h",
                     "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                     "usages": ["digital signature", "key encipherment", *usages]}}


def cluster_config(d):
    """The ClusterConfig every process reads: in-cluster names within a region, the link
    addresses (`reached_from`) across regions."""
    regions = list(d["regions"])
    cells, edges = [], []
    for region, r in d["regions"].items():
        for c in r["cells"]:
            name = c["name"]
            cells.append({
                "id": c["id"], "name": name, "region": region,
                "postgres": {"host": f"postgres-{name}-rw", "port": PORTS["postgres"], "database": "concord", "user": "concord", "tls": "verify-full"},
                "redis": {"host": f"redis-{name}", "port": PORTS["redis"]}, "redis_tls": True,
                "api": {"host": name, "port": PORTS["cell"], "bind": "0.0.0.0"},
                "admin": {"host": "0.0.0.0", "port": PORTS["cell_admin"]},
                "relay_admin": {"host": "0.0.0.0", "port": PORTS["relay_admin"]},
                "tiering": {"archive_dir": f"{DATA}/archive", "blob_dir": f"{DATA}/blobs",
                            **{k: v for k, v in d["tiering"].items() if k != "schedule"}},
                "reached_from": {other: {"api": {"host": f"{name}.{d['link_domain']}", "port": PORTS["cell"]},
                                         "redis": {"host": f"redis-{name}.{d['link_domain']}", "port": PORTS["redis"]}}
                                 for other in regions if other != region},
            })
        for i in range(r["edges"]):
            edges.append({"name": f"edge-{region}-{i}", "region": region,
                          "listen": {"host": "0.0.0.0", "port": PORTS["edge"]}, "admin": {"host": "0.0.0.0", "port": PORTS["edge_admin"]},
                          "public_url": f"https://{region}.{d['public_domain']}",
                          "tls": {"certificate": f"{PUBLIC_TLS_DIR}/tls.crt", "key": f"{PUBLIC_TLS_DIR}/tls.key"}})
    return {"regions": regions, "cells": cells, "edges": edges, "rate_limits": d["rate_limits"],
            "outbox_retention_hours": d["outbox_retention_hours"],
            "internal_tls": {"ca": f"{TLS_DIR}/ca.pem", "directory": TLS_DIR}}


def region_basics(d, ns, config):
    internal = {"kind": "Issuer", "name": "concord-internal", "group": "cert-manager.io"}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"app.kubernetes.io/name": "concord"}}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("concord-cluster", ns, "config"),
         "data": {"cluster.json": json.dumps(config, indent=2) + "\n"}},
        # Every region's processes trust one CA (its key in the Secret concord-internal-ca,
        # made once and copied to each region), so mutual TLS holds across regions.
        {"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": meta("concord-internal", ns, "tls"),
         "spec": {"ca": {"secretName": "concord-internal-ca"}}},
        certificate("concordctl", ns, ["concordctl"], internal, "concordctl-tls", "operator", usages=("client auth",)),
    ]


def cell_resources(d, ns, region, cell):
    name = cell["name"]
    pg, redis = f"postgres-{name}", f"redis-{name}"
    internal = {"kind": "Issuer", "name": "concord-internal", "group": "cert-manager.io"}
    res = d["resources"]
    link = d["link_domain"]
    others = [cidr for r, reg in d["regions"].items() if r != region for cidr in reg["link_cidrs"]]
    config_volume = {"name": "config", "configMap": {"name": "concord-cluster"}}
    tmp_volume = {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}
    docs = []
    # PostgreSQL: CloudNativePG runs it (primary + replica); its server certificate comes from
    # the internal CA, so the cell checks it (verify-full) against the CA it already trusts.
    docs.append(certificate(f"{pg}-server", ns, [f"{pg}-rw", f"{pg}-rw.{ns}", f"{pg}-rw.{ns}.svc", f"{pg}-r", f"{pg}-ro"],
                            internal, f"{pg}-server-tls", "postgres", name, usages=("server auth",)))
    docs.append({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": meta(pg, ns, "postgres", name),
                 "spec": {"instances": d["postgres"]["instances"], "primaryUpdateStrategy": "unsupervised",
                          "storage": {"size": d["postgres"]["storage"]},
                          "bootstrap": {"initdb": {"database": "concord", "owner": "concord"}},
                          "certificates": {"serverTLSSecret": f"{pg}-server-tls", "serverCASecret": f"{pg}-server-tls"},
                          "resources": res["postgres"],
                          "enablePDB": True,
                          "monitoring": {"enablePodMonitor": False}}})
    # Redis: TLS only, client certificates required, an ACL user per role (`concordctl redis acl`).
    docs.append(certificate(f"{redis}-server", ns, [redis, f"{redis}.{ns}", f"{redis}.{ns}.svc", f"{redis}.{link}"],
                            internal, f"{redis}-tls", "redis", name))
    redis_cli = (f"redis-cli --tls --cacert {REDIS_TLS_DIR}/ca.crt --cert {REDIS_TLS_DIR}/tls.crt --key {REDIS_TLS_DIR}/tls.key "
                 f"-p {PORTS['redis']} ping | grep -q PONG")
    redis_container = hardened({
        "name": "redis", "image": "redis:7.2-bookworm",
        "command": ["redis-server", "--port", "0", "--tls-port", str(PORTS["redis"]),
                    "--tls-cert-file", f"{REDIS_TLS_DIR}/tls.crt", "--tls-key-file", f"{REDIS_TLS_DIR}/tls.key",
                    "--tls-ca-cert-file", f"{REDIS_TLS_DIR}/ca.crt", "--tls-auth-clients", "yes",
                    "--aclfile", f"{REDIS_ACL_DIR}/users.acl", "--dir", "/data", "--appendonly", "yes", "--save", "",
                    "--maxmemory", d["redis"]["maxmemory"], "--maxmemory-policy", "volatile-lru"],
        "env": secret_env(("REDISCLI_AUTH", "concord-secrets", "CONCORD_REDIS_PASSWORD")),
        "ports": [{"name": "redis", "containerPort": PORTS["redis"]}],
        "livenessProbe": {"exec": {"command": ["sh", "-c", redis_cli]}, "periodSeconds": 10, "timeoutSeconds": 3},
        "readinessProbe": {"exec": {"command": ["sh", "-c", redis_cli]}, "periodSeconds": 5, "timeoutSeconds": 3},
        "resources": res["redis"],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "tls", "mountPath": REDIS_TLS_DIR, "readOnly": True},
                         {"name": "acl", "mountPath": REDIS_ACL_DIR, "readOnly": True}],
    })
    docs.append({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta(redis, ns, "redis", name, skip(*WORKLOAD_SKIPS)),
                 "spec": {"serviceName": redis, "replicas": 1, "selector": {"matchLabels": labels("redis", name)},
                          "template": {"metadata": {"labels": labels("redis", name)},
                                       "spec": pod_spec([redis_container], [
                                           {"name": "tls", "secret": {"secretName": f"{redis}-tls", "defaultMode": 0o440}},
                                           {"name": "acl", "secret": {"secretName": f"{redis}-acl", "defaultMode": 0o440}}])},
                          "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                                    "spec": {"accessModes": ["ReadWriteOnce"],
                                                             "resources": {"requests": {"storage": d["redis"]["storage"]}}}}]}})
    docs.append(service(redis, ns, "redis", name, [("redis", PORTS["redis"])]))
    # The cell: one process (its outbox sequencer is single-writer), migrations first.
    docs.append(certificate(f"{name}-internal", ns, [name, f"{name}.{ns}", f"{name}.{ns}.svc", f"{name}.{link}"],
                            internal, f"{name}-internal-tls", "cell", name))
    docs.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta(f"{name}-data", ns, "cell", name),
                 "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": d["archive_storage"]}}}})
    tls = tls_volume("tls", [(f"{name}-internal-tls", [name]), ("concordctl-tls", ["concordctl"])])
    mounts = [{"name": "config", "mountPath": CONFIG_DIR + "/cluster", "readOnly": True},
              {"name": "tls", "mountPath": TLS_DIR, "readOnly": True}, {"name": "tmp", "mountPath": "/tmp"}]
    config_file = CONFIG_DIR + "/cluster/cluster.json"
    migrate = hardened({"name": "migrate", "image": d["image"],
                        "command": ["/usr/local/bin/concordctl", "migrate", "--config", config_file, "--cell", name],
                        "env": concord_env("operator", pg), "resources": res["tier"], "volumeMounts": mounts})
    cell_container = hardened({
        "name": "cell", "image": d["image"], "args": ["cell", "--config", config_file, "--name", name],
        "env": concord_env("cell", pg),
        "ports": [{"name": "api", "containerPort": PORTS["cell"]}, {"name": "admin", "containerPort": PORTS["cell_admin"]}],
        "livenessProbe": http_probe("admin", "/healthz", 10), "readinessProbe": http_probe("admin", "/readyz", 5),
        "resources": res["cell"],
        "volumeMounts": mounts + [{"name": "data", "mountPath": DATA}],
    })
    docs.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name, ns, "cell", name, skip(*WORKLOAD_SKIPS)),
                 "spec": {"replicas": 1, "strategy": {"type": "Recreate"}, "selector": {"matchLabels": labels("cell", name)},
                          "template": {"metadata": {"labels": labels("cell", name), "annotations": scrape(PORTS["cell_admin"])},
                                       "spec": pod_spec([cell_container], [config_volume, tls, tmp_volume,
                                                        {"name": "data", "persistentVolumeClaim": {"claimName": f"{name}-data"}}],
                                                        init=[migrate])}}})
    docs.append(service(name, ns, "cell", name, [("api", PORTS["cell"]), ("admin", PORTS["cell_admin"])]))
    # The other regions reach the cell's API and Redis through internal load balancers, open
    # only to their address ranges.
    docs.append(service(f"{name}-link", ns, "cell", name, [("api", PORTS["cell"])], link=others))
    docs.append(service(f"{redis}-link", ns, "redis", name, [("redis", PORTS["redis"])], link=others))
    # The relay into this cell: other cells' outbox events of channels shared with it.
    relay_container = hardened({
        "name": "relay", "image": d["image"], "args": ["relay", "--config", config_file, "--name", name],
        "env": concord_env("relay"),
        "ports": [{"name": "admin", "containerPort": PORTS["relay_admin"]}],
        "livenessProbe": http_probe("admin", "/healthz", 10), "readinessProbe": http_probe("admin", "/readyz", 5),
        "resources": res["relay"], "volumeMounts": mounts,
    })
    docs.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(f"relay-{name}", ns, "relay", name, skip(*WORKLOAD_SKIPS)),
                 "spec": {"replicas": 1, "strategy": {"type": "Recreate"}, "selector": {"matchLabels": labels("relay", name)},
                          "template": {"metadata": {"labels": labels("relay", name), "annotations": scrape(PORTS["relay_admin"])},
                                       "spec": pod_spec([relay_container], [config_volume,
                                                        tls_volume("tls", [(f"{name}-internal-tls", [name])]), tmp_volume])}}})
    # Tier runs: nightly, beside the cell (its archive volume is ReadWriteOnce: same node).
    tier_container = hardened({
        "name": "tier", "image": d["image"],
        "command": ["/usr/local/bin/concordctl", "tier", "run", "--config", config_file, "--cell", name, "--json"],
        "env": concord_env("operator", pg), "resources": res["tier"],
        "volumeMounts": mounts + [{"name": "data", "mountPath": DATA}],
    })
    beside_cell = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": labels("cell", name)}, "topologyKey": "kubernetes.io/hostname"}]}}
    tier_job = {"backoffLimit": 2, "activeDeadlineSeconds": 6 * 3600,
                "template": {"metadata": {"labels": labels("tier", name)},
                             "spec": pod_spec([tier_container], [config_volume, tls, tmp_volume,
                                              {"name": "data", "persistentVolumeClaim": {"claimName": f"{name}-data"}}],
                                              affinity=beside_cell, restart="OnFailure")}}
    docs.append({"apiVersion": "batch/v1", "kind": "CronJob",
                 "metadata": meta(f"tier-{name}", ns, "tier", name, skip(*WORKLOAD_SKIPS)),
                 "spec": {"schedule": d["tiering"]["schedule"], "concurrencyPolicy": "Forbid", "successfulJobsHistoryLimit": 3,
                          "failedJobsHistoryLimit": 3, "jobTemplate": {"spec": tier_job}}})
    return docs


def scrape(port):
    return {"prometheus.io/scrape": "true", "prometheus.io/port": str(port), "prometheus.io/path": "/metrics"}


def service(name, ns, role, cell, ports, link=None, public=False, selector=None):
    """`ports`: (name, port) pairs, or (name, port, the container's port name)."""
    spec = {"selector": selector or labels(role, cell),
            "ports": [{"name": p[0], "port": p[1], "targetPort": p[-1] if len(p) > 2 else p[0]} for p in ports]}
    annotations = None
    if link is not None:
        spec.update({"type": "LoadBalancer", "loadBalancerSourceRanges": link})
        # Most providers make an internal load balancer of this; the ranges limit it either way.
        annotations = {"networking.gke.io/load-balancer-type": "Internal",
                       "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
                       "service.beta.kubernetes.io/azure-load-balancer-internal": "true"}
    if public:
        spec.update({"type": "LoadBalancer", "externalTrafficPolicy": "Local"})
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(name, ns, role, cell, annotations), "spec": spec}


def edge_resources(d, ns, region):
    count = d["regions"][region]["edges"]
    names = [f"edge-{region}-{i}" for i in range(count)]
    host = f"{region}.{d['public_domain']}"
    internal = {"kind": "Issuer", "name": "concord-internal", "group": "cert-manager.io"}
    public_issuer = {**d["public_issuer"], "group": "cert-manager.io"}
    config_file = CONFIG_DIR + "/cluster/cluster.json"
    container = hardened({
        "name": "edge", "image": d["image"],
        # A StatefulSet's pods are edge-<region>-0, -1…: each is the edge of that name in the config.
        "command": ["sh", "-c", f'exec /usr/local/bin/concord edge --config {config_file} --name "$POD_NAME"'],
        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}] + concord_env("edge"),
        "ports": [{"name": "public", "containerPort": PORTS["edge"]}, {"name": "admin", "containerPort": PORTS["edge_admin"]}],
        "livenessProbe": http_probe("admin", "/healthz", 10), "readinessProbe": http_probe("admin", "/readyz", 5),
        "resources": d["resources"]["edge"],
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR + "/cluster", "readOnly": True},
                         {"name": "tls", "mountPath": TLS_DIR, "readOnly": True},
                         {"name": "public-tls", "mountPath": PUBLIC_TLS_DIR, "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
    })
    # Spread across nodes and zones so one failure leaves edges standing.
    spread = [{"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
               "labelSelector": {"matchLabels": labels("edge", region=region)}} for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")]
    spec = pod_spec([container], [
        {"name": "config", "configMap": {"name": "concord-cluster"}},
        tls_volume("tls", [(f"edge-{region}-internal-tls", names)]),
        {"name": "public-tls", "secret": {"secretName": f"edge-{region}-public-tls", "defaultMode": 0o440}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}])
    spec["topologySpreadConstraints"] = spread
    spec["terminationGracePeriodSeconds"] = 60
    return [
        certificate(f"edge-{region}-internal", ns, [f"edge-{region}"], internal, f"edge-{region}-internal-tls", "edge", usages=("client auth",)),
        certificate(f"edge-{region}-public", ns, [host], public_issuer, f"edge-{region}-public-tls", "edge", usages=("server auth",)),
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta(f"edge-{region}", ns, "edge", annotations=skip(*WORKLOAD_SKIPS)),
         "spec": {"serviceName": f"edge-{region}", "replicas": count, "podManagementPolicy": "Parallel",
                  "selector": {"matchLabels": labels("edge", region=region)},
                  "template": {"metadata": {"labels": labels("edge", region=region), "annotations": scrape(PORTS["edge_admin"])},
                               "spec": spec}}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(f"edge-{region}", ns, "edge"),
         "spec": {"minAvailable": max(1, count - 1), "selector": {"matchLabels": labels("edge", region=region)}}},
        service(f"edge-{region}", ns, "edge", None, [("https", 443, "public")], public=True, selector=labels("edge", region=region)),
    ]


def network_policies(d, ns, region):
    """Nothing reaches a pod unless a policy here lets it: edges from anywhere, cells from
    edges, relays and cells (and the other regions' link ranges), Redis likewise, PostgreSQL
    from its cell and tier runs, admin listeners from the monitoring namespace."""
    others = [cidr for r, reg in d["regions"].items() if r != region for cidr in reg["link_cidrs"]]
    def component(*roles):
        return {"podSelector": {"matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "In", "values": list(roles)}]}}
    monitoring = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": d["monitoring_namespace"]}}}
    operator = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": d["operator_namespace"]}}}
    def policy(name, selector, rules):
        return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(name, ns, "network"),
                "spec": {"podSelector": selector, "policyTypes": ["Ingress"], "ingress": rules}}
    def port(p): return [{"protocol": "TCP", "port": p}]
    def role(r): return {"matchLabels": {"app.kubernetes.io/component": r}}
    return [
        policy("default-deny", {}, []),
        policy("edges", role("edge"), [{"ports": port(PORTS["edge"])},
                                       {"from": [monitoring], "ports": port(PORTS["edge_admin"])}]),
        policy("cells", role("cell"), [{"from": [component("edge", "relay", "cell")] + [{"ipBlock": {"cidr": c}} for c in others],
                                        "ports": port(PORTS["cell"])},
                                       {"from": [monitoring], "ports": port(PORTS["cell_admin"])}]),
        policy("relays", role("relay"), [{"from": [monitoring], "ports": port(PORTS["relay_admin"])}]),
        policy("redis", role("redis"), [{"from": [component("edge", "relay", "cell", "tier")] + [{"ipBlock": {"cidr": c}} for c in others],
                                         "ports": port(PORTS["redis"])}]),
        policy("postgres", {"matchExpressions": [{"key": "cnpg.io/cluster", "operator": "Exists"}]}, [
            {"from": [component("cell", "tier")], "ports": port(PORTS["postgres"])},
            # Instances replicate from one another; the operator manages them (5432, and 8000 for status).
            {"from": [{"podSelector": {"matchExpressions": [{"key": "cnpg.io/cluster", "operator": "Exists"}]}}, operator],
             "ports": port(PORTS["postgres"]) + port(8000)}]),
    ]


def render(d):
    config = cluster_config(d)
    ns = d["namespace"]
    out = {}
    for region, r in d["regions"].items():
        files = {"base.yaml": region_basics(d, ns, config), f"edge-{region}.yaml": edge_resources(d, ns, region),
                 "network-policies.yaml": network_policies(d, ns, region)}
        for cell in r["cells"]:
            files[f"{cell['name']}.yaml"] = cell_resources(d, ns, region, cell)
        files["kustomization.yaml"] = [{"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                                        "resources": [f for f in files if f != "kustomization.yaml"]}]
        out[region] = files
    return out, config


def yaml(value, indent=0):
    """A small YAML emitter for what these manifests hold (maps, lists, strings, numbers, booleans)."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value: return " {}"
        lines = []
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{k}:" + yaml(v, indent + 1))
            else:
                lines.append(f"{pad}{k}:{yaml(v, indent + 1)}")
        return "\n" + "\n".join(lines)
    if isinstance(value, list):
        if not value: return " []"
        lines = []
        for v in value:
            if isinstance(v, dict) and v:
                body = yaml(v, indent + 1).lstrip("\n")
                lines.append(f"{pad}- " + body[len("  " * (indent + 1)):])
            else:
                lines.append(f"{pad}-{yaml(v, indent + 1)}")
        return "\n" + "\n".join(lines)
    if isinstance(value, bool): return " true" if value else " false"
    if isinstance(value, (int, float)): return f" {value}"
    if isinstance(value, str) and "\n" in value:
        return " |\n" + "\n".join(pad + line for line in value.rstrip("\n").split("\n"))
    return " " + json.dumps(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--description", default=os.path.join(os.path.dirname(__file__), "deployment.json"))
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(args.description) as f:
        description = json.load(f)
    regions, _ = render(description)
    for region, files in regions.items():
        directory = os.path.join(args.out, region)
        os.makedirs(directory, exist_ok=True)
        for name, docs in files.items():
            with open(os.path.join(directory, name), "w") as f:
                f.write("\n---\n".join(yaml(doc).lstrip("\n") for doc in docs) + "\n")
        print(f"{directory}: " + ", ".join(f"{doc['kind']}/{doc.get('metadata', {}).get('name', '')}"
                                          for name, docs in files.items() if name != "kustomization.yaml" for doc in docs))


if __name__ == "__main__":
    sys.exit(main())
