"""Waiting on a cluster: poll a condition until it holds or the time is up, log where it stands
every 30 s (long waits show progress), and ride out a transient error of the API server or
Prometheus (an API server restarting, a connection refused) by polling again: a blip is not a
failed game day. An error that will not pass by waiting (404, 403, a bad query) is raised."""

import logging
import time
from collections.abc import Callable
from typing import Any

import requests
import urllib3
from kubernetes.client import ApiException

from edge.prometheus import PrometheusError

log = logging.getLogger("chaostoolkit")
PROGRESS_EVERY_S = 30


def transient(err: Exception) -> bool:
    if isinstance(err, ApiException):
        return not err.status or err.status >= 500 or err.status == 429
    return isinstance(err, (urllib3.exceptions.HTTPError, requests.RequestException, ConnectionError, TimeoutError,
                            PrometheusError))


def poll(check: Callable[[], tuple[bool, Any]], timeout_s: float, waiting_for: str, poll_s: float = 2,
         every_s: float = PROGRESS_EVERY_S) -> tuple[bool, Any, float]:
    """check() -> (reached, what was seen). Returns (reached, the last thing seen, seconds
    waited); a transient error counts as seen-and-not-reached, and is named."""
    started, last_log = time.monotonic(), 0.0
    while True:
        try:
            reached, seen = check()
        except Exception as err:
            if not transient(err):
                raise
            reached, seen = False, f"unknown ({type(err).__name__}: {str(err)[:200]}; retrying)"
        waited = time.monotonic() - started
        if reached or waited >= timeout_s:
            return reached, seen, round(waited, 1)
        if waited - last_log >= every_s:
            log.info("waiting for %s: %s after %.0f s (timeout %.0f s)", waiting_for, seen, waited, timeout_s)
            last_log = waited
        time.sleep(poll_s)
