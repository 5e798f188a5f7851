module kube-gameday/cluster/runc-bounded

go 1.24
