"""A real Prefect stack for the deployment tests: ``prefect server start``, the work pool, ``prefect
deploy --all`` from prefect.yaml and ``prefect worker start``, each a subprocess in its own process
group (killed with the group, also when a test fails), logs under the test's tmp dir."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
PREFECT = [sys.executable, "-m", "prefect"]


def two_searches(prefix: str = "") -> str:
    """A searches file of two searches of about equal size in the emulator's world (area weights 40
    and 17+7+6+10): one per partition of two, by name."""
    return f"""
[[search]]
name = "{prefix}moscow"
area = ["1"]

[[search]]
name = "{prefix}other-cities"
area = ["2", "3", "4", "160"]
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Processes:
    """Subprocesses started by a test, each in a new session (so its whole group can be killed)."""

    logs: Path
    started: list[subprocess.Popen] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: Mapping[str, str], cwd: Path = REPO) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")
        proc = subprocess.Popen(
            args, env=dict(env), cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        proc.log_file = log  # type: ignore[attr-defined]
        self.started.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        """Stop one of them (its whole group) now."""
        _kill_group(proc)
        self.started.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            _kill_group(proc)
        self.started.clear()


def _kill_group(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    # children left behind by a leader that exited (a worker's flow-run processes)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.log_file.close()  # type: ignore[attr-defined]


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return "(no log)"


def run_cli(args: list[str], env: Mapping[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """A Prefect or jobpipe CLI call that must succeed (its output is shown when it does not)."""
    done = subprocess.run(args, env=dict(env), cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        command = " ".join(args[2:])
        raise AssertionError(f"{command} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what}: not done within {timeout:.0f} s")


def runs_of_worker(log: Path) -> set[str]:
    """The flow runs a worker ran, read from its log: those it submitted, less those whose submission
    the server aborted because another worker had taken them (two workers may both try a run)."""
    text = log.read_text(errors="replace")
    submitted = set(re.findall(r"submitting flow run '([0-9a-f-]{36})'", text))
    return submitted - set(re.findall(r"Aborted submission of flow run '([0-9a-f-]{36})'", text))


def server_healthy(api_url: str) -> bool:
    try:
        return requests.get(f"{api_url}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


class Webhook:
    """A local webhook receiver: every POSTed JSON body lands in ``received``."""

    def __init__(self) -> None:
        received: list[dict] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                received.append(json.loads(body or b"{}"))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def stop_prefect_event_workers(timeout: float = 10.0) -> None:
    """Send what Prefect's events worker holds and stop it, before the API it talks to goes away.

    The worker is one per process whatever the API URL, so one left bound to a server a test has
    stopped would take the next server's events and retry them against the dead one, item by item,
    until the process exits (minutes). A stopped worker is replaced by a fresh one on next use."""
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all(timeout=timeout)
