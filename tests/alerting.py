"""The test-only alert rule the delivery tests switch on and off. The rule keeps its name and
group; only its expression turns true or never-true. So Prometheus carries the alert's state over
the reload and sends a resolved notification when it turns off (a deleted rule would just vanish
and resolve minutes later, by Alertmanager's timeout)."""

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
