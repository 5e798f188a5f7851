"""kube-gameday: chaos and load validation for Kubernetes."""

__version__ = "0.1.0"
