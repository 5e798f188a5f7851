"""A page as a person's browser shows it: headless Chromium (Debian's `chromium` package) opens one
page with the network cut, and tells what its console said (console.error and failed
console.assert calls, uncaught exceptions, the browser's own error log), which loads failed, the
page's title and text, and takes a full-page screenshot.

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: JSON messages
ending in a NUL byte, the commands on the browser's fd 3, its answers and events on its fd 4): no
port, no extra package. The whole browser session is bounded by one deadline; whatever happens,
the browser's process group is killed at the end.

    page = render(Path("report.html"), screenshot=Path("runs/screenshots/report.png"))
    assert page.errors == [] and page.failed_loads == []
"""

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

MISSING = "chromium is not installed: run `make setup`: it installs the chromium package (Debian)"
FLAGS = [
    "--headless", "--no-sandbox",  # no sandbox: the tests may run as root, where Chromium needs it off
    "--remote-debugging-pipe",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # the network cut: no host resolves, IP literals included
    "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-extensions",
    "--hide-scrollbars", "--mute-audio",
]
SETTLE = "new Promise(done => requestAnimationFrame(() => setTimeout(done, 50)))"  # a frame drawn


class BrowserError(RuntimeError):
    """Chromium is missing, died, answered with an error, or did not finish in time."""


def chromium_binary() -> str:
    binary = shutil.which("chromium")
    if binary is None:
        raise BrowserError(MISSING)
    return binary


class DevTools:
    """The protocol pipe of one running Chromium; every read is bounded by `deadline`."""

    def __init__(self, proc: subprocess.Popen, commands: int, answers: int, deadline: float, log: Path):
        self.proc, self.commands, self.answers, self.deadline, self.log = proc, commands, answers, deadline, log
        self.events: list[dict] = []
        self._buffer, self._id = b"", 0

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Sends one command and returns its result; the events that came meanwhile are kept."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(self.commands, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise self._died(f"sending {method}") from None
        while True:
            answer = self._read(f"waiting for the answer to {method}")
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_event(self, method: str, session: str) -> dict:
        """The first event `method` of `session`, kept or still to come."""
        for event in self.events:
            if event.get("method") == method and event.get("sessionId") == session:
                return event
        while True:
            event = self._read(f"waiting for {method}")
            self.events.append(event)
            if event.get("method") == method and event.get("sessionId") == session:
                return event

    def _read(self, doing: str) -> dict:
        while b"\0" not in self._buffer:
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([self.answers], [], [], left)[0]:
                raise BrowserError(f"chromium timed out {doing}")
            chunk = os.read(self.answers, 1 << 16)
            if not chunk:
                raise self._died(doing)
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def _died(self, doing: str) -> BrowserError:
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(2)
        tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        return BrowserError(f"chromium exited ({self.proc.returncode}) {doing}; its stderr ends:\n{tail}")


def _high_fd(fd: int) -> int:
    """A close-on-exec copy of fd numbered 10 or more (so that moving it to 3 or 4 clobbers nothing)."""
    copy = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return copy


@contextmanager
def chromium(timeout: float = 60):
    """A headless Chromium with a fresh profile, as a DevTools; the whole session must end within
    `timeout` seconds. Killed (its whole process group) on the way out."""
    binary = chromium_binary()
    with tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True) as profile:
        log = Path(profile) / "stderr.log"
        their_read, our_write = os.pipe()
        our_read, their_write = os.pipe()
        their_read, their_write = _high_fd(their_read), _high_fd(their_write)

        def on_fds_3_and_4():  # in the child, before exec: the pipe where Chromium looks for it
            os.dup2(their_read, 3)
            os.dup2(their_write, 4)

        try:  # close_fds=False keeps fds 3 and 4; Python's other fds are close-on-exec anyway
            with open(log, "wb") as stderr:
                proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}/profile", "about:blank"],
                                        stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
                                        preexec_fn=on_fds_3_and_4, close_fds=False, start_new_session=True)
        except BaseException:
            for fd in (our_read, our_write):
                os.close(fd)
            raise
        finally:
            os.close(their_read)
            os.close(their_write)
        browser = DevTools(proc, our_write, our_read, time.monotonic() + timeout, log)
        try:
            yield browser
        finally:
            _stop(browser)
            os.close(our_write)
            os.close(our_read)


