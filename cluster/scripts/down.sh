#!/usr/bin/env bash
# make cluster-down: deletes the cluster; the build cache stays, so the next `make cluster` is warm.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
if command -v kind >/dev/null && docker info >/dev/null 2>&1; then
  kind delete cluster --name "$CLUSTER_NAME"
else
  log "no kind or no docker engine: no cluster to delete"
fi
