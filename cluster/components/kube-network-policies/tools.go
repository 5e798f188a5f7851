//go:build tools

// Keeps the upstream command and its dependencies in go.mod/go.sum (go mod tidy, go mod vendor).
package tools

import _ "sigs.k8s.io/kube-network-policies/cmd"
