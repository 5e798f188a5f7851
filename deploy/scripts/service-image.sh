#!/usr/bin/env bash
# Builds the reference service's image, kube-gameday/service:VERSION, offline: the Debian base of
# the pod images (with python3), the service's pure-Python dependencies (pyproject.toml's
# [service] extra, installed on the host with pip --target), and service/. Loads it into the kind
# nodes when they do not hold this very image yet. Prints the image name.
set -euo pipefail
source "$(dirname "$0")/../../cluster/scripts/lib.sh"

version=$(python3 -c 'import tomllib; print(tomllib.load(open("'"$REPO_DIR"'/pyproject.toml", "rb"))["project"]["version"])')
image=kube-gameday/service:$version
"$CLUSTER_DIR/scripts/build-rootfs.sh" base "$BASE_PACKAGES"
base=kube-gameday/base-rootfs:$DEBIAN_SUITE

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
python3 -c 'import tomllib; print("\n".join(tomllib.load(open("'"$REPO_DIR"'/pyproject.toml", "rb"))["project"]["optional-dependencies"]["service"]))' > "$ctx/requirements.txt"
mkdir -p "$ctx/app"
cp -r "$REPO_DIR/service" "$ctx/app/service"
find "$ctx/app" -name __pycache__ -prune -exec rm -rf {} +
key=$( { cat "$ctx/requirements.txt"; (cd "$ctx/app" && find . -type f | sort | xargs cat); docker image inspect -f '{{.Id}}' "$base"; } | sha256sum | cut -c1-16)

if ! image_current "$image" "$key"; then
  log "building $image"
  # pure-Python wheels only: they run on the image's Debian python3 whatever the host's is
  python3 -m pip install -q --only-binary=:all: --no-compile --target "$ctx/site" -r "$ctx/requirements.txt" \
    || die "pip could not fetch the service's dependencies ($ctx/requirements.txt)"
  cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM $base
COPY site /opt/service/site
COPY app /opt/service/app
ENV PYTHONPATH=/opt/service/site:/opt/service/app PYTHONUNBUFFERED=1
USER 65534:65534
EXPOSE 8080
ENTRYPOINT ["python3", "-m", "service"]
LABEL kube-gameday.key=$key
DOCKERFILE
  quiet docker build -q -t "$image" "$ctx" || die "docker build $image failed"
fi

load_image "$image"
echo "$image"
