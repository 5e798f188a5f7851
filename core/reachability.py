"""What a NetworkPolicy should let through, as an experiment writes it: paths from the pods a
selector picks to a Service (or an address), each expected `open` or `blocked`
(probes.reachability measures them from inside the pods and judges them).

    - {from: app=core-api, to: mca, expect: open}
    - {from: monitoring/app=prometheus, to: "mca:8080", expect: open}
    - {from: app=mca, to: core-api, expect: blocked}
    - {from: app=mca, to: "10.96.0.10:53", expect: blocked}
"""

import ipaddress
import re
from dataclasses import dataclass, field

from core.specs import SpecError, decode

OPEN, BLOCKED = "open", "blocked"
SERVICE = re.compile(r"^(?:(?P<ns>[a-z0-9][-a-z0-9]*)/)?(?P<name>[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)"
                     r"(?::(?P<port>[0-9]+|[a-z0-9][-a-z0-9]*))?$")
ADDRESS = re.compile(r"^(?P<ip>[0-9.]+):(?P<port>[0-9]+)$")


@dataclass(frozen=True)
class Path:
    from_: str = field(metadata={"key": "from"})   # [NAMESPACE/]LABEL-SELECTOR: the source pods
    to: str                                         # [NAMESPACE/]SERVICE[:PORT] or IPV4:PORT
    expect: str                                     # open | blocked

    def source(self, default_ns: str) -> tuple[str, str]:
        """(namespace, label selector) of the source pods."""
        ns, slash, selector = self.from_.partition("/")
        return (ns, selector) if slash else (default_ns, self.from_)

    def address(self) -> tuple[str, int] | None:
        """(address, port) when `to` is an address, not a Service."""
        found = ADDRESS.match(self.to)
        return (found["ip"], int(found["port"])) if found else None

    def service(self, default_ns: str) -> tuple[str, str, str]:
        """(namespace, Service, port: a number, a port's name, or '' for its only TCP port)."""
        found = SERVICE.match(self.to)
        return found["ns"] or default_ns, found["name"], found["port"] or ""

    def __str__(self) -> str:
        return f"{self.from_} → {self.to}"


def _checked(path: Path) -> Path:
    if path.expect not in (OPEN, BLOCKED):
        raise SpecError(f"expect: {OPEN} or {BLOCKED}, not {path.expect!r}")
    if address := ADDRESS.match(path.to):
        try:
            ipaddress.IPv4Address(address["ip"])
        except ValueError:
            raise SpecError(f"to: {address['ip']!r} is not an IPv4 address") from None
        if not 0 < int(address["port"]) < 65536:
            raise SpecError(f"to: port {address['port']} is not a TCP port")
    elif not SERVICE.match(path.to):
        raise SpecError(f"to: [NAMESPACE/]SERVICE[:PORT] or IPV4:PORT, not {path.to!r}")
    return path


def paths_of(entries) -> list[Path]:
    """The experiment's paths, decoded strictly; SpecError naming the entry and its field."""
    if not isinstance(entries, list) or not entries:
        raise SpecError(f"paths: a list of {{from, to, expect}}, at least one, not {entries!r}")
    paths = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise SpecError(f"paths[{i}]: a mapping {{from, to, expect}}, not {entry!r}")
        try:
            paths.append(_checked(decode(Path, entry)))
        except SpecError as err:
            raise SpecError(f"paths[{i}].{err}") from None
    return paths
