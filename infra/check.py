#!/usr/bin/env python3
"""Checks rendered manifests offline: every core resource against the Kubernetes API schemas
(kubernetes-validate, strict: no unknown fields), every operator resource against its CRD's
OpenAPI schema, and checkov's static security checks over the manifests and the Dockerfile.

    python3 infra/check.py --manifests DIR --crds DIR [--dockerfile docker/Dockerfile]

Prints one JSON object (resources checked, schema errors, checkov's passed/failed/skipped with
each skip's reason) and exits 1 if any resource is invalid or any check fails unexplained.
"""
import argparse
import glob
import json
import os
import subprocess
import sys

import jsonschema
import kubernetes_validate
import yaml

KUBERNETES_VERSION = "1.31.0"


def crd_schemas(directory):
    schemas = {}
    for path in glob.glob(os.path.join(directory, "*.yaml")):
        with open(path) as f:
            crd = yaml.safe_load(f)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schemas[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return schemas


def closed(schema):
    """A CRD schema with additionalProperties false wherever it lists properties and does not
    preserve unknown fields: what the API server does (it prunes unknown fields; here they are errors)."""
    if isinstance(schema, dict):
        schema = {k: closed(v) for k, v in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [closed(v) for v in schema]
    return schema


def validate(manifests, crds):
    schemas = {key: closed(value) for key, value in crd_schemas(crds).items()}
    checked, errors = [], []
    for path in sorted(glob.glob(os.path.join(manifests, "**", "*.yaml"), recursive=True)):
        with open(path) as f:
            docs = [doc for doc in yaml.safe_load_all(f) if doc]
        for doc in docs:
            name = f"{os.path.relpath(path, manifests)}: {doc.get('kind')}/{doc.get('metadata', {}).get('name', '')}"
            key = (doc.get("apiVersion"), doc.get("kind"))
            if key == ("kustomize.config.k8s.io/v1beta1", "Kustomization"):
                missing = [r for r in doc["resources"] if not os.path.exists(os.path.join(os.path.dirname(path), r))]
                if missing: errors.append(f"{name}: lists missing files {missing}")
                continue
            checked.append(name)
            if key in schemas:
                for error in jsonschema.Draft7Validator(schemas[key]).iter_errors(doc):
                    errors.append(f"{name}: {'/'.join(map(str, error.absolute_path))}: {error.message}")
                continue
            try:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as error:
                errors.append(f"{name}: {'/'.join(map(str, error.path))}: {error.message}")
            except kubernetes_validate.SchemaNotFoundError:
                errors.append(f"{name}: no schema for {key} (neither Kubernetes {KUBERNETES_VERSION} nor a CRD here)")
    return checked, errors


def checkov(paths):
    """checkov over each path; a skip counts only with a reason beside it."""
    checkov_bin = os.path.join(os.path.dirname(sys.executable), "checkov")
    passed, failed, skipped = 0, [], []
    for framework, path in paths:
        target = ["-d", path] if os.path.isdir(path) else ["-f", path]
        run = subprocess.run([checkov_bin, *target, "--framework", framework, "--output", "json", "--compact",
                              "--skip-download"], capture_output=True, text=True)
        if not run.stdout.strip():
            failed.append({"check": "checkov", "resource": path, "error": run.stderr[-2000:]})
            continue
        reports = json.loads(run.stdout)
        for report in reports if isinstance(reports, list) else [reports]:
            results = report.get("results", {})
            passed += len(results.get("passed_checks", []))
            for check in results.get("failed_checks", []):
                failed.append({"check": check["check_id"], "name": check["check_name"], "resource": check["resource"],
                               "file": check.get("file_path")})
            for check in results.get("skipped_checks", []):
                reason = (check.get("check_result") or {}).get("suppress_comment") or ""
                skipped.append({"check": check["check_id"], "resource": check["resource"], "reason": reason})
    unexplained = [s for s in skipped if len(s["reason"].strip()) < 10 or s["reason"].strip() == "No comment provided"]
    return passed, failed, skipped, unexplained


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--manifests", required=True)
    parser.add_argument("--crds", required=True)
    parser.add_argument("--dockerfile")
    args = parser.parse_args()
    checked, errors = validate(args.manifests, args.crds)
    targets = [("kubernetes", args.manifests)] + ([("dockerfile", args.dockerfile)] if args.dockerfile else [])
    passed, failed, skipped, unexplained = checkov(targets)
    print(json.dumps({"kubernetes_version": KUBERNETES_VERSION, "resources": checked, "schema_errors": errors,
                      "checkov": {"passed": passed, "failed": failed, "skipped": skipped, "unexplained_skips": unexplained}},
                     indent=1))
    return 1 if errors or failed or unexplained or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
