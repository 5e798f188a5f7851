// Pins the upstream module the metrics-server image is built from (see ../../images.list).
module kube-gameday/cluster/components/metrics-server

go 1.26.4

require sigs.k8s.io/metrics-server v0.9.0
