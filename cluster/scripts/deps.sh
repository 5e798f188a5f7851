#!/usr/bin/env bash
# Host packages the cluster build needs, from Debian, installed only when missing (idempotent).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need=()
for pkg in docker.io debootstrap gcc libc6-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v go >/dev/null || die "Go is required to build kind and the Kubernetes binaries (go 1.24 or newer)"
