#!/usr/bin/env bash
# Makes sure a Docker engine answers. When none runs (these VMs have no systemd), starts dockerd in
# the background with runc-bounded as its default runtime when this machine's capability bounding
# set is short (see cluster/runc-bounded), so that kind's --privileged nodes can start.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if docker info >/dev/null 2>&1; then
  log "docker engine is running"
  exit 0
fi
command -v dockerd >/dev/null || die "dockerd not found: run 'make cluster-deps' (apt-get install docker.io)"

state="$CACHE/docker"
mkdir -p "$state"
runtime="$CACHE/bin/runc-bounded"
if [ "$(awk '/^CapBnd/ {print $2}' /proc/self/status)" != 000001ffffffffff ]; then
  [ -x "$runtime" ] || "$CLUSTER_DIR/scripts/build-tools.sh"
  printf '{"runtimes": {"runc-bounded": {"path": "%s"}}, "default-runtime": "runc-bounded"}\n' \
    "$runtime" > "$state/daemon.json"
  log "capability bounding set is short: dockerd will run containers through $runtime"
else
  echo '{}' > "$state/daemon.json"
fi
log "starting dockerd (log: $state/dockerd.log)"
setsid dockerd --config-file "$state/daemon.json" >>"$state/dockerd.log" 2>&1 < /dev/null &
for _ in $(seq 60); do
  docker info >/dev/null 2>&1 && { log "docker engine is up"; exit 0; }
  sleep 1
done
tail -20 "$state/dockerd.log" >&2
die "dockerd did not answer on /var/run/docker.sock within 60 s (log: $state/dockerd.log)"
