#!/usr/bin/env bash
# kwok.sh N: N simulated nodes beside the kind workers, in three zones of their own, kept
# Ready by KWOK (sigs.k8s.io/kwok, built from its Go module) running on this host. N=0 removes
# them and stops KWOK. Run by `make cluster KWOK_NODES=N`; idempotent (a node already there is
# kept, KWOK restarted only when it is not running).
#
# Simulated nodes answer the scheduler and the node lifecycle controller only: their pods run
# nothing and use no CPU (an HPA never reacts to them). They carry the label and taint
# kwok.x-k8s.io/node=fake, so only pods that tolerate it land there (and DaemonSets that
# tolerate everything). Their addresses are in $KWOK_NODE_SUBNET, which up.sh keeps from leaving
# the host like the cluster's own ranges: nothing is ever sent to a simulated node.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
count=${1:?usage: kwok.sh NODES}
context=kind-$CLUSTER_NAME
dir=$CACHE/kwok
simulated=kwok.x-k8s.io/node=fake
# what KWOK keeps alive: a node the suite marks lost (a zone-loss fault, actions/simulated.py) has
# its Lease expire, as a zone cut off would
managed="$simulated,!kube-gameday.io/lost"
mkdir -p "$dir"

kwok_running() { [ -f "$dir/kwok.pid" ] && kill -0 "$(cat "$dir/kwok.pid")" 2>/dev/null; }

stop_kwok() {
  if kwok_running; then
    kill "$(cat "$dir/kwok.pid")"
    log "stopped KWOK"
  fi
  rm -f "$dir/kwok.pid"
}

# KWOK's default stages (what kwokctl gives its own clusters) come with its module: nodes become
# Ready and renew their Lease; pods become Ready, complete and go away when deleted.
stages() {
  local src
  src=$(cd "$CLUSTER_DIR/components/kwok" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" |
        sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -d "$src/kustomize/stage" ] || die "no stages in sigs.k8s.io/kwok@$KWOK_VERSION ($src)"
  for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
               pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
    echo ---; cat "$src/kustomize/stage/$stage.yaml"
  done > "$dir/stages.yaml"
  # and ours: what a kubelet's status sync does after a late heartbeat
  { echo ---; cat "$CLUSTER_DIR/kwok-stages/pod-ready-again.yaml"; } >> "$dir/stages.yaml"
}

start_kwok() {
  local bin
  bin=$("$CLUSTER_DIR/scripts/build-go.sh" components/kwok sigs.k8s.io/kwok/cmd/kwok kwok)
  stages
  # Leases of 40 s renewed every 10 s: the controller manager's 20 s grace (kind-config.yaml)
  # sees a missed renewal, as it would of a kubelet; no server (--server-address empty): no port;
  # warnings and errors only (at INFO it logs every Lease renewal: ~1 GB a day with 300 nodes)
  setsid "$bin" --v WARN --kubeconfig "$dir/kubeconfig" --config "$dir/stages.yaml" \
    --manage-nodes-with-label-selector "$managed" --node-lease-duration-seconds 40 \
    --cidr "$KWOK_POD_SUBNET" --node-ip "${KWOK_NODE_SUBNET%.*/*}.1" \
    > "$dir/kwok.log" 2>&1 < /dev/null &
  echo $! > "$dir/kwok.pid"
  sleep 2
  kwok_running || die "KWOK exited at once: $(tail -5 "$dir/kwok.log")"
  log "KWOK running (pid $(cat "$dir/kwok.pid"), log $dir/kwok.log)"
}

