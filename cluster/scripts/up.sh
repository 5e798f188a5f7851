#!/usr/bin/env bash
# make cluster: the kind cluster of kind-config.yaml, created once and then reused. Starts the
# docker engine if needed, restarts node containers an interrupted test left stopped, and installs
# metrics-server (the HPA's resource metrics) and the NetworkPolicy enforcer (deploy/network-policy).
# OFFLINE=1 forces the local node-image build; OFFLINE=0 forces the upstream kindest/node image;
# unset, it builds locally when the upstream image can be neither found nor pulled.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
scripts=$CLUSTER_DIR/scripts
context=kind-$CLUSTER_NAME
upstream_image=kindest/node:$KIND_UPSTREAM_NODE_TAG

# Cluster-internal addresses never leave this machine: a node that sends to a Service before
# kube-proxy has programmed it would otherwise have the packet routed off the host; the
# simulated nodes' addresses (cluster/scripts/kwok.sh) lead nowhere. Traffic between nodes
# crosses the kind bridge (br-*) and is not affected.
guard_cluster_ranges() {
  local cidr
  for cidr in $POD_SUBNET $SERVICE_SUBNET $KWOK_NODE_SUBNET $KWOK_POD_SUBNET; do
    iptables -C DOCKER-USER -d "$cidr" ! -o br-+ -j REJECT 2>/dev/null ||
      iptables -I DOCKER-USER -d "$cidr" ! -o br-+ -j REJECT
  done
}

node_image() {
  if [ "${OFFLINE:-}" != 1 ]; then
    if docker image inspect "$upstream_image" >/dev/null 2>&1 ||
       { log "trying to pull $upstream_image"; timeout 120 docker pull -q "$upstream_image" >/dev/null 2>&1; }; then
      echo "$upstream_image"; return
    fi
    [ "${OFFLINE:-}" = 0 ] && die "OFFLINE=0 but $upstream_image cannot be pulled"
    log "no registry: building the node image locally (cluster/README.md)"
  fi
  "$scripts/build-node-image.sh" || die "building the node image failed"
  echo "kube-gameday/node:$K8S_VERSION"
}

# The project's own images (kube-gameday/*) are in our node image; the upstream one needs them
# loaded (its nodes pull everything else from the registries).
load_own_images() {
  local image
  "$scripts/build-images.sh" kube-gameday/ | while read -r image _; do
    kind load docker-image --name "$CLUSTER_NAME" "$image" >/dev/null
    log "loaded $image into the nodes"
  done
}

# The control plane is never stopped on purpose (experiments stop workers only). Down, or started
# again after it was created, means the docker engine went away (a new session, CI): every node
# came back at once, maybe with shuffled addresses, which kubeadm's certificates and flags do not
# follow. A warm re-creation takes about a minute, so it is re-created.
control_plane_lost() {
  local cp=$CLUSTER_NAME-control-plane created started
  [ "$(docker inspect -f '{{.State.Running}}' "$cp" 2>/dev/null)" = true ] || return 0
  created=$(date -d "$(docker inspect -f '{{.Created}}' "$cp")" +%s)
  started=$(date -d "$(docker inspect -f '{{.State.StartedAt}}' "$cp")" +%s)
  [ $((started - created)) -gt 60 ]
}

cluster_exists() {
  kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"
}

# What the running cluster was created from: kind-config.yaml and the node image. A cluster made
# from anything else (a changed port mapping, a rebuilt node image) is re-created.
created_from=$CACHE/cluster-$CLUSTER_NAME.created-from
cluster_recipe() {
  { cat "$REPO_DIR/kind-config.yaml"; echo "$1"; docker image inspect -f '{{.Id}}' "$1"; } | sha256sum | cut -c1-16
}

# the API server answers (kubectl wait fails at once while it does not)
wait_for_api() {
  local i
  for i in $(seq 120); do
    kubectl --context "$context" get --raw /readyz >/dev/null 2>&1 && return 0
    [ $((i % 15)) -eq 0 ] && log "  … waiting for the API server (${i} s)"
    sleep 1
  done
  die "the API server of $context did not answer within 120 s"
}

"$scripts/docker-up.sh"
"$scripts/build-tools.sh"
"$scripts/build-k8s.sh"   # kubectl for this script and the tests, in both modes
ln -sf "$CACHE/k8s/$K8S_VERSION/bin/kubectl" "$CACHE/bin/kubectl"
guard_cluster_ranges

if cluster_exists && control_plane_lost; then
  log "cluster $CLUSTER_NAME lost its control plane (docker engine restarted): recreating it"
  kind delete cluster --name "$CLUSTER_NAME"
fi
image=$(node_image)
recipe=$(cluster_recipe "$image")
if cluster_exists && [ "$(cat "$created_from" 2>/dev/null)" != "$recipe" ]; then
  log "cluster $CLUSTER_NAME was made from another kind-config.yaml or node image: recreating it"
  kind delete cluster --name "$CLUSTER_NAME"
fi

if cluster_exists; then
  stopped=$(docker ps -a --filter "label=io.x-k8s.kind.cluster=$CLUSTER_NAME" --filter status=exited --format '{{.Names}}')
  if [ -n "$stopped" ]; then
    log "starting stopped nodes: $stopped"
    docker start $stopped >/dev/null
  fi
  kind export kubeconfig --name "$CLUSTER_NAME" >/dev/null 2>&1
  log "cluster $CLUSTER_NAME exists"
else
  log "creating cluster $CLUSTER_NAME from kind-config.yaml with $image"
  kind create cluster --name "$CLUSTER_NAME" --config "$REPO_DIR/kind-config.yaml" --image "$image" --wait 5m
  echo "$recipe" > "$created_from"
  [ "$image" != "$upstream_image" ] || load_own_images
fi

wait_for_api
log "waiting for every node to be Ready"
kubectl --context "$context" wait --for=condition=Ready nodes --all --timeout=300s >/dev/null
kubectl --context "$context" apply -k "$REPO_DIR/deploy/monitoring/metrics-server" >/dev/null
kubectl --context "$context" -n kube-system rollout status deployment/metrics-server --timeout=180s >/dev/null
kubectl --context "$context" apply -k "$REPO_DIR/deploy/network-policy" >/dev/null
kubectl --context "$context" -n kube-system rollout status daemonset/kube-network-policies --timeout=180s >/dev/null
# simulated nodes: KWOK_NODES=N sets how many; unset, those there stay (KWOK started again if it
# is not running, as after the cluster was re-created)
"$scripts/kwok.sh" "${KWOK_NODES:-$(kubectl --context "$context" get nodes -l kwok.x-k8s.io/node -o name | wc -l)}"
log "cluster $CLUSTER_NAME ready: kubectl --context $context get nodes"
kubectl --context "$context" get nodes -l '!kwok.x-k8s.io/node' -L topology.kubernetes.io/zone >&2
