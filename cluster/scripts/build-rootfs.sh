#!/usr/bin/env bash
# build-rootfs.sh NAME PACKAGES: debootstraps a Debian bookworm rootfs with PACKAGES and imports it
# as the local image kube-gameday/NAME-rootfs:bookworm. The tarball is cached; a second call only
# re-imports it when the image was removed.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

name=$1 packages=$2
image="kube-gameday/$name-rootfs:$DEBIAN_SUITE"
tarball="$CACHE/rootfs/$name-$DEBIAN_SUITE-$(echo "$packages" | md5sum | cut -c1-8).tar"
if docker image inspect "$image" >/dev/null 2>&1 && [ -e "$tarball" ]; then
  log "$image present"
  exit 0
fi
if [ ! -e "$tarball" ]; then
  mkdir -p "$CACHE/rootfs"
  dir=$(mktemp -d "$CACHE/rootfs/$name.XXXX")
  trap 'rm -rf "$dir"' EXIT
  log "debootstrap $name rootfs ($DEBIAN_SUITE, minbase + $packages) — ~2-3 min"
  debootstrap --variant=minbase --include="$packages" "$DEBIAN_SUITE" "$dir" "$DEBIAN_MIRROR" \
    > "$dir.log" 2>&1 || { tail -20 "$dir.log" >&2; die "debootstrap failed (log: $dir.log)"; }
  # apt lists and caches only make the image larger
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  rm -f "$dir.log"
fi
docker import "$tarball" "$image" >/dev/null
log "imported $image"
