#!/usr/bin/env bash
# make deploy: the stack under test and its monitoring on the kind cluster (idempotent). Builds
# and loads the service, stateful tier and node agent images (the others are in the node image),
# applies deploy/stack, deploy/monitoring and deploy/agents, restarts Deployments still running an
# older build of the service image, and waits until every Deployment is available, every
# StatefulSet ready, the Redis Cluster made, every Prometheus target up and Prometheus has found
# its Alertmanager, printing progress while it waits.
set -euo pipefail
source "$(dirname "$0")/../../cluster/scripts/lib.sh"
context=${KUBE_CONTEXT:-kind-$CLUSTER_NAME}
stack_ns=gameday
prometheus=http://127.0.0.1:30090
k() { kubectl --context "$context" "$@"; }

# same tag, new build: Deployments whose pods run another build of the service image are rolled.
# A pod's imageID is the digest containerd recorded at import, so compare with the nodes' own.
roll_stale() {
  local image=$1 digest ns app
  digest=$(docker exec "$CLUSTER_NAME-control-plane" crictl inspecti -o go-template \
    --template '{{range .status.repoDigests}}{{.}}{{"\n"}}{{end}}' "docker.io/$image" | sed -n 's/.*@//p' | head -1)
  [ -n "$digest" ] || die "$image is not on node $CLUSTER_NAME-control-plane after loading it"
  for ns in "$stack_ns" monitoring; do
    for app in $(k -n "$ns" get pods -o jsonpath='{range .items[*]}{.metadata.labels.app} {.spec.containers[0].image} {.status.containerStatuses[0].imageID}{"\n"}{end}' \
        | awk -v image="$image" -v digest="$digest" '$2 == image && $3 != "" && index($3, digest) == 0 {print $1}' | sort -u); do
      log "  $ns/$app runs an older build of $image: rolling it"
      k -n "$ns" rollout restart "deploy/$app" >/dev/null
    done
  done
}

# wait_rolled KIND COUNT NAMESPACE [SELECTOR]: every KIND there (deploy, statefulset) has its
# replicas counted by status.COUNT (availableReplicas, readyReplicas) and of its current revision
wait_rolled() {
  local kind=$1 count=$2 ns=$3 selector=${4:-} status pending deadline=$((SECONDS + 300))
  while :; do
    status=$(k -n "$ns" get "$kind" ${selector:+-l "$selector"} -o jsonpath="{range .items[*]}{.metadata.name} {.status.$count}/{.spec.replicas} {.status.updatedReplicas}{\"\\n\"}{end}")
    pending=$(awk '{split($2, a, "/"); if (a[1] + 0 < a[2] || $3 + 0 < a[2]) print $1}' <<< "$status")
    [ -z "$pending" ] && return 0
    [ $SECONDS -lt $deadline ] || die "$ns: $kind not $count after 300 s: $(tr '\n' ' ' <<< "$status")"
    log "  $ns: waiting for $(echo $pending) ($(awk '{printf "%s %s ", $1, $2}' <<< "$status"))"
    sleep 5
  done
}

# wait_job_complete NAMESPACE JOB: the Job succeeded (its log shown when it failed for good)
wait_job_complete() {
  local ns=$1 job=$2 deadline=$((SECONDS + 180))
  until [ "$(k -n "$ns" get job "$job" -o jsonpath='{.status.succeeded}')" = 1 ]; do
    if [ "$(k -n "$ns" get job "$job" -o jsonpath='{.status.conditions[?(@.type=="Failed")].status}')" = True ]; then
      k -n "$ns" logs "job/$job" --tail=20 >&2 || true
      die "$ns/job/$job failed"
    fi
    [ $SECONDS -lt $deadline ] || die "$ns/job/$job not complete after 180 s"
    log "  $ns: waiting for job $job"
    sleep 5
  done
}

# every target Prometheus discovered has been scraped successfully
wait_targets_up() {
  local deadline=$((SECONDS + 180)) summary
  while :; do
    summary=$(curl -sf "$prometheus/api/v1/targets?state=active" | python3 -c '
import json, sys
targets = json.load(sys.stdin)["data"]["activeTargets"]
down = sorted({t["labels"].get("job", "?") + "/" + t["labels"].get("pod", t["labels"].get("node", t["scrapeUrl"])) for t in targets if t["health"] != "up"})
print(f"{len(targets)} targets" + (", not up: " + " ".join(down) if down else "") if targets else "no targets yet")' 2>/dev/null) || summary="Prometheus not answering at $prometheus"
    case $summary in *targets) [ "${summary%% *}" -gt 0 ] && { log "Prometheus: $summary, all up"; return 0; } ;; esac
    [ $SECONDS -lt $deadline ] || die "Prometheus targets after 180 s: $summary"
    log "  Prometheus: $summary"
    sleep 5
  done
}

# Prometheus sends its alerts to the Alertmanager it discovered
wait_alertmanager_found() {
  local deadline=$((SECONDS + 60))
  until curl -sf "$prometheus/api/v1/alertmanagers" | grep -q '"activeAlertmanagers":\[{'; do
    [ $SECONDS -lt $deadline ] || die "Prometheus has no active Alertmanager after 60 s ($prometheus/api/v1/alertmanagers)"
    log "  Prometheus: waiting for its Alertmanager"
    sleep 2
  done
}

service_image=$("$REPO_DIR/deploy/scripts/service-image.sh")
"$REPO_DIR/deploy/scripts/stateful-image.sh" >/dev/null
"$REPO_DIR/deploy/scripts/agent-image.sh" >/dev/null
log "applying deploy/stack, deploy/monitoring and deploy/agents to $context"
k apply -k "$REPO_DIR/deploy/stack" >/dev/null
k apply -k "$REPO_DIR/deploy/monitoring" >/dev/null
k apply -k "$REPO_DIR/deploy/agents" >/dev/null
roll_stale "$service_image"
wait_rolled deploy availableReplicas "$stack_ns"
wait_rolled statefulset readyReplicas "$stack_ns"
wait_job_complete "$stack_ns" redis-cluster-init
wait_rolled deploy availableReplicas monitoring
wait_rolled deploy availableReplicas kube-system app.kubernetes.io/name=kube-state-metrics
wait_targets_up
wait_alertmanager_found
log "deployed: core API http://127.0.0.1:30080, Prometheus $prometheus," \
  "Alertmanager http://127.0.0.1:30093, alert sink http://127.0.0.1:30094/alerts"
