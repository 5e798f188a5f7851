#!/usr/bin/env bash
# make undeploy: removes what make deploy applied and waits until it is gone.
set -euo pipefail
source "$(dirname "$0")/../../cluster/scripts/lib.sh"
context=${KUBE_CONTEXT:-kind-$CLUSTER_NAME}
for dir in stack monitoring; do
  kubectl --context "$context" delete -k "$REPO_DIR/deploy/$dir" --ignore-not-found --wait=true >/dev/null
done
log "stack and monitoring removed from $context"
