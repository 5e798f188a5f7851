// Pins the upstream module the coredns image is built from (see ../../images.list).
module kube-gameday/cluster/components/coredns

go 1.24.0

require github.com/coredns/coredns v1.12.1
