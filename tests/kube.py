"""Helpers of the cluster tests: kubectl and docker against the kind cluster, polling."""

import os
import re
import subprocess

CONTEXT = os.environ.get("KUBE_CONTEXT", "kind-gameday")
# what a leaked credential looks like: a ServiceAccount token, kubeconfig key material, a bearer header
CREDENTIALS = re.compile(r"eyJhbGciOi|client-key-data|client-certificate-data|BEGIN [A-Z ]*PRIVATE KEY|Bearer [A-Za-z0-9._-]{20,}")


def kubectl(*args, input=None, check=True):
    """kubectl against the test context; returns stdout."""
    proc = subprocess.run(
        ["kubectl", "--context", CONTEXT, *args],
        input=input, capture_output=True, text=True, timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def docker(*args):
    """docker CLI; returns stdout (the kind nodes are docker containers)."""
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()
