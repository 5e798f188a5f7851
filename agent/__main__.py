"""python -m agent --fault NAME --lease NAME --deadline-s S --lease-s S [--spec JSON]
python -m agent --fault NAME --lease NAME --revert-only [--spec JSON]

Applies one host fault (agent.faults), with what the runner knows it needs (--spec), on the node
this pod runs on, then reverts it at the first of:
its deadline, a revert the runner asks for on the Lease, the Lease deleted, the Lease left
unrenewed for lease-s (timed by this pod's own clock: no skew with the runner's), or SIGTERM.
States go to the Lease's annotations (core.agents) and, for a reader that finds the Lease gone,
to the pod's termination message. Exit 0: reverted (or never applied); 3: refused by the node.

--revert-only: a cleanup agent, for a fault whose agent is gone (SIGKILLed, OOM-killed, its pod
force-deleted) and left the fault behind: it reverts what that agent applied (the same Lease, so
the same tag), reports `reverted` on the Lease, and exits."""

import argparse
import json
import logging
import signal
import sys
import time
from datetime import datetime, timezone

from kubernetes import client

from agent.faults import FAULTS
from agent.host import HostError
from core import agents as protocol
from edge.kube import API_ERRORS, IN_CLUSTER, api_client

log = logging.getLogger("agent")
TICK_S = 1.0
TERMINATION_LOG = "/dev/termination-log"


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


class Lease:
    """The agent's side of its Lease: read it, report a state on it. The API being unreachable
    must never stop a revert: a failed report is logged and the fault's handling goes on."""

    def __init__(self, name: str):
        self.name, self.api = name, client.CoordinationV1Api(api_client(IN_CLUSTER))

    def read(self) -> client.V1Lease | None:
        """The Lease, None if deleted; API_ERRORS propagate (cannot tell)."""
        try:
            return self.api.read_namespaced_lease(self.name, protocol.NAMESPACE)
        except client.ApiException as err:
            if err.status == 404:
                return None
            raise

    def report(self, **annotations: str) -> None:
        try:
            self.api.patch_namespaced_lease(self.name, protocol.NAMESPACE, {"metadata": {"annotations": annotations}})
        except API_ERRORS as err:
            log.warning("could not report %s on lease %s: %s", annotations, self.name, err)


def why_revert(lease: Lease, deadline: float, lease_s: float, stopped: list[str]) -> str:
    """Waits while the fault should stay; returns why it must go."""
    last_renewal, renewed_at = None, time.monotonic()
    while True:
        if stopped:
            return stopped[0]
        if time.monotonic() >= deadline:
            return "deadline reached"
        try:
            current = lease.read()
        except API_ERRORS as err:
            current = False  # cannot tell: no renewal seen
            log.warning("lease %s unreadable: %s", lease.name, err)
        if current is None:
            return "lease deleted"
        if current:
            if (current.metadata.annotations or {}).get(protocol.REVERT):
                return "revert requested by the runner"
            if current.spec.renew_time != last_renewal:
                last_renewal, renewed_at = current.spec.renew_time, time.monotonic()
        if time.monotonic() - renewed_at > lease_s:
            return f"lease lost: not renewed for {lease_s:.0f} s (the runner stopped, or cannot reach the API)"
        time.sleep(TICK_S)


def revert(fault, spec: dict, lease: Lease, reason: str) -> None:
    """Reverts until it works: a fault must not outlive its agent's decision to end it."""
    attempt = 0
    while True:
        attempt += 1
        try:
            fault.revert(spec)
            return
        except HostError as err:
            log.error("revert %s failed (attempt %d): %s", fault.name, attempt, err)
            lease.report(**{protocol.STATE: protocol.REVERT_FAILED, protocol.REASON: f"{reason}; revert: {err}"})
            time.sleep(min(30, 2 * attempt))


def ended(state: str, reason: str, **more: str) -> None:
    try:
        with open(TERMINATION_LOG, "w") as out:
            json.dump({"state": state, "reason": reason, **more}, out)
    except OSError:
        pass  # outside a pod


def clean_up(fault, spec: dict, lease: Lease) -> int:
    reason = "reverted by a cleanup agent: the agent that applied it was gone"
    log.info("cleaning up %s (%s)", fault.name, spec.get("tag"))
    revert(fault, spec, lease, reason)
    lease.report(**{protocol.STATE: protocol.REVERTED, protocol.REASON: reason, protocol.REVERTED_AT: now()})
    ended(protocol.REVERTED, reason)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agent")
    parser.add_argument("--fault", required=True, choices=sorted(FAULTS))
    parser.add_argument("--lease", required=True)
    parser.add_argument("--deadline-s", type=float)
    parser.add_argument("--lease-s", type=float)
    parser.add_argument("--spec", type=json.loads, default={}, help="what the fault needs to know, as JSON")
    parser.add_argument("--revert-only", action="store_true", help="undo what a gone agent of this Lease left")
    args = parser.parse_args(argv)
    if not args.revert_only and (args.deadline_s is None or args.lease_s is None):
        parser.error("--deadline-s and --lease-s are required to apply a fault: it must end by itself")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    fault, lease, stopped = FAULTS[args.fault], Lease(args.lease), []
    # what the fault puts on the host is named after this agent (GAMEDAY-<its suffix>): its revert
    # finds exactly that, and a second agent on the node never touches the first's
    args.spec = {**args.spec, "tag": f"GAMEDAY-{args.lease[-6:]}"}
    signal.signal(signal.SIGTERM, lambda *_: stopped.append("stopped (SIGTERM: the agent's pod deleted)"))
    if args.revert_only:
        return clean_up(fault, args.spec, lease)
    if why := fault.preflight(args.spec):
        log.error("refused %s: %s", fault.name, why)
        lease.report(**{protocol.STATE: protocol.REFUSED, protocol.REASON: why})
        ended(protocol.REFUSED, why)
        return 3
    deadline = time.monotonic() + args.deadline_s
    try:
        fault.apply(args.spec)
    except HostError as err:  # half-applied is still applied: revert whatever it did
        revert(fault, args.spec, lease, f"apply failed: {err}")
        lease.report(**{protocol.STATE: protocol.REFUSED, protocol.REASON: f"apply failed: {err}"})
        ended(protocol.REFUSED, f"apply failed: {err}")
        return 3
    applied_at = now()
    log.info("applied %s; reverting at the latest in %.0f s", fault.name, args.deadline_s)
    lease.report(**{protocol.STATE: protocol.APPLIED, protocol.APPLIED_AT: applied_at})
    reason = why_revert(lease, deadline, args.lease_s, stopped)
    log.info("reverting %s: %s", fault.name, reason)
    revert(fault, args.spec, lease, reason)
    reverted_at = now()
    lease.report(**{protocol.STATE: protocol.REVERTED, protocol.REASON: reason, protocol.REVERTED_AT: reverted_at})
    ended(protocol.REVERTED, reason, applied_at=applied_at, reverted_at=reverted_at)
    log.info("reverted %s", fault.name)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as error:  # the runner reads why from the pod's termination message
        ended("error", f"{type(error).__name__}: {error}")
        raise
