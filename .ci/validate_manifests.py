#!/usr/bin/env python3
"""Validate rendered Kubernetes/Istio/KEDA/ESO manifests (called by .ci/check-infra).

Usage: validate_manifests.py --k8s-version 1.33 NAME=rendered.yaml [NAME=rendered.yaml ...]

1. Schema: built-in kinds against the Kubernetes OpenAPI schemas shipped in the
   `kubernetes-validate` package (strict: unknown fields are errors); custom resources
   (Istio, KEDA, External Secrets) against mesh/schemas/*.schema.json (strict too).
2. Consistency: references between objects resolve (service accounts, selectors, HPA and
   KEDA targets, ConfigMaps and Secrets, DestinationRule hosts), pods are hardened, gRPC
   services are wired the way Istio needs (port name, appProtocol, native gRPC probes).
3. Policy: AuthorizationPolicy paths exist in protos/, the gateway may call exactly the
   RPCs with an HTTP mapping, only idempotent routes retry, the collector config is sound.
Exit status 1 on any error; prints one summary line per render.
"""

from __future__ import annotations

import argparse
import glob
import json
import re
import sys
from collections import Counter
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
CRD_GROUPS = ("istio.io", "keda.sh", "external-secrets.io")
IDEMPOTENT = ("Get", "List", "Search", "BatchGet")
GRPC_DRAIN_SECONDS = 20  # the servers' graceful shutdown (services/kit)

errors: list[str] = []


def err(where: str, msg: str) -> None:
    errors.append(f"{where}: {msg}")


def ident(o: dict) -> str:
    md = o.get("metadata", {})
    return f"{o.get('kind')}/{md.get('namespace', '-')}/{md.get('name')}"


def load_crd_schemas() -> dict[tuple[str, str], dict]:
    out = {}
    for f in sorted((ROOT / "mesh" / "schemas").glob("*.schema.json")):
        doc = json.loads(f.read_text())
        for kind, schema in doc["kinds"].items():
            api = schema["properties"]["apiVersion"]["const"]
            jsonschema.Draft202012Validator.check_schema(schema)
            out[(api, kind)] = schema
    return out


def proto_rpcs() -> tuple[set[str], set[str]]:
    """All gRPC paths in protos/, and those with a google.api.http mapping (public)."""
    every, public = set(), set()
    for f in glob.glob(str(ROOT / "protos/koo/*/v1/*.proto")):
        src = Path(f).read_text()
        pkg = re.search(r"^package ([\w.]+);", src, re.M).group(1)
        for svc in re.finditer(r"^service (\w+) \{(.*?)^\}", src, re.M | re.S):
            body = svc.group(2)
            for m in re.finditer(r"rpc (\w+)\s*\(", body):
                nxt = body.find("rpc ", m.end())
                block = body[m.end() : nxt if nxt != -1 else len(body)]
                path = f"/{pkg}.{svc.group(1)}/{m.group(1)}"
                every.add(path)
                if "google.api.http" in block:
                    public.add(path)
    return every, public


def schema_check(name: str, objs: list[dict], k8s_version: str, crd: dict) -> Counter:
    counts: Counter = Counter()
    for o in objs:
        api, kind = o.get("apiVersion", ""), o.get("kind", "")
        where = f"[{name}] {ident(o)}"
        if any(g in api for g in CRD_GROUPS):
            schema = crd.get((api, kind))
            if schema is None:
                err(where, f"no schema for {api} {kind} in mesh/schemas")
                continue
            v = jsonschema.Draft202012Validator(schema)
            problems = sorted(v.iter_errors(o), key=lambda e: list(e.absolute_path))
            for e in problems:
                err(where, f"{'/'.join(map(str, e.absolute_path))}: {e.message}")
            counts["custom"] += 1
        else:
            try:
                kubernetes_validate.validate(o, k8s_version, strict=True)
            except kubernetes_validate.ValidationError as e:
                err(where, str(e).splitlines()[0])
            except kubernetes_validate.SchemaNotFoundError:
                err(where, f"unknown kind {api} {kind}")
            counts["kubernetes"] += 1
    return counts


