"""drain_completed and pdbs_disjoint: judge what a drain (actions.nodes.drain_node) recorded in
the journal."""

from core.verdict import Verdict, Window, inconclusive, judged, utc
from edge.kube import named_with_pdbs


def _failed_drain(check: str, record: dict, expected: str) -> Verdict | None:
    """Inconclusive when the drain action itself failed: it recorded no outcome to judge."""
    out = record.get("output")
    if record.get("status") == "succeeded" and isinstance(out, dict):
        return None
    return inconclusive(check, expected, f"the drain action failed: {record.get('exception') or out}",
                        _window(record), subject=record["activity"]["name"])


def _window(record: dict) -> Window:
    return Window(utc(record["start"]), utc(record["end"]))


def drain_completed(record: dict) -> Verdict:
    expected = "every evictable pod evicted, refusals retried"
    if failed := _failed_drain("drain_completed", record, expected):
        return failed
    out, window = record["output"], _window(record)
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


def pdbs_disjoint(record: dict) -> Verdict:
    """No pod of the drained namespace is under more than one PDB, on whichever node it runs: such a
    pod stops any drain of its node (the Eviction API refuses it), even if this drain missed it."""
    expected = "no pod selected by more than one PodDisruptionBudget"
    if failed := _failed_drain("pdbs_disjoint", record, expected):
        return failed
    out = record["output"]
    several, ns = out.get("pods_under_several_pdbs"), out.get("namespace", "?")
    if several is None:
        return inconclusive("pdbs_disjoint", expected, "the drain could not read the PDBs' pods", _window(record),
                            subject=ns)
    reason = (f"more than one PodDisruptionBudget selects {named_with_pdbs(several)}: the Eviction API refuses "
              "them, so a drain of any node running one cannot complete") if several else ""
    return judged("pdbs_disjoint", not several, expected, f"{len(several)} pod(s) under more than one PDB",
                  _window(record), several, reason=reason, subject=ns)
