// Pins the upstream module the alertmanager image is built from (see ../../images.list and
// ALERTMANAGER_VERSION in ../../versions.env).
module kube-gameday/cluster/components/alertmanager

go 1.24.0

require github.com/prometheus/alertmanager v0.31.1