def pod_specs(objs):
    for o in objs:
        if o["kind"] in ("Deployment", "Job"):
            yield o, o["spec"]["template"]


def check_workloads(name: str, objs: list[dict], prod: bool) -> None:
    by_kind: dict[str, dict[str, dict]] = {}
    for o in objs:
        by_kind.setdefault(o["kind"], {})[o["metadata"]["name"]] = o
    sas = set(by_kind.get("ServiceAccount", {}))
    cms = set(by_kind.get("ConfigMap", {}))
    secrets = {
        o["spec"].get("target", {}).get("name", o["metadata"]["name"])
        for o in by_kind.get("ExternalSecret", {}).values()
    }
    deployments = by_kind.get("Deployment", {})

    for o, tpl in pod_specs(objs):
        where = f"[{name}] {ident(o)}"
        spec = tpl["spec"]
        psc = spec.get("securityContext", {})
        if not psc.get("runAsNonRoot"):
            err(where, "pod securityContext.runAsNonRoot must be true")
        if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            err(where, "pod seccompProfile must be RuntimeDefault")
        if spec.get("serviceAccountName") not in sas:
            err(where, f"serviceAccountName {spec.get('serviceAccountName')!r} is not defined")
        vols = {v["name"]: v for v in spec.get("volumes", [])}
        for c in spec["containers"]:
            cw = f"{where} container {c['name']}"
            sc = c.get("securityContext", {})
            if sc.get("allowPrivilegeEscalation") is not False:
                err(cw, "allowPrivilegeEscalation must be false")
            if sc.get("readOnlyRootFilesystem") is not True:
                err(cw, "readOnlyRootFilesystem must be true")
            if sc.get("capabilities", {}).get("drop") != ["ALL"]:
                err(cw, "capabilities must drop ALL")
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in res.get(part, {}):
                        err(cw, f"resources.{part}.{r} missing")
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            if "emptyDir" not in vols.get(mounts.get("/tmp", ""), {}):
                err(cw, "needs an emptyDir at /tmp (read-only root filesystem)")
            for ef in c.get("envFrom", []):
                ref = ef.get("configMapRef", {}).get("name")
                if ref and ref not in cms:
                    err(cw, f"envFrom ConfigMap {ref!r} is not defined")
            for e in c.get("env", []):
                skr = e.get("valueFrom", {}).get("secretKeyRef")
                if skr and skr["name"] not in secrets and not skr.get("optional"):
                    err(cw, f"env {e['name']}: Secret {skr['name']!r} is produced by no ExternalSecret")
            for v in vols.values():
                sec = v.get("secret", {}).get("secretName")
                if sec and sec not in secrets:
                    err(cw, f"volume Secret {sec!r} is produced by no ExternalSecret")
            if o["kind"] != "Deployment":
                continue
            for probe in ("livenessProbe", "readinessProbe"):
                if probe not in c:
                    err(cw, f"{probe} missing")
            ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            if "grpc" in ports or "grpc-health" in ports:
                port = ports.get("grpc", ports.get("grpc-health"))
                for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                    p = c.get(probe)
                    if p and p.get("grpc", {}).get("port") != port:
                        err(cw, f"{probe} must be a native grpc probe on port {port}")
                if "/koo" not in json.dumps(c) and c.get("args", [None])[0] != "serve":
                    err(cw, "gRPC workloads run `koo serve <name>`")
            pre = c.get("lifecycle", {}).get("preStop", {})
            pre_s = pre.get("sleep", {}).get("seconds", 0)
            if not pre:
                err(cw, "preStop hook missing (let endpoints deregister before SIGTERM)")
            grace = spec.get("terminationGracePeriodSeconds", 30)
            if "otel" not in c["name"] and grace < pre_s + GRPC_DRAIN_SECONDS:
                err(cw, f"terminationGracePeriodSeconds {grace} < preStop {pre_s} + drain {GRPC_DRAIN_SECONDS}")
        if o["kind"] == "Deployment":
            tsc = spec.get("topologySpreadConstraints", [])
            if not any(t["topologyKey"] == "topology.kubernetes.io/zone" for t in tsc):
                err(where, "no topologySpreadConstraint across topology.kubernetes.io/zone")
            labels = tpl["metadata"].get("labels", {})
            sel = o["spec"]["selector"]["matchLabels"]
            if any(labels.get(k) != v for k, v in sel.items()):
                err(where, "selector does not match the pod template labels")
            if prod:
                aff = json.dumps(spec.get("affinity", {}))
                if "eks.amazonaws.com/capacityType" not in aff or "karpenter.sh/capacity-type" not in aff:
                    err(where, "prod: no preferred spot node affinity")
                if not spec.get("tolerations"):
                    err(where, "prod: no spot toleration")

    def selects(selector: dict, dep: dict) -> bool:
        labels = dep["spec"]["template"]["metadata"].get("labels", {})
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

    for svc in by_kind.get("Service", {}).values():
        where = f"[{name}] {ident(svc)}"
        targets = [d for d in deployments.values() if selects(svc["spec"].get("selector", {}), d)]
        if not targets:
            err(where, "selector matches no Deployment")
        for p in svc["spec"]["ports"]:
            if p.get("appProtocol") == "grpc" and not p["name"].startswith("grpc"):
                err(where, f"gRPC port {p['port']} must be named grpc* for Istio")
            for d in targets:
                cports = {cp["name"] for c in d["spec"]["template"]["spec"]["containers"] for cp in c.get("ports", [])}
                if isinstance(p.get("targetPort"), str) and p["targetPort"] not in cports:
                    err(where, f"targetPort {p['targetPort']!r} is no container port of {d['metadata']['name']}")
    for kind in ("PodDisruptionBudget",):
        for pdb in by_kind.get(kind, {}).values():
            if not any(selects(pdb["spec"]["selector"]["matchLabels"], d) for d in deployments.values()):
                err(f"[{name}] {ident(pdb)}", "selector matches no Deployment")
    for hpa in by_kind.get("HorizontalPodAutoscaler", {}).values():
        if hpa["spec"]["scaleTargetRef"]["name"] not in deployments:
            err(f"[{name}] {ident(hpa)}", "scaleTargetRef is no Deployment")
    auths = set(by_kind.get("TriggerAuthentication", {}))
    for so in by_kind.get("ScaledObject", {}).values():
        where = f"[{name}] {ident(so)}"
        tgt = so["spec"]["scaleTargetRef"]["name"]
        if tgt not in deployments:
            err(where, "scaleTargetRef is no Deployment")
        if tgt in {h["spec"]["scaleTargetRef"]["name"] for h in by_kind.get("HorizontalPodAutoscaler", {}).values()}:
            err(where, "target is also scaled by an HPA")
        for t in so["spec"]["triggers"]:
            ref = t.get("authenticationRef", {}).get("name")
            if ref and ref not in auths:
                err(where, f"authenticationRef {ref!r} is not defined")
    for ta in by_kind.get("TriggerAuthentication", {}).values():
        for ref in ta["spec"].get("secretTargetRef", []):
            if ref["name"] not in secrets:
                err(f"[{name}] {ident(ta)}", f"Secret {ref['name']!r} is produced by no ExternalSecret")
    stores = set(by_kind.get("SecretStore", {}))
    for es in by_kind.get("ExternalSecret", {}).values():
        if stores and es["spec"]["secretStoreRef"]["name"] not in stores:
            err(f"[{name}] {ident(es)}", "secretStoreRef is not defined")
    for cm in by_kind.get("ConfigMap", {}).values():
        ep = cm.get("data", {}).get("KOO_OTLP_ENDPOINT")
        if ep and not ep.startswith("http://otel-collector.koo:4317"):
            err(f"[{name}] {ident(cm)}", "KOO_OTLP_ENDPOINT must point at otel-collector.koo:4317")


