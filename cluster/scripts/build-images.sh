#!/usr/bin/env bash
# build-images.sh [PREFIX]: builds every image of cluster/images.list (or those whose name starts
# with PREFIX) into the local docker engine, tagged with its upstream name, and prints
# "IMAGE ID" for each. An image whose inputs (binary, base, entrypoint) did not change is not
# rebuilt.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
scripts=$CLUSTER_DIR/scripts
prefix=${1:-}

"$scripts/build-rootfs.sh" base "$BASE_PACKAGES"
base=kube-gameday/base-rootfs:$DEBIAN_SUITE

# kubernetes' own pause.c, compiled static like upstream's image (needs gcc and libc6-dev)
build_pause() {
  local src out
  src="$(go env GOMODCACHE)/k8s.io/kubernetes@$K8S_VERSION/build/pause/linux/pause.c"
  out="$CACHE/go/pause-$PAUSE_VERSION/pause"
  if [ ! -x "$out" ]; then
    [ -e "$src" ] || (cd "$CLUSTER_DIR/k8s" && go mod download "k8s.io/kubernetes@$K8S_VERSION")
    mkdir -p "$(dirname "$out")"
    gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION-kube-gameday" -o "$out" "$src" \
      || die "compiling $src failed (apt-get install gcc libc6-dev)"
  fi
  echo "$out"
}

binary_for() { # binary_for SOURCE NAME
  case $1 in
    k8s/*) echo "$CACHE/k8s/$K8S_VERSION/bin/${1#k8s/}" ;;
    go/*) local spec=${1#go/}; "$scripts/build-go.sh" "${spec%%:*}" "${spec#*:}" "$2" ;;
    pause) build_pause ;;
    none) ;;
    *) die "images.list: unknown binary source '$1'" ;;
  esac
}

while read -r spec source entrypoint; do
  [[ -z $spec || $spec == \#* ]] && continue
  image=$(eval echo "$spec")
  [[ $image == "$prefix"* ]] || continue
  name=${image##*/}; name=${name%%:*}
  bin=$(binary_for "$source" "$name")
  from=$base; [ "$source" = pause ] && from=scratch
  key=$( {
    if [ -n "$bin" ]; then sha256sum < "$bin"; fi
    if [ "$from" != scratch ]; then docker image inspect -f '{{.Id}}' "$from"; fi
    echo "$entrypoint"
  } | sha256sum | cut -c1-16)
  if ! image_current "$image" "$key"; then
    ctx=$(mktemp -d)
    {
      echo "FROM $from"
      if [ -n "$bin" ]; then
        cp "$bin" "$ctx/$name"
        # the binary where the upstream image has it: its entrypoint, else /usr/local/bin
        dest=/usr/local/bin/$name; [ "$entrypoint" = - ] || dest=$entrypoint
        if [ "$from" = scratch ]; then echo "COPY $name /$name"; else echo "COPY $name $dest"; fi
      fi
      [ "$entrypoint" = - ] || echo "ENTRYPOINT [\"$entrypoint\"]"
      echo "LABEL kube-gameday.key=$key"
    } > "$ctx/Dockerfile"
    quiet docker build -q -t "$image" "$ctx" || die "docker build $image failed"
    rm -rf "$ctx"
    log "built image $image"
  fi
  echo "$image $(docker image inspect -f '{{.Id}}' "$image")"
done < "$CLUSTER_DIR/images.list"
