// Pins the upstream module the prometheus image is built from (see ../../images.list).
// Debian's prometheus package is built without Kubernetes service discovery.
module kube-gameday/cluster/components/prometheus

go 1.24.0

require github.com/prometheus/prometheus v0.307.3
