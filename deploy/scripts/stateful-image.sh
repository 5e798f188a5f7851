#!/usr/bin/env bash
# Builds the stateful tier's image, kube-gameday/stateful:VERSION: Debian's PostgreSQL 15, Patroni,
# Redis 7 and the Redis exporter ($STATEFUL_PACKAGES) on the pods' Debian base, nothing else: the
# manifests (deploy/stack/postgres.yaml, redis.yaml) configure them. Loads it on every node.
# Prints the image name.
set -euo pipefail
source "$(dirname "$0")/../../cluster/scripts/lib.sh"
image=kube-gameday/stateful:$(project_version)
"$CLUSTER_DIR/scripts/build-rootfs.sh" stateful "$BASE_PACKAGES,$STATEFUL_PACKAGES"
base=kube-gameday/stateful-rootfs:$DEBIAN_SUITE
key=$(docker image inspect -f '{{.Id}}' "$base" | sha256sum | cut -c1-16)
if ! image_current "$image" "$key"; then
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  # the package's own cluster (/var/lib/postgresql/15/main) is never used: Patroni initialises
  # its data directory on the pod's volume
  cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM $base
RUN rm -rf /var/lib/postgresql/15 /etc/postgresql/15
LABEL kube-gameday.key=$key
DOCKERFILE
  quiet docker build -q -t "$image" "$ctx" || die "docker build $image failed"
  log "built image $image"
fi
load_image "$image"
echo "$image"