def check_istio(objs: list[dict], workloads: list[dict]) -> None:
    every, public = proto_rpcs()
    sas = {o["metadata"]["name"] for o in workloads if o["kind"] == "ServiceAccount"}
    apps = {o["metadata"]["name"]: o for o in workloads if o["kind"] == "Deployment"}
    services = {f"{o['metadata']['name']}.koo.svc.cluster.local": o for o in workloads if o["kind"] == "Service"}
    gateway_paths: set[str] = set()
    deny_all = False
    for o in objs:
        where = f"[istio] {ident(o)}"
        kind, spec = o["kind"], o.get("spec", {})
        if kind == "AuthorizationPolicy":
            if o["metadata"].get("namespace") == "koo" and spec == {}:
                deny_all = True
                continue
            app = spec.get("selector", {}).get("matchLabels", {}).get("app.kubernetes.io/name")
            if app not in apps:
                err(where, f"selector app {app!r} matches no Deployment")
            for r in spec.get("rules", []):
                principals = [p for f in r.get("from", []) for p in f["source"].get("principals", [])]
                for p in principals:
                    m = re.fullmatch(r"cluster\.local/ns/(koo|istio-system)/sa/([\w-]+)", p)
                    if not m:
                        err(where, f"principal {p!r} is not cluster.local/ns/<ns>/sa/<sa>")
                    elif m.group(1) == "koo" and m.group(2) not in sas:
                        err(where, f"principal {p!r}: no ServiceAccount {m.group(2)!r}")
                for t in r.get("to", []):
                    for path in t["operation"].get("paths", []):
                        if path.startswith("/grpc.health.v1.Health/"):
                            continue
                        if path not in every:
                            err(where, f"path {path} is no RPC in protos/")
                        if "cluster.local/ns/koo/sa/gateway" in principals:
                            gateway_paths.add(path)
        elif kind == "DestinationRule":
            if spec["host"] not in services:
                err(where, f"host {spec['host']} is no Service")
            tp = spec.get("trafficPolicy", {})
            if "connectionPool" not in tp or "outlierDetection" not in tp:
                err(where, "trafficPolicy needs connectionPool and outlierDetection")
        elif kind == "VirtualService":
            for h in spec["hosts"]:
                if h.endswith(".svc.cluster.local") and h not in services:
                    err(where, f"host {h} is no Service")
            for route in spec.get("http", []):
                rw = f"{where} route {route.get('name')}"
                for d in route["route"]:
                    if d["destination"]["host"] not in services:
                        err(rw, f"destination {d['destination']['host']} is no Service")
                if "timeout" not in route:
                    err(rw, "no explicit timeout")
                attempts = route.get("retries", {}).get("attempts")
                if attempts is None:
                    err(rw, "retries not set explicitly (Istio would apply its default of 2)")
                elif attempts > 0:
                    if "perTryTimeout" not in route["retries"]:
                        err(rw, "retries without perTryTimeout")
                    matches = route.get("match", [])
                    ok = bool(matches) and all(
                        m.get("method", {}).get("exact") == "GET"
                        or (
                            re.fullmatch(
                                r"\^/[\w\\.]+/\((\w+\|)*\w+\)\[A-Za-z\]\*\$", m.get("uri", {}).get("regex", "")
                            )
                            and all(
                                v in IDEMPOTENT for v in re.search(r"\((.*)\)", m["uri"]["regex"]).group(1).split("|")
                            )
                        )
                        for m in matches
                    )
                    if not ok:
                        err(rw, "retries on a route that is not limited to idempotent calls")
    if not deny_all:
        err("[istio]", "no default-deny AuthorizationPolicy (empty spec) in koo")
    missing, extra = public - gateway_paths, gateway_paths - public
    for p in sorted(missing):
        err("[istio] allow policies", f"gateway may not call public RPC {p} (it has an HTTP mapping)")
    for p in sorted(extra):
        err("[istio] allow policies", f"gateway may call {p}, which has no HTTP mapping")
    peer = [o for o in objs if o["kind"] == "PeerAuthentication" and o["metadata"]["namespace"] == "istio-system"]
    if not peer or peer[0]["spec"]["mtls"]["mode"] != "STRICT":
        err("[istio]", "mesh-wide PeerAuthentication STRICT missing")