def _stop(browser: DevTools):
    """Browser.close, a few seconds to exit, then SIGKILL to the process group in any case."""
    browser.deadline = min(browser.deadline, time.monotonic() + 5)
    with suppress(BrowserError, OSError):
        browser.send("Browser.close")
    with suppress(subprocess.TimeoutExpired):
        browser.proc.wait(max(0.1, browser.deadline - time.monotonic()))
    with suppress(ProcessLookupError):
        os.killpg(browser.proc.pid, signal.SIGKILL)
    browser.proc.wait()


@dataclass
class Rendered:
    url: str
    title: str
    text: str  # document.body.innerText: what is shown
    errors: list[str]  # console errors, failed asserts, uncaught exceptions, the browser's error log
    failed_loads: list[str]  # "<url>: <why>"
    console: list[str] = field(default_factory=list)  # every console message, "<level>: <text>"
    values: dict = field(default_factory=dict)  # the answers to render()'s queries
    screenshot: Path | None = None


def render(page: Path | str, screenshot: Path | None = None, queries: dict[str, str] | None = None,
           width: int = 1280, height: int = 900, timeout: float = 60) -> Rendered:
    """Opens page (a file, or a URL) in a fresh headless Chromium, waits for its load event and a
    drawn frame, answers queries ({name: JavaScript expression}, JSON-able values) and saves a PNG of
    the whole page to screenshot if given."""
    url = Path(page).resolve().as_uri() if isinstance(page, Path) else page
    with chromium(timeout) as browser:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session)
        navigation = browser.send("Page.navigate", {"url": url}, session)
        if navigation.get("errorText"):
            raise BrowserError(f"{url} did not open: {navigation['errorText']}")
        browser.wait_event("Page.loadEventFired", session)
        evaluate(browser, session, SETTLE)
        values = {name: evaluate(browser, session, js) for name, js in (queries or {}).items()}
        title = evaluate(browser, session, "document.title")
        text = evaluate(browser, session, "document.body.innerText")
        if screenshot is not None:
            save_screenshot(browser, session, screenshot)
        events = [e for e in browser.events if e.get("sessionId") == session]
    return Rendered(url, title, text, errors(events), failed_loads(events), console(events), values, screenshot)


def evaluate(browser: DevTools, session: str, expression: str):
    """The value of a JavaScript expression in the page (a promise is awaited)."""
    answer = browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                               "awaitPromise": True}, session)
    if "exceptionDetails" in answer:
        raise BrowserError(f"{expression!r} threw: {_exception(answer['exceptionDetails'])}")
    return answer["result"].get("value")


def save_screenshot(browser: DevTools, session: str, path: Path):
    """A PNG of the whole page, not just the viewport."""
    size = browser.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = browser.send("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True},
                        session)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


def _arg(arg: dict) -> str:
    return str(arg["value"]) if "value" in arg else arg.get("description", arg.get("type", "?"))


def _exception(details: dict) -> str:
    exception = details.get("exception") or {}
    where = f" ({details['url']}:{details.get('lineNumber', 0) + 1})" if details.get("url") else ""
    return (exception.get("description") or details.get("text", "?")) + where


def console(events: list[dict]) -> list[str]:
    return [f"{e['params']['type']}: {' '.join(_arg(a) for a in e['params'].get('args', []))}"
            for e in events if e.get("method") == "Runtime.consoleAPICalled"]


def errors(events: list[dict]) -> list[str]:
    """What the console shows as errors: console.error, failed console.assert, uncaught
    exceptions, and the browser's own error entries (a refused or failed load, a blocked script)."""
    found = []
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            found.append(f"console.{params['type']}: {' '.join(_arg(a) for a in params.get('args', []))}")
        elif method == "Runtime.exceptionThrown":
            found.append(f"uncaught: {_exception(params['exceptionDetails'])}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            found.append(f"{entry['source']}: {entry['text']}" + (f" ({entry['url']})" if entry.get("url") else ""))
    return found


def failed_loads(events: list[dict]) -> list[str]:
    """Every request that failed (DNS, file missing, blocked, cancelled) or was answered >= 400."""
    urls = {e["params"]["requestId"]: e["params"]["request"]["url"]
            for e in events if e.get("method") == "Network.requestWillBeSent"}
    found = []
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Network.loadingFailed":
            found.append(f"{urls.get(params['requestId'], params['requestId'])}: {params['errorText']}")
        elif method == "Network.responseReceived" and params["response"].get("status", 0) >= 400:
            found.append(f"{params['response']['url']}: HTTP {params['response']['status']}")
    return found
