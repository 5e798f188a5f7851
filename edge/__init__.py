"""The suite's edge: where it meets processes, files, the Kubernetes API and Prometheus."""
