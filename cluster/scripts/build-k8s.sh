#!/usr/bin/env bash
# Builds kubeadm, kubelet, kubectl and the control-plane binaries from the k8s.io/kubernetes Go
# module (cluster/k8s/go.mod pins it) into the cache. Skips when the binaries are already there.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

out="$CACHE/k8s/$K8S_VERSION/bin"
read -ra cmds <<< "$K8S_COMMANDS"
if all_exist "$out" "${cmds[@]}"; then
  log "kubernetes $K8S_VERSION binaries cached in $out"
  exit 0
fi

cd "$CLUSTER_DIR/k8s"
grep -q "^require k8s.io/kubernetes $K8S_VERSION\$" go.mod ||
  die "cluster/k8s/go.mod does not pin K8S_VERSION=$K8S_VERSION: run cluster/scripts/pin-k8s.sh"
commit=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"Hash": "\(.*\)".*/\1/p')
minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
# kubeadm picks image tags from its own version: without these it would ask for v0.0.0 images.
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitCommit=$commit -X $pkg.gitTreeState=clean"
  ldflags+=" -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
done
log "building kubernetes $K8S_VERSION (${cmds[*]}) — ~25 min cold on 2 cores"
mkdir -p "$out.tmp"
start=$SECONDS
CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags "$ldflags" -o "$out.tmp/" \
  $(printf 'k8s.io/kubernetes/cmd/%s ' "${cmds[@]}") &
pid=$!
while kill -0 $pid 2>/dev/null; do sleep 30; log "  … still compiling kubernetes ($((SECONDS - start)) s)"; done
wait $pid
rm -rf "$out" && mv "$out.tmp" "$out"
log "kubernetes binaries built in $((SECONDS - start)) s"
