"""Load for game days: locustfiles that read like the traffic, load shapes, the runner that starts
Locust in its own process, and SLO thresholds judged on what Locust measured."""
