#!/usr/bin/env bash
# make deploy: the stack under test on the kind cluster (idempotent). Builds and loads the
# service image, applies deploy/stack, restarts Deployments still running an older build of the
# image, and waits until every Deployment is available, printing progress while it waits.
set -euo pipefail
source "$(dirname "$0")/../../cluster/scripts/lib.sh"
context=${KUBE_CONTEXT:-kind-$CLUSTER_NAME}
namespace=gameday
k() { kubectl --context "$context" "$@"; }

image=$("$REPO_DIR/deploy/scripts/service-image.sh")
image_id=$(docker image inspect -f '{{.Id}}' "$image")
log "applying deploy/stack to $context"
k apply -k "$REPO_DIR/deploy/stack" >/dev/null

# same tag, new build: pods that run another image ID are replaced (a rolling update)
for deploy in $(k -n "$namespace" get deploy -o name); do
  running=$(k -n "$namespace" get pods -l "app=${deploy#*/}" \
    -o jsonpath='{range .items[*]}{.status.containerStatuses[0].imageID}{"\n"}{end}' | sort -u)
  if [ -n "$running" ] && grep -qv "${image_id#sha256:}" <<< "$running"; then
    log "  ${deploy#*/} runs an older $image: rolling it"
    k -n "$namespace" rollout restart "$deploy" >/dev/null
  fi
done

deadline=$((SECONDS + 300))
while :; do
  status=$(k -n "$namespace" get deploy -o jsonpath='{range .items[*]}{.metadata.name} {.status.availableReplicas}/{.spec.replicas} {.status.updatedReplicas}{"\n"}{end}')
  pending=$(awk '{split($2, a, "/"); if (a[1] + 0 < a[2] || $3 + 0 < a[2]) print $1}' <<< "$status")
  [ -z "$pending" ] && break
  [ $SECONDS -lt $deadline ] || die "not available after 300 s: $(tr '\n' ' ' <<< "$status")"
  log "  waiting for $(echo $pending): $(awk '{printf "%s %s  ", $1, $2}' <<< "$status")"
  sleep 5
done
log "stack deployed in namespace $namespace: http://127.0.0.1:30080 (core API)"
