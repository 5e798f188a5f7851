#!/usr/bin/env bash
# Builds the kind node image kube-gameday/node:$K8S_VERSION: node/Dockerfile, then every image of
# images.list imported into the node's containerd (unpacked later, on first use, as kind does).
# Rebuilds only when an input changed (files, binaries, or any preloaded image).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
scripts=$CLUSTER_DIR/scripts
node_image=kube-gameday/node:$K8S_VERSION

"$scripts/build-tools.sh"
"$scripts/build-k8s.sh"
"$scripts/build-rootfs.sh" node "$NODE_PACKAGES"
images=$("$scripts/build-images.sh")

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp -r "$CLUSTER_DIR/node/." "$ctx/"
sed -i "s/PODNET_TAG/$PODNET_VERSION/" "$ctx/files/kind/manifests/default-cni.yaml"
sed -i -e "s/LOCAL_PATH_PROVISIONER_VERSION/$LOCAL_PATH_PROVISIONER_VERSION/" -e "s/DEBIAN_SUITE/$DEBIAN_SUITE/" \
  "$ctx/files/kind/manifests/default-storage.yaml"
sed -i "s/PAUSE_VERSION/$PAUSE_VERSION/" "$ctx/files/etc/containerd/config.toml"
echo "$K8S_VERSION" > "$ctx/files/kind/version"
mkdir -p "$ctx/bin"
cp "$CACHE/k8s/$K8S_VERSION/bin/"{kubeadm,kubelet,kubectl} "$ctx/bin/"
cp "$("$scripts/build-go.sh" components/crictl sigs.k8s.io/cri-tools/cmd/crictl crictl)" "$ctx/bin/"
cp "$CACHE/bin/runc-bounded" "$ctx/bin/"
key=$( { (cd "$ctx" && find . -type f | sort | xargs sha256sum); docker image inspect -f '{{.Id}}' kube-gameday/node-rootfs:"$DEBIAN_SUITE"; echo "$images"; } | sha256sum | cut -c1-16)
if image_current "$node_image" "$key"; then
  log "node image $node_image is up to date"
  exit 0
fi

log "building node image $node_image"
quiet docker build -q -t kube-gameday/node-stage:"$key" "$ctx" || die "docker build of the node image failed"
cid=$(docker run -d --init --privileged --tmpfs /run --tmpfs /tmp --entrypoint sleep kube-gameday/node-stage:"$key" infinity)
trap 'docker rm -f "$cid" >/dev/null 2>&1; rm -rf "$ctx"' EXIT
docker exec "$cid" sh -c 'containerd > /tmp/containerd.log 2>&1 &'
for _ in $(seq 30); do docker exec "$cid" ctr version >/dev/null 2>&1 && break; sleep 1; done
while read -r image _; do
  docker save "$image" | docker exec -i "$cid" ctr --namespace=k8s.io images import \
    --no-unpack --all-platforms --digests - >/dev/null \
    || die "importing $image into the node image failed"
  log "  preloaded $image"
done <<< "$images"
docker exec "$cid" sh -c 'pkill containerd; while pgrep -x containerd >/dev/null; do sleep 0.2; done'
docker commit \
  --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' \
  --change "LABEL kube-gameday.key=$key" "$cid" "$node_image" >/dev/null
docker rm -f "$cid" >/dev/null
docker rmi kube-gameday/node-stage:"$key" >/dev/null
log "node image $node_image built ($(docker image inspect -f '{{.Size}}' "$node_image" | numfmt --to=iec))"