def check_otel(objs: list[dict]) -> None:
    cms = [o for o in objs if o["kind"] == "ConfigMap" and "collector.yaml" in o.get("data", {})]
    if not cms:
        err("[otel]", "no collector ConfigMap")
        return
    cfg = yaml.safe_load(cms[0]["data"]["collector.yaml"])
    defined = {sect: set(cfg.get(sect, {}) or {}) for sect in ("receivers", "processors", "exporters", "extensions")}
    for ext in cfg["service"].get("extensions", []):
        if ext not in defined["extensions"]:
            err("[otel]", f"extension {ext} is not defined")
    for pname, p in cfg["service"]["pipelines"].items():
        for sect in ("receivers", "processors", "exporters"):
            for comp in p.get(sect, []):
                if comp not in defined[sect]:
                    err("[otel]", f"pipeline {pname}: {sect[:-1]} {comp} is not defined")
        procs = p.get("processors", [])
        if not procs or procs[0] != "memory_limiter" or "batch" not in procs:
            err("[otel]", f"pipeline {pname}: memory_limiter first and batch required")
    for pname in ("traces", "logs"):
        if pname not in cfg["service"]["pipelines"]:
            err("[otel]", f"no {pname} pipeline")
    # Logs and traces go where search goes: OpenSearch (docs/deploy.md, "Search engine").
    exporters = cfg["exporters"]
    if "opensearch" not in exporters:
        err("[otel]", "no opensearch exporter (logs and traces go to the OpenSearch domain)")
    for pname in ("traces", "logs"):
        if "opensearch" not in cfg["service"]["pipelines"].get(pname, {}).get("exporters", []):
            err("[otel]", f"pipeline {pname}: does not export to opensearch")
    os_exporter = exporters.get("opensearch", {}) or {}
    if os_exporter.get("mapping", {}).get("mode") not in ("ss4o", "ecs", "flatten_attributes", "bodymap", "raw"):
        err("[otel]", "opensearch exporter: mapping.mode must be set explicitly")
    if not str(os_exporter.get("http", {}).get("endpoint", "")):
        err("[otel]", "opensearch exporter: http.endpoint is required")
    for o in objs:
        if o["kind"] == "Deployment":
            for c in o["spec"]["template"]["spec"]["containers"]:
                tag = c["image"].rpartition(":")[2]
                if not re.fullmatch(r"\d+\.\d+\.\d+", tag):
                    err("[otel]", f"image {c['image']} is not pinned to a version")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--k8s-version", default="1.33")
    ap.add_argument("renders", nargs="+", help="NAME=path/to/rendered.yaml")
    a = ap.parse_args()
    crd = load_crd_schemas()
    loaded = {}
    for item in a.renders:
        name, _, path = item.partition("=")
        loaded[name] = [d for d in yaml.safe_load_all(Path(path).read_text()) if d]
    total = Counter()
    for name, objs in loaded.items():
        before = len(errors)
        counts = schema_check(name, objs, a.k8s_version, crd)
        if name != "istio":
            check_workloads(name, objs, prod=(name == "prod"))
        if name == "istio":
            check_istio(objs, loaded.get("base", []) + loaded.get("otel", []))
        if name == "otel":
            check_otel(objs)
        kinds = Counter(o["kind"] for o in objs)
        total.update(counts)
        print(
            f"  {name:6s} {len(objs):3d} objects ({counts['kubernetes']} Kubernetes, {counts['custom']} custom): "
            f"{'ok' if len(errors) == before else f'{len(errors) - before} error(s)'}  "
            + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        )
    for e in errors:
        print(f"ERROR {e}", file=sys.stderr)
    print(
        f"validated {sum(total.values())} objects ({total['kubernetes']} against Kubernetes {a.k8s_version} "
        f"schemas, {total['custom']} against mesh/schemas): {len(errors)} error(s)"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
