// Pins the upstream module the etcd image is built from (see ../../images.list).
module kube-gameday/cluster/components/etcd

go 1.24.0

require go.etcd.io/etcd/server/v3 v3.6.5
