#!/usr/bin/env bash
# Builds the suite's own image, kube-gameday/runner:VERSION, for game days run from inside the
# cluster (deploy/runner): the suite's packages, experiments and its pinned dependencies; the
# entrypoint is the `gameday` command line. Loads it into the control-plane node only, where the
# runner is pinned (a game day must not drain or stop the node its own runner is on). Prints the
# image name.
set -euo pipefail
source "$(dirname "$0")/../../cluster/scripts/lib.sh"
image=kube-gameday/runner:$(project_version)
# the suite's top-level packages as pyproject.toml lists them (their folders hold the
# subpackages; the service under test has its own image)
packages=$(python3 -c 'import sys, tomllib; print(" ".join(p for p in tomllib.load(open(sys.argv[1], "rb"))
  ["tool"]["setuptools"]["packages"] if p != "service" and "." not in p))' "$REPO_DIR/pyproject.toml")
# shellcheck disable=SC2086
"$REPO_DIR/deploy/scripts/python-image.sh" "$image" project gameday.cli experiments $packages
load_image "$image" "$CLUSTER_NAME-control-plane"
echo "$image"
