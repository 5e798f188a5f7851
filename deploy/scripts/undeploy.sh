#!/usr/bin/env bash
# make undeploy: removes what make deploy (and make deploy-runner) applied and waits until it is gone.
set -euo pipefail
source "$(dirname "$0")/../../cluster/scripts/lib.sh"
context=${KUBE_CONTEXT:-kind-$CLUSTER_NAME}
for dir in runner stack monitoring; do  # runner: what make deploy-runner applied, if it did
  kubectl --context "$context" delete -k "$REPO_DIR/deploy/$dir" --ignore-not-found --wait=true >/dev/null
done
log "stack and monitoring removed from $context"
