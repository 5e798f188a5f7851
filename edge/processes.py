"""Child processes of the suite, whatever signal dispositions this process inherited.

A shell starts a background job (`make test &`, a cron job, a CI wrapper) with SIGINT ignored, and
an ignored signal stays ignored through fork and exec; Python then installs no KeyboardInterrupt.
The SIGINT the suite stops chaos and Locust with would do nothing, a fault would stay in for the
rest of the method, and the load would outlive its game day. So every child starts through this
file, run as a script (`python edge/processes.py PARENT SIGNAL -- COMMAND...`): it puts SIGINT and
SIGTERM back to their defaults, asks the kernel for SIGNAL when PARENT dies (prctl
PR_SET_PDEATHSIG: no orphan goes on sending load), and execs COMMAND.
"""

import ctypes
import os
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1  # linux/prctl.h
RESET = (signal.SIGINT, signal.SIGTERM)


def spawn(command: list[str], on_parent_death: int = signal.SIGINT, **popen) -> subprocess.Popen:
    """subprocess.Popen(command, **popen), the child with SIGINT and SIGTERM at their defaults and
    sent `on_parent_death` when this process dies. SIGINT is the suite's graceful stop: chaos
    rolls back, the load runner and Locust write what they measured, the sampler flushes."""
    launcher = [sys.executable, "-I", os.path.abspath(__file__), str(os.getpid()), str(int(on_parent_death)), "--"]
    return subprocess.Popen([*launcher, *command], **popen)


def python_module(module: str, *args: str) -> list[str]:
    """The command that runs `module` with this interpreter: what spawn() takes for the suite's parts."""
    return [sys.executable, "-m", module, *args]


def interruptible() -> None:
    """For an entry point of the suite: Ctrl-C (SIGINT) raises KeyboardInterrupt, even when this
    process was started with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _exec(parent: int, death_signal: int, command: list[str]) -> None:
    for signum in RESET:
        signal.signal(signum, signal.SIG_DFL)  # a disposition that is not SIG_IGN survives exec as default
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, death_signal)
    if os.getppid() != parent:  # the parent died before the request took hold: start nothing
        sys.exit(f"{command[0]}: not started, its parent {parent} is gone")
    os.execvp(command[0], command)


if __name__ == "__main__":
    parent_pid, signum, separator, *cmd = sys.argv[1:]
    if separator != "--" or not cmd:
        sys.exit("usage: processes.py PARENT_PID SIGNAL -- COMMAND [ARG...]")
    _exec(int(parent_pid), int(signum), cmd)
