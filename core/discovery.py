"""What `gameday init NAMESPACE` guesses of a stack from its live objects: the entry (the Service
reached from outside, and the Deployment behind it), the objects by role, the lists the sampler
watches, the traffic's paths. Pure: the objects come as the API serves them (dicts, camelCase).
Every guess comes with the reason for it; what cannot be read from objects (the SLOs, the URL the
entry is reached at from this machine) is written for the user to confirm, and said so.
"""

from dataclasses import dataclass, field

from core.weak_spots import Namespace, hpa_of, matches

EXPOSED = ("NodePort", "LoadBalancer")


@dataclass
class Guess:
    values: dict                                       # the stack file's fields
    reasons: list[str] = field(default_factory=list)   # one line per guess: what, and why
    confirm: list[str] = field(default_factory=list)   # what the user must look at before a game day


def _names(objects: list[dict], kind: str | None = None) -> list[str]:
    return [o["metadata"]["name"] for o in objects if kind is None or o.get("kind") == kind]


def _backs(service: dict, workload: dict) -> bool:
    """The Service's selector picks the workload's pods."""
    selector = service["spec"].get("selector")
    labels = workload["spec"]["template"]["metadata"].get("labels") or {}
    return bool(selector) and matches(labels, {"matchLabels": selector})


def _http_port(service: dict) -> dict | None:
    ports = service["spec"].get("ports") or []
    return next((p for p in ports if "http" in (p.get("name") or "")), ports[0] if ports else None)


def entry_service(services: list[dict], ingressed: set[str]) -> tuple[dict | None, str]:
    """The Service clients reach: one exposed on a node port (or a load balancer), else one an
    Ingress routes to; the reason it was picked."""
    exposed = [s for s in services if s["spec"].get("type") in EXPOSED]
    if exposed:
        return exposed[0], f"Service {exposed[0]['metadata']['name']} is the namespace's {exposed[0]['spec']['type']}"
    routed = [s for s in services if s["metadata"]["name"] in ingressed]
    if routed:
        return routed[0], f"an Ingress routes to Service {routed[0]['metadata']['name']}"
    if services:
        return services[0], (f"no Service is exposed outside the cluster: Service {services[0]['metadata']['name']} "
                             "taken as the entry")
    return None, "the namespace has no Service"


def ingress_backends(ingresses: list[dict]) -> set[str]:
    return {path["backend"]["service"]["name"] for ing in ingresses for rule in ing["spec"].get("rules") or []
            for path in (rule.get("http") or {}).get("paths") or [] if "service" in path.get("backend", {})}


def guess_stack(context: str, namespace: str, ns: Namespace, services: list[dict], ingresses: list[dict],
                prometheus_url: str) -> Guess:
    deployments = [w for w in ns.workloads if w["kind"] == "Deployment"]
    guess = Guess({"name": namespace, "kube_context": context, "namespace": namespace,
                   "deployments": _names(deployments), "hpas": _names(ns.hpas), "pdbs": _names(ns.pdbs),
                   "services": _names(services)})
    service, why = entry_service(services, ingress_backends(ingresses))
    guess.reasons.append(f"entry: {why}")
    entry = next((d for d in deployments if service and _backs(service, d)), None)
    guess.values["urls"] = {"entry": _entry_url(service, guess), "prometheus": prometheus_url}
    roles = {}
    if entry:
        roles["entry"] = entry["metadata"]["name"]
        guess.reasons.append(f"roles.entry: Deployment {roles['entry']} runs the pods Service "
                             f"{service['metadata']['name']} selects")
        hpa = hpa_of(entry, ns.hpas)
        if hpa:
            roles["scaled"] = hpa["metadata"]["name"]
            guess.reasons.append(f"roles.scaled: HPA {roles['scaled']} scales the entry Deployment")
        labels = entry["spec"]["template"]["metadata"].get("labels") or {}
        pdb = next((p for p in ns.pdbs if p["spec"].get("selector") is not None
                    and matches(labels, p["spec"]["selector"])), None)
        if pdb:
            roles["budgeted"] = pdb["metadata"]["name"]
            guess.reasons.append(f"roles.budgeted: PDB {roles['budgeted']} guards the entry Deployment's pods")
    else:
        guess.confirm.append("roles: no Deployment runs the entry Service's pods; name roles.entry by hand")
    for role, kind in (("scaled", "an HPA"), ("budgeted", "a PodDisruptionBudget")):
        if role not in roles and entry:
            guess.reasons.append(f"roles.{role}: none: no {kind} for the entry Deployment "
                                 f"(the game days that need it refuse this stack until one is named)")
    guess.values["roles"] = roles
    stateful = _names(ns.workloads, "StatefulSet")
    if stateful:
        guess.reasons.append(f"StatefulSets {', '.join(stateful)}: not listed (a stack file names Deployments; the "
                             "sampler and the guardrails watch those)")
    if entry and not all(c.get("readinessProbe") for c in entry["spec"]["template"]["spec"].get("containers") or []):
        guess.confirm.append(f"Deployment {entry['metadata']['name']}: a container without a readiness probe takes "
                             "traffic before it can serve: failover verdicts will see its errors (gameday check)")
    guess.values["load"] = {"paths": ["/"]}
    guess.reasons.append("load: no locustfile: GETs spread over load.paths (only / known; name your own "
                         "locustfile or more paths)")
    guess.values["slo"] = {"objectives": ["p95 < 1s", "error_ratio < 1%"],
                           "server_selector": f'namespace="{namespace}"'}
    guess.confirm.append("slo.objectives: p95 < 1s and error_ratio < 1% are placeholders, not your SLOs")
    return guess


def _entry_url(service: dict | None, guess: Guess) -> str:
    port = _http_port(service) if service else None
    if port and port.get("nodePort"):
        guess.confirm.append(f"urls.entry: node port {port['nodePort']} of Service {service['metadata']['name']} "
                             "assumed reachable on 127.0.0.1 (a kind port mapping); the load goes to loopback only")
        return f"http://127.0.0.1:{port['nodePort']}"
    guess.confirm.append("urls.entry: the entry is not on a node port: reach it on 127.0.0.1 (kubectl "
                         "port-forward, a kind port mapping) and write that URL")
    return "http://127.0.0.1:8080"
