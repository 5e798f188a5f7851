#!/usr/bin/env bash
# vendor-patch.sh VENDOR_DIR: run by build-go.sh after `go mod vendor`. The kernels here have no
# nft_queue (CONFIG_NFT_QUEUE unset), so kube-network-policies' `queue` rules fail to load
# ("Operation not supported"); its three queue expressions become the xtables NFQUEUE target,
# which nft_compat runs with the same meaning (nfqueue_compat.go.in).
set -euo pipefail
pkg=$1/sigs.k8s.io/kube-network-policies/pkg/networkpolicy
cp "$(dirname "$0")/nfqueue_compat.go.in" "$pkg/nfqueue_compat.go"
sed -i \
  -e 's|&expr.Queue{Num: uint16(c.config.QueueID)}|nfqueueTarget(uint16(c.config.QueueID), c.config.FailOpen)|' \
  -e '/queue.Flag = expr.QueueFlagBypass/d' \
  "$pkg/controller.go"
sed -i -e 's|&expr.Queue{Num: uint16(n.nfQueueID), Flag: expr.QueueFlagBypass}|nfqueueTarget(uint16(n.nfQueueID), true)|' \
  "$pkg/dnsagent.go"
# every queue expression replaced, or the build is not what this script says
! grep -n 'expr.Queue' "$pkg"/*.go
