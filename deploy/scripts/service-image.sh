#!/usr/bin/env bash
# Builds the reference service's image, kube-gameday/service:VERSION (pyproject.toml's version):
# service/ and its `service` extra; loads it into the kind nodes when they do not hold this very
# image yet. Prints the image name.
set -euo pipefail
source "$(dirname "$0")/../../cluster/scripts/lib.sh"
image=kube-gameday/service:$(project_version)
"$REPO_DIR/deploy/scripts/python-image.sh" "$image" service service service
load_image "$image"
echo "$image"
