#!/usr/bin/env bash
# Host tools of the cluster build: kind itself (kind's documented `go install`) and runc-bounded.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

mkdir -p "$CACHE/bin"
if [ "$(kind version 2>/dev/null | awk '{print $2}')" != "$KIND_VERSION" ]; then
  log "installing kind $KIND_VERSION (go install)"
  GOBIN="$CACHE/bin" go install "sigs.k8s.io/kind@$KIND_VERSION"
fi
cp "$("$CLUSTER_DIR/scripts/build-go.sh" runc-bounded kube-gameday/cluster/runc-bounded runc-bounded)" \
  "$CACHE/bin/runc-bounded.new"
mv "$CACHE/bin/runc-bounded.new" "$CACHE/bin/runc-bounded"
