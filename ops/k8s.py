"""How many dataflow processes and API replicas the Kubernetes manifests run.

    python -m ops.k8s --processes 4                  # writes deploy/k8s/scale.yaml
    python -m ops.k8s --processes 4 --into my-overlay --api-replicas 3
    kubectl apply -k deploy/k8s                      # everything, with the counts and your kustomize edits

A StatefulSet's replicas and the process count its pods are told (FLOW_PROCESSES)
must change together, and so must the API's replicas and RATE_LIMIT_PROCESSES.
This writes the two replica counts, and nothing else, into one patch file,
``scale.yaml``, which kustomization.yaml applies; its replacements copy each count
into the setting that must equal it. Every other kustomize setting (an image set
with ``kustomize edit set image``, your own patches, a namespace) stays as it is.
No YAML library needed: the patch is written from a template.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

K8S = Path(__file__).resolve().parents[1] / "deploy" / "k8s"
PATCH = "scale.yaml"

TEMPLATE = """\
# How many dataflow processes and API replicas: written by python -m ops.k8s.
# kustomization.yaml applies it, then copies each count into the setting that
# must equal it (FLOW_PROCESSES, RATE_LIMIT_PROCESSES).
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: flow
spec:
  replicas: {processes}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: {api_replicas}
"""


def scale_patch(processes: int = 2, api_replicas: int = 2) -> str:
    return TEMPLATE.format(processes=processes, api_replicas=api_replicas)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.k8s", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--processes", type=int, default=2, help="dataflow processes, a pod each (default 2)")
    parser.add_argument("--api-replicas", type=int, default=2, help="API pods (default 2)")
    parser.add_argument("--into", type=Path, default=K8S, help=f"the kustomize directory (default {K8S})")
    args = parser.parse_args(argv)
    if args.processes < 1 or args.api_replicas < 1:
        parser.error("--processes and --api-replicas must be at least 1")
    if not (args.into / "kustomization.yaml").is_file():
        parser.error(f"{args.into} holds no kustomization.yaml")
    (args.into / PATCH).write_text(scale_patch(args.processes, args.api_replicas))
    print(f"{args.into / PATCH}: {args.processes} dataflow processes, {args.api_replicas} API replicas")
    print(f"apply with: kubectl apply -k {args.into}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
