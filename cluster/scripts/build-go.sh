#!/usr/bin/env bash
# build-go.sh MODULE_DIR PACKAGE NAME [LDFLAGS]: builds one static binary NAME from the Go module
# in MODULE_DIR (a wrapper pinning an upstream module, or our own source) and prints its path.
# A module with an executable vendor-patch.sh is vendored and patched by it first. The output is
# cached under a hash of the module's files, so an unchanged module never rebuilds.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dir=$CLUSTER_DIR/$1 pkg=$2 name=$3 ldflags=${4:-}
hash=$(cd "$dir" && find . -type f | sort | xargs cat | { cat; echo "$ldflags"; } | sha256sum | cut -c1-12)
out="$CACHE/go/$(basename "$dir")-$hash/$name"
if [ ! -x "$out" ]; then
  log "building $pkg (from cluster/$1)"
  start=$SECONDS
  mkdir -p "$(dirname "$out")"
  if [ -x "$dir/vendor-patch.sh" ]; then
    # a module patched before it builds: vendored into a scratch copy (the module cache is
    # read-only), patched there by the module's vendor-patch.sh
    src=$(mktemp -d)
    cp -r "$dir/." "$src/"
    (cd "$src" && go mod vendor && "$dir/vendor-patch.sh" "$src/vendor") \
      || { rm -rf "$src"; die "vendoring or patching $pkg failed (cluster/$1/vendor-patch.sh)"; }
    (cd "$src" && CGO_ENABLED=0 go build -mod=vendor -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg") \
      || { rm -rf "$src"; die "go build $pkg failed (module cluster/$1, patched)"; }
    rm -rf "$src"
  else
    (cd "$dir" && CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg") \
      || die "go build $pkg failed (module cluster/$1)"
  fi
  mv "$out.tmp" "$out"
  log "built $name in $((SECONDS - start)) s"
fi
echo "$out"
