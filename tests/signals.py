"""Starting the suite the way cron jobs and CI wrappers do: a non-interactive shell starts a
background job with SIGINT ignored, and an ignored signal stays ignored through exec."""

import os
import signal
import subprocess
import sys
from contextlib import contextmanager

# exec keeps SIG_IGN: the command starts exactly as `bash -c 'command &'` would start it
_IGNORING_SIGINT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                    "os.execvp(sys.argv[1], sys.argv[1:])")


def as_background_job(command: list[str]) -> list[str]:
    """`command` started with SIGINT ignored."""
    return [sys.executable, "-c", _IGNORING_SIGINT, *command]


def ignores(pid: int, signum: int) -> bool:
    """Whether process `pid` ignores `signum` now (its SigIgn mask in /proc)."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    raise AssertionError(f"/proc/{pid}/status has no SigIgn line")


def processes_naming(text: str) -> list[str]:
    """The live processes whose command line contains `text` (this one excepted): what a run left."""
    found = subprocess.run(["pgrep", "-a", "-f", text], capture_output=True, text=True).stdout.splitlines()
    return [line for line in found if int(line.split()[0]) != os.getpid()]


@contextmanager
def sigint_ignored_here():
    """This process ignores SIGINT inside the block, as the pytest of a background job does."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
