"""Replicas for a target request rate, from a capacity model: probes.capacity fits one in a
step-load run (requests/s one replica serves at its HPA's CPU target, and the Deployment's share
of the entry rate) and keeps it in that run's capacity_for_target verdict. The same sizing judges
maxReplicas there and sizes a scaled copy on simulated nodes (actions.scaled_copy) here: is the
cluster big enough for the target with a zone lost."""

import math


def replicas_with_a_zone_lost(needed: int, zones: int) -> int | None:
    """The fewest pods, spread evenly over `zones`, that leave `needed` when the zone holding the
    most of them is lost; None in a single zone (losing it loses everything)."""
    if zones < 2:
        return None
    n = needed
    while n - math.ceil(n / zones) < needed:
        n += 1
    return n


def replicas_for(target_rps: float, fanout: float, per_replica: float, zones: int) -> dict:
    needed = max(1, math.ceil(target_rps * fanout / per_replica)) if per_replica > 0 else None
    return {"needed": needed, "zone_lost": replicas_with_a_zone_lost(needed, zones) if needed else None}


def replicas_at_target(models: dict[str, dict], target_rps: float, zones: int) -> dict[str, int]:
    """Per Deployment the model could size (capacity_for_target's details["deployments"]), the
    replicas `target_rps` needs with one of `zones` lost. A Deployment the model left out (its work
    does not follow the entry rate, or no line fits) is not in it: its size is not the model's to say."""
    sized = {}
    for deployment, model in models.items():
        if (model.get("rps_per_replica") or 0) > 0 and model.get("fanout") is not None:
            replicas = replicas_for(target_rps, model["fanout"], model["rps_per_replica"], zones)["zone_lost"]
            if replicas:
                sized[deployment] = replicas
    return sized
