"""The workers of a distributed load (loadtests.runner with a profile's `workers`): Locust's own
master/worker engine, the master being the runner's Locust process. On this machine they are
processes; from a pod of the cluster under test (the in-cluster runner) they are pods.

Either way the master waits for all of them before the shape starts (a worker joining mid-run
makes Locust hand users out again), and a worker lost mid-run is not replaced: its users go to
the others (--enable-rebalancing), the requests it had not yet reported are a hole in the load's
evidence (loadtests.distributed writes it into generators.jsonl) and the run goes on.
"""

import socket
import subprocess
from pathlib import Path

from kubernetes import client

from core.agents import LOAD_WORKER_LABELS, NAMESPACE as AGENTS_NAMESPACE
from edge.kube import API_ERRORS, IN_CLUSTER, core_api
from edge.processes import python_module, spawn

CONNECT_S = {"processes": 60, "pods": 180}  # a pod may first wait for its node to start it
REPORT_LAG_S = 4                             # how late a second's lines may reach the master: a report every 3 s
QUIT_S = 15                                  # after the master's quit, what a worker may take to go
LOAD_BOUND_S = 4 * 3600                      # a worker pod's life, should nothing else end it
# the namespace of the runner's own pod
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class WorkerError(Exception):
    """Workers that could not be started; the message says where and why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def master_options(workers) -> list[str]:
    return ["--master", "--master-bind-host", workers.bind_host, "--master-bind-port", str(workers.port),
            "--expect-workers", str(workers.count), "--expect-workers-max-wait", str(workers.connect_s),
            "--enable-rebalancing"]


def worker_args(locustfiles: str, master_host: str, port: int) -> list[str]:
    """`locust` ARGS of one worker; locustfiles "-": fetched from the master."""
    return ["-f", locustfiles, "--worker", "--master-host", master_host, "--master-port", str(port),
            "--loglevel", "WARNING"]


class WorkerProcesses:
    """N workers as processes of this machine, on loopback. Each starts in a session of its own,
    so a Ctrl-C reaches the master only, and the master's quit ends them; each is told to stop if
    this runner dies (edge.processes)."""

    bind_host = "127.0.0.1"
    connect_s = CONNECT_S["processes"]
    where = "processes on this machine"

    def __init__(self, count: int, locustfiles: str, out: Path, env: dict):
        self.count, self.locustfiles, self.out, self.env = count, locustfiles, out, env
        self.port = free_port()
        self.procs: list[subprocess.Popen] = []
        self.told: set[int] = set()

    def start(self) -> None:
        for i in range(1, self.count + 1):
            log = self.out / f"worker-{i}.log"
            command = python_module("locust", *worker_args(self.locustfiles, "127.0.0.1", self.port), "--logfile", str(log))
            with open(self.out / f"worker-{i}.stdout", "w") as stdout:
                self.procs.append(spawn(command, stdout=stdout, stderr=subprocess.STDOUT, env=self.env,
                                        start_new_session=True))

    def news(self) -> str:
        """Workers lost since the last progress line (one the master told to quit exits 0)."""
        gone = [(i, p) for i, p in enumerate(self.procs, 1) if p.poll() not in (None, 0) and i not in self.told]
        self.told.update(i for i, _ in gone)
        return "".join(f"\n[load] worker process {i} (pid {p.pid}) exited ({p.returncode}): the others take its users; "
                       f"what it had not reported is a hole in the load (see {self.out / f'worker-{i}.log'})"
                       for i, p in gone)

    def stop(self) -> None:
        for proc in self.procs:
            try:
                proc.wait(timeout=QUIT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class WorkerPods:
    """N workers as pods, for a runner that is itself a pod of the cluster under test: its own
    image and node placement (deploy/runner pins it off the workers every node fault hits), in
    the suite's own namespace (no PodDisruptionBudget of the stack's covers them, and the runner
    may already start pods there), with no API credentials. They reach the master on the
    runner pod's IP and fetch the locustfiles from it (`-f -`). Deleted when the load ends, their
    logs kept as worker-N.log; one left behind by a killed runner quits a minute after its master."""

    bind_host = "*"
    connect_s = CONNECT_S["pods"]
    port = 5557
    namespace = AGENTS_NAMESPACE
    labels = LOAD_WORKER_LABELS

    def __init__(self, count: int, out: Path, env: dict, context: str = IN_CLUSTER):
        self.count, self.out, self.env = count, out, env
        self.core = core_api(context)
        try:
            self.runner = self.core.read_namespaced_pod(socket.gethostname(),
                                                        SERVICE_ACCOUNT_NAMESPACE.read_text().strip())
        except (*API_ERRORS, OSError) as err:
            raise WorkerError(f"worker pods are made after the runner's own pod ({socket.gethostname()}), "
                              f"which cannot be read: {err}") from err
        self.names = [f"{self.runner.metadata.name}-load-{i}" for i in range(1, self.count + 1)]
        self.where = f"pods {self.namespace}/{self.names[0][:-1]}1..{self.count} on {self.runner.spec.node_name}"
        self.told: set[str] = set()

    def manifest(self, name: str) -> dict:
        plain = client.ApiClient().sanitize_for_serialization
        runner, container = self.runner.spec, self.runner.spec.containers[0]
        env = [{"name": k, "value": self.env[k]} for k in ("GAMEDAY_PROFILE", "GAMEDAY_PATHS") if k in self.env]
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": self.namespace, "labels": self.labels},
                "spec": {"restartPolicy": "Never", "automountServiceAccountToken": False,
                         "activeDeadlineSeconds": LOAD_BOUND_S,
                         "nodeSelector": runner.node_selector, "tolerations": plain(runner.tolerations),
                         "securityContext": plain(runner.security_context),
                         "containers": [{"name": "locust-worker", "image": container.image,
                                         "imagePullPolicy": "IfNotPresent", "workingDir": "/tmp",
                                         "command": ["python3", "-m", "locust",
                                                     *worker_args("-", self.runner.status.pod_ip, self.port)],
                                         "env": [*env, {"name": "HOME", "value": "/tmp"}],
                                         "resources": {"requests": {"cpu": "200m", "memory": "128Mi"},
                                                       "limits": {"memory": "512Mi"}},
                                         "securityContext": plain(container.security_context),
                                         "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]}],
                         "volumes": [{"name": "tmp", "emptyDir": {}}]}}

    def start(self) -> None:
        for name in self.names:
            try:
                self.core.create_namespaced_pod(self.namespace, self.manifest(name))
            except API_ERRORS as err:
                raise WorkerError(f"cannot create load worker pod {self.namespace}/{name}: {err}") from err

    def news(self) -> str:
        """Worker pods that failed since the last progress line."""
        lines = []
        for name in self.names:
            try:
                phase = self.core.read_namespaced_pod(name, self.namespace).status.phase
            except API_ERRORS:
                continue  # the API's hiccup, not the worker's: the master's own account says if it was lost
            if phase not in ("Pending", "Running", "Succeeded") and name not in self.told:
                self.told.add(name)
                lines.append(f"\n[load] worker pod {self.namespace}/{name} is {phase}: the others take its users; "
                             "what it had not reported is a hole in the load")
        return "".join(lines)

    def stop(self) -> None:
        for i, name in enumerate(self.names, 1):
            try:
                (self.out / f"worker-{i}.log").write_text(self.core.read_namespaced_pod_log(name, self.namespace))
            except API_ERRORS as err:
                (self.out / f"worker-{i}.log").write_text(f"no log of pod {name}: {err}\n")
            try:
                self.core.delete_namespaced_pod(name, self.namespace, grace_period_seconds=QUIT_S)
            except API_ERRORS:
                pass  # gone already