# One simulated node: an 8-vCPU, 32 GiB machine with what a kubelet keeps back, 110 pods, in
# sim-zone-a/b/c in turn. Zones apart from the kind workers': the node lifecycle controller judges
# a zone by the share of its nodes NotReady, and stops evicting from a small zone mostly down, so
# one real worker in a lost simulated zone (or simulated nodes in a real one) would change what a
# zone loss does. Node i's address is in $KWOK_NODE_SUBNET.
node_json() {
  local i=$1 zones=(sim-zone-a sim-zone-b sim-zone-c)
  local zone=${zones[$((i % 3))]} name
  name=$(printf 'sim-%04d-%s' "$i" "${zone#sim-}")
  cat <<EOF
{"apiVersion": "v1", "kind": "Node",
 "metadata": {"name": "$name",
   "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
   "labels": {"kwok.x-k8s.io/node": "fake", "type": "kwok", "kubernetes.io/hostname": "$name",
              "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "node.kubernetes.io/instance-type": "sim-8cpu-32gi", "topology.kubernetes.io/zone": "$zone"}},
 "spec": {"taints": [{"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}]},
 "status": {"capacity": {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"},
            "allocatable": {"cpu": "7910m", "memory": "29Gi", "pods": "110", "ephemeral-storage": "95Gi"},
            "addresses": [{"type": "InternalIP", "address": "${KWOK_NODE_SUBNET%.*.*/*}.$((i / 250)).$((i % 250 + 2))"},
                          {"type": "Hostname", "address": "$name"}]}}
EOF
}

# remove_nodes NAME...: the nodes and their Leases. A Lease outlives its node until the garbage
# collector comes by; a node made again under its name would be judged by it, stale, and tainted
# unreachable at once.
# Nodes and their Leases, 25 a call and 8 calls at once: one DELETE after another took minutes
# for a thousand nodes, and a DELETE of the whole collection outlives the API server's 60 s
remove_nodes() {
  [ $# -gt 0 ] || return 0
  printf '%s\n' "$@" | xargs -n 25 -P 8 kubectl --context "$context" delete nodes --wait=false >/dev/null
  printf '%s\n' "$@" | xargs -n 25 -P 8 kubectl --context "$context" -n kube-node-lease delete leases \
    --ignore-not-found --wait=false >/dev/null
}

simulated_nodes() { kubectl --context "$context" get nodes -l "$simulated" -o name | sed 's|^node/||'; }

if [ "$count" -eq 0 ]; then
  nodes=$(simulated_nodes)   # (not `| grep -q`: with pipefail, kubectl's SIGPIPE on a long list reads as "none")
  if [ -n "$nodes" ]; then
    log "removing the $(wc -w <<< "$nodes") simulated nodes"
    remove_nodes $nodes
  fi
  # and the Leases of simulated nodes removed by other hands (kubectl delete node)
  orphans=$(kubectl --context "$context" -n kube-node-lease get leases -o name | sed -n 's|^lease.coordination.k8s.io/\(sim-\)|\1|p')
  [ -z "$orphans" ] || printf '%s\n' $orphans | xargs -n 25 -P 8 kubectl --context "$context" -n kube-node-lease \
    delete leases --ignore-not-found --wait=false >/dev/null
  stop_kwok
  exit 0
fi

# a re-created cluster has new credentials: KWOK restarts with them
kind get kubeconfig --name "$CLUSTER_NAME" > "$dir/kubeconfig.new"
if kwok_running && cmp -s "$dir/kubeconfig.new" "$dir/kubeconfig"; then
  rm "$dir/kubeconfig.new"
else
  stop_kwok
  mv "$dir/kubeconfig.new" "$dir/kubeconfig"
  start_kwok
fi
log "applying $count simulated nodes"
{ echo '{"apiVersion": "v1", "kind": "List", "items": ['
  for i in $(seq 0 $((count - 1))); do node_json "$i"; [ "$i" -lt $((count - 1)) ] && echo ,; done
  echo ']}'
} | kubectl --context "$context" apply -f - >/dev/null
# fewer than before: the highest-numbered go
remove_nodes $(simulated_nodes | sort -t- -k2 -n | tail -n +$((count + 1)))
# a node marked lost stays lost (`gameday cleanup` brings it back)
lost=$(kubectl --context "$context" get nodes -l "$simulated,kube-gameday.io/lost" -o name | wc -l)
[ "$lost" -eq 0 ] || log "$lost simulated nodes are marked lost by a zone-loss fault: gameday cleanup restores them"
want=$((count - lost))
# Ready, and no longer tainted unreachable or not-ready: a KWOK started again takes over a Lease
# only once the previous one's has expired (40 s), and the node lifecycle controller taints the
# node meanwhile
log "waiting for $want simulated nodes to be Ready and schedulable"
for i in $(seq 300); do
  ready=$(kubectl --context "$context" get nodes -l "$managed" -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status} {.spec.taints[*].key}{"\n"}{end}' |
          awk '$1 == "True" && !/node\.kubernetes\.io\//' | wc -l)
  [ "$ready" -ge "$want" ] && break
  [ $((i % 15)) -eq 0 ] && log "  … $ready of $want Ready and schedulable (${i} s)"
  sleep 1
done
[ "$ready" -ge "$want" ] || die "only $ready of $want simulated nodes Ready after 300 s (KWOK's log: $dir/kwok.log)"
log "$want simulated nodes Ready, by zone:"
kubectl --context "$context" get nodes -l "$simulated" -L topology.kubernetes.io/zone --no-headers |
  awk '{zones[$6]++} END {for (z in zones) printf "  %s: %d\n", z, zones[z]}' >&2
