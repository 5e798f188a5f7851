# Shared settings of the cluster build. The versions live in cluster/versions.env, in one place.
# a failing step inside $(...) fails the script too, and every failure says where it happened
shopt -s inherit_errexit
set -E
on_error() {
  local rc=$? line=$1 cmd=$2
  printf '[%s] ERROR: exit %s at %s:%s: %s\n' "$(date -u +%H:%M:%S)" "$rc" \
    "$(basename "${BASH_SOURCE[1]:-$0}")" "$line" "$cmd" >&2
}
trap 'on_error "$LINENO" "$BASH_COMMAND"' ERR
CLUSTER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(dirname "$CLUSTER_DIR")
set -a
source "$CLUSTER_DIR/versions.env"
set +a
CACHE=${KUBE_GAMEDAY_CACHE:-$HOME/.cache/kube-gameday}
# the binaries built from k8s.io/kubernetes (cmd/NAME)
K8S_COMMANDS="kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
export PATH="$CACHE/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin:$PATH"

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# image_current IMAGE KEY: true when IMAGE exists and was built from inputs hashing to KEY
# (every image we build carries its inputs' hash as the label kube-gameday.key)
image_current() {
  [ "$(docker image inspect -f '{{index .Config.Labels "kube-gameday.key"}}' "$1" 2>/dev/null)" = "$2" ]
}

# all_exist DIR NAME...: true when every DIR/NAME is present
all_exist() {
  local dir=$1; shift
  for f in "$@"; do [ -e "$dir/$f" ] || return 1; done
}

# quiet CMD...: runs CMD, shows its output only when it fails (docker build's legacy-builder
# banner would otherwise bury the progress lines)
quiet() {
  local out
  out=$("$@" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
}

# load_image IMAGE [NODE...]: kind-loads a locally built image into the nodes (default: all) that
# lack this very image ID (a rebuild under the same tag included)
load_image() {
  local image=$1 id node nodes
  shift
  id=$(docker image inspect -f '{{.Id}}' "$image")
  nodes=${*:-$(kind get nodes --name "$CLUSTER_NAME" 2>/dev/null)}
  for node in $nodes; do
    if ! docker exec "$node" crictl inspecti -q "$image" 2>/dev/null | grep -q "${id#sha256:}"; then
      log "loading $image into $node"
      quiet kind load docker-image --name "$CLUSTER_NAME" --nodes "$node" "$image" ||
        die "kind load of $image into $node failed"
    fi
  done
}

# project_version: pyproject.toml's version, the tag of the images built from this repository
project_version() {
  python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' "$REPO_DIR/pyproject.toml"
}
