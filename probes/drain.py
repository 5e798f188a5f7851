"""drain_completed: judges what a drain (actions.nodes.drain_node) recorded in the journal."""

from core.verdict import Verdict, Window, inconclusive, judged, utc


def drain_completed(record: dict) -> Verdict:
    window = Window(utc(record["start"]), utc(record["end"]))
    out, expected = record.get("output"), "every evictable pod evicted, refusals retried"
    if record.get("status") != "succeeded" or not isinstance(out, dict):
        return inconclusive("drain_completed", expected, f"the drain action failed: {record.get('exception') or out}",
                            window, subject=record["activity"]["name"])
    node = out["node"]
    observed = (f"{len(out['evicted'])} pod(s) evicted in {out['duration_s']} s, "
                f"{out['refused_evictions']} eviction(s) refused and retried")
    if out["completed"]:
        return judged("drain_completed", True, expected, observed, window, out, subject=node)
    blocked = out.get("blocked_by_several_pdbs") or []
    why = out.get("why_left") or {}
    reason = (f"{', '.join(blocked)}: selected by more than one PodDisruptionBudget, which the Eviction "
              "API refuses (so would kubectl drain)" if blocked else
              "still there at the timeout: " + "; ".join(f"{pod} ({why.get(pod, 'no reason recorded')})" for pod in out["left"]))
    return judged("drain_completed", False, expected, f"{observed}; {len(out['left'])} pod(s) left", window, out,
                  reason=reason, subject=node)
