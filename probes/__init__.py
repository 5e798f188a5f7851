"""Functions experiments and tests call to judge a run: each returns a Verdict (verdict.py).
Fetching happens at the edge (prometheus.py); the judging is pure, over pandas frames."""
