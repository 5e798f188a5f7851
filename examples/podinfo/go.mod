// Pins the upstream module of the second stack under test, podinfo (examples/podinfo/README.md):
// its binaries and its own Kubernetes manifests (kustomize/) come from this module's source.
module kube-gameday/examples/podinfo

go 1.26.4

require github.com/stefanprodan/podinfo v1.8.1-0.20250910200901-e86405a8674e
