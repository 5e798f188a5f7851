#!/usr/bin/env bash
# build-go.sh MODULE_DIR PACKAGE NAME [LDFLAGS]: builds one static binary NAME from the Go module
# in MODULE_DIR (a wrapper pinning an upstream module, or our own source) and prints its path.
# The output is cached under a hash of the module's files, so an unchanged module never rebuilds.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dir=$CLUSTER_DIR/$1 pkg=$2 name=$3 ldflags=${4:-}
hash=$(cd "$dir" && find . -type f | sort | xargs cat | { cat; echo "$ldflags"; } | sha256sum | cut -c1-12)
out="$CACHE/go/$(basename "$dir")-$hash/$name"
if [ ! -x "$out" ]; then
  log "building $pkg (from cluster/$1)"
  start=$SECONDS
  mkdir -p "$(dirname "$out")"
  (cd "$dir" && CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg") \
    || die "go build $pkg failed (module cluster/$1)"
  mv "$out.tmp" "$out"
  log "built $name in $((SECONDS - start)) s"
fi
echo "$out"
