#!/usr/bin/env bash
# Builds the node agent's image, kube-gameday/agent:VERSION (agent/ and what it imports, with the
# kubernetes client, on a rootfs with the tools its faults bring: $AGENT_PACKAGES), and loads it on
# every node: a host fault can hit any worker. Prints the image name.
set -euo pipefail
source "$(dirname "$0")/../../cluster/scripts/lib.sh"
image=kube-gameday/agent:$(project_version)
ROOTFS=agent ROOTFS_EXTRA=$AGENT_PACKAGES "$REPO_DIR/deploy/scripts/python-image.sh" "$image" agent agent agent core edge
load_image "$image"
echo "$image"
