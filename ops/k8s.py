"""The Kubernetes manifests in deploy/k8s, rendered for a number of dataflow processes.

    python -m ops.k8s --processes 4 | kubectl apply -f -     # the dataflow as 4 pods
    kubectl apply -k deploy/k8s                               # as committed: 2 processes

The committed files are the base (2 dataflow processes, 2 API replicas) and work
with ``kubectl apply -k`` as they are. A StatefulSet's replicas and the process
count its pods are told (FLOW_PROCESSES) must change together, and so must the
API's replicas and RATE_LIMIT_PROCESSES; this renders both pairs in step.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import yaml

K8S = Path(__file__).resolve().parents[1] / "deploy" / "k8s"
Doc = dict[str, Any]


def base() -> list[Doc]:
    """Every resource kustomization.yaml lists, in its order."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs: list[Doc] = []
    for name in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    return docs


def render(processes: int = 2, api_replicas: int = 2) -> list[Doc]:
    docs = copy.deepcopy(base())
    _scale(find(docs, "StatefulSet", "flow"), processes, "FLOW_PROCESSES")
    _scale(find(docs, "Deployment", "api"), api_replicas, "RATE_LIMIT_PROCESSES")
    return docs


def find(docs: list[Doc], kind: str, name: str) -> Doc:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def env_of(container: Doc) -> dict[str, str]:
    """A container's literal environment (values from secrets left out)."""
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def _scale(workload: Doc, replicas: int, setting: str) -> None:
    workload["spec"]["replicas"] = replicas
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    (entry,) = [e for e in container["env"] if e["name"] == setting]
    entry["value"] = str(replicas)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.k8s", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--processes", type=int, default=2, help="dataflow processes, a pod each (default 2)")
    parser.add_argument("--api-replicas", type=int, default=2, help="API pods (default 2)")
    args = parser.parse_args(argv)
    if args.processes < 1 or args.api_replicas < 1:
        parser.error("--processes and --api-replicas must be at least 1")
    yaml.safe_dump_all(render(args.processes, args.api_replicas), sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
