// Pins the upstream module crictl (in the node image, for `kind load`) is built from.
module kube-gameday/cluster/components/crictl

go 1.24.1

require sigs.k8s.io/cri-tools v1.34.0

require (
	k8s.io/api v0.34.10 // indirect
	k8s.io/apimachinery v0.34.10 // indirect
	k8s.io/client-go v0.34.10 // indirect
	k8s.io/component-base v0.34.10 // indirect
	k8s.io/cri-api v0.34.10 // indirect
	k8s.io/cri-client v0.34.10 // indirect
	k8s.io/kubectl v0.34.10 // indirect
)
