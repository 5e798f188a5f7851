"""Rules of the tests' own in the cluster's Prometheus (its run-time rule directory, reloaded),
and the one the delivery tests switch on and off. That rule keeps its name and group; only its
expression turns true or never-true. So Prometheus carries the alert's state over the reload and
sends a resolved notification when it turns off (a deleted rule would just vanish and resolve
minutes later, by Alertmanager's timeout)."""

import requests

from edge.stack import load_stack
from tests.kube import kubectl

SWITCH_ALERT = "GamedayTestDeliverySwitch"
SWITCH_RULE_FILE = "gameday-test-switch.yaml"


def switch_rule(on: bool) -> str:
    expr = "vector(1)" if on else "vector(1) < 0"
    return f"""groups:
  - name: test-only-delivery
    rules:
      - alert: {SWITCH_ALERT}
        expr: {expr}
        labels: {{severity: none, purpose: delivery-test}}
"""


def set_extra_rule(name: str, text: str | None) -> None:
    """Writes the rule file `name` into the cluster Prometheus's run-time rule directory (None:
    removes it), then reloads Prometheus."""
    path = f"/etc/prometheus/extra-rules/{name}"
    kubectl("-n", "monitoring", "exec", "-i", "deploy/prometheus", "--", "sh", "-c",
            f"cat > {path}" if text is not None else f"rm -f {path}", input=text)
    requests.post(f"{load_stack().prometheus_url}/-/reload", timeout=10).raise_for_status()
