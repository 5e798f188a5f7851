// Pins the upstream module the kube-state-metrics image is built from (see ../../images.list).
module kube-gameday/cluster/components/kube-state-metrics

go 1.24.0

require k8s.io/kube-state-metrics/v2 v2.15.0
