#!/usr/bin/env bash
# python-image.sh IMAGE DEPS MODULE DIR...: builds IMAGE offline from the Debian base of the pod
# images (with python3), the Python dependencies pyproject.toml lists under DEPS (an extra, e.g.
# `service`, or `project` for the suite's own dependencies), and the repository's DIRs; the
# image runs `python3 -m MODULE`. Dependencies are fetched on the host (pip wheel) and installed
# only if they fit the image's own python3 and glibc: a wheel built for the host's interpreter
# never slips in. Rebuilt only when an input changed. Prints nothing; the caller loads the image.
set -euo pipefail
source "$(dirname "$0")/../../cluster/scripts/lib.sh"
image=$1 deps=$2 module=$3; shift 3
# ROOTFS=NAME ROOTFS_EXTRA=PACKAGES: a rootfs of its own, the base packages and these (the agent's stress-ng)
rootfs=${ROOTFS:-base}
"$CLUSTER_DIR/scripts/build-rootfs.sh" "$rootfs" "$BASE_PACKAGES${ROOTFS_EXTRA:+,$ROOTFS_EXTRA}"
base=kube-gameday/$rootfs-rootfs:$DEBIAN_SUITE

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
python3 - "$REPO_DIR/pyproject.toml" "$deps" > "$ctx/requirements.txt" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
print("\n".join(project["dependencies"] if sys.argv[2] == "project" else project["optional-dependencies"][sys.argv[2]]))
PY
mkdir -p "$ctx/app"
for dir in "$@"; do cp -r "$REPO_DIR/$dir" "$ctx/app/$dir"; done
find "$ctx/app" -name __pycache__ -prune -exec rm -rf {} +
key=$( { cat "$ctx/requirements.txt"; echo "$module"; (cd "$ctx/app" && find . -type f | sort | xargs cat);
         docker image inspect -f '{{.Id}}' "$base"; } | sha256sum | cut -c1-16)
image_current "$image" "$key" && exit 0

log "building $image"
# the suite's virtualenv (make setup) has pip; a bare Debian python3 may not
pip_python=$REPO_DIR/.venv/bin/python
[ -x "$pip_python" ] || pip_python=python3
# the image's interpreter and C library decide which wheels may go in
read -r pyver glibc < <(docker run --rm --entrypoint python3 "$base" -c \
  'import platform, sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}", platform.libc_ver()[1].replace(".", "_"))')
quiet "$pip_python" -m pip wheel --prefer-binary -w "$ctx/wheels" -r "$ctx/requirements.txt" \
  || die "pip could not fetch $image's dependencies ($ctx/requirements.txt)"
# every manylinux tag up to the image's glibc (pip does not widen an explicit --platform by itself)
platforms=()
for minor in $(seq 5 "${glibc#2_}"); do platforms+=(--platform "manylinux_2_${minor}_$(uname -m)"); done
quiet "$pip_python" -m pip install --root-user-action=ignore --no-index --find-links "$ctx/wheels" --only-binary=:all: --no-compile \
  --python-version "$pyver" --implementation cp "${platforms[@]}" --platform "manylinux2014_$(uname -m)" \
  --target "$ctx/site" -r "$ctx/requirements.txt" \
  || die "a dependency of $image has no wheel for the image's python $pyver / glibc ${glibc//_/.}"
rm -rf "$ctx/wheels"
cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM $base
COPY site /opt/kube-gameday/site
COPY app /opt/kube-gameday/app
ENV PYTHONPATH=/opt/kube-gameday/site:/opt/kube-gameday/app PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /opt/kube-gameday/app
USER 65534:65534
ENTRYPOINT ["python3", "-m", "$module"]
LABEL kube-gameday.key=$key
DOCKERFILE
quiet docker build -q -t "$image" "$ctx" || die "docker build $image failed"
