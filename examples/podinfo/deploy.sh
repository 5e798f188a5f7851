#!/usr/bin/env bash
# examples/podinfo/deploy.sh: the second stack under test, podinfo (github.com/stefanprodan/podinfo),
# deployed as its user would, in namespace podinfo of the kind cluster: built offline from its
# source module (go.mod here pins it), its own manifests (the module's kustomize/) applied unchanged
# under this folder's overlay (the image built here, a NodePort on 30100, a PodDisruptionBudget).
# Idempotent; waits until podinfo is available.
set -euo pipefail
source "$(dirname "$0")/../../cluster/scripts/lib.sh"
here=$REPO_DIR/examples/podinfo
context=${KUBE_CONTEXT:-kind-$CLUSTER_NAME}
module=github.com/stefanprodan/podinfo
k() { kubectl --context "$context" "$@"; }

src=$(cd "$here" && go mod download -json "$module" | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
podinfo=$("$CLUSTER_DIR/scripts/build-go.sh" ../examples/podinfo "$module/cmd/podinfo" podinfo)
podcli=$("$CLUSTER_DIR/scripts/build-go.sh" ../examples/podinfo "$module/cmd/podcli" podcli)
"$CLUSTER_DIR/scripts/build-rootfs.sh" base "$BASE_PACKAGES"
base=kube-gameday/base-rootfs:$DEBIAN_SUITE
# the image as upstream's Dockerfile lays it out: podinfo and its ui/ in /home/app, podcli on the PATH
image=kube-gameday/podinfo:$(basename "$src" | sed 's/.*-//')
key=$( { sha256sum < "$podinfo"; sha256sum < "$podcli"; docker image inspect -f '{{.Id}}' "$base"; } | sha256sum | cut -c1-16)
if ! image_current "$image" "$key"; then
  ctx=$(mktemp -d)
  cp "$podinfo" "$podcli" "$ctx/"
  cp -r "$src/ui" "$ctx/ui"
  cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM $base
COPY podcli /usr/local/bin/podcli
COPY podinfo /home/app/podinfo
COPY ui /home/app/ui
WORKDIR /home/app
USER 65534:65534
LABEL kube-gameday.key=$key
DOCKERFILE
  quiet docker build -q -t "$image" "$ctx" || die "docker build $image failed"
  rm -rf "$ctx"
  log "built image $image"
fi
load_image "$image"

# kustomize loads nothing from outside its root: the overlay beside a copy of the upstream manifests
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
cp -r "$here/overlay/." "$build/"
cp -r "$src/kustomize" "$build/upstream"
chmod -R u+w "$build"
printf 'images:\n  - {name: ghcr.io/stefanprodan/podinfo, newName: %s, newTag: %s}\n' "${image%:*}" "${image##*:}" \
  >> "$build/kustomization.yaml"
log "applying podinfo ($module, its kustomize/ manifests) to $context, namespace podinfo"
k apply -k "$build" >/dev/null
k -n podinfo rollout status deploy/podinfo --timeout=180s >&2 || die "podinfo not available after 180 s"
# its Deployment names no replicas: the HPA brings it to its minimum, which a game day starts from
min=$(k -n podinfo get hpa podinfo -o jsonpath='{.spec.minReplicas}')
deadline=$((SECONDS + 120))
until [ "$(k -n podinfo get deploy podinfo -o jsonpath='{.status.availableReplicas}')" -ge "$min" ] 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || die "podinfo: fewer than its HPA's $min replicas available after 120 s"
  log "  podinfo: waiting for the HPA's minimum ($min replicas)"
  sleep 5
done
log "deployed: podinfo http://127.0.0.1:30100"
