"""A refreshed hh.ru user token pair and a process killed around its refresh.

hh.ru refresh tokens are single-use: once the server has answered a refresh, the old pair is dead
and the new one exists only in that answer until the token store has it on disk. HHAuth persists
the new pair (temp file, fsync, rename, under the store's lock) before anything uses it, so:

* killed before the refresh request leaves: the stored pair is still good; the next run refreshes;
* killed after the store is written: the next run uses the new pair;
* killed after the server rotated the pair and before the write (a window of one JSON parse and
  one fsync): the stored refresh token is spent. No client can close that window — the server's
  rotation and our write cannot be one atomic step — so the next run must stop and say to
  authorize again, not loop or corrupt the store. The test below pins that behaviour down.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.faultruns import small_world
from sandbox.faults import expire_tokens
from sandbox.server import RunningSandbox, start_in_thread
from tasks.hh.client import USER_PAIR, HHAuth, HHClient
from tasks.sync.tokens import TokenStore

REPO = Path(__file__).resolve().parents[2]
CHILD = """
import os, signal, sys
from tasks.sync import http
from tasks.hh.client import HHAuth, HHClient
from tasks.sync.tokens import TokenStore

url, store, point = sys.argv[1:4]
die = lambda: os.kill(os.getpid(), signal.SIGKILL)
if point == "before_request":
    send = http.HttpCore.request
    def request(self, method, path, **kw):
        if method == "POST" and path == "/token":
            die()
        return send(self, method, path, **kw)
    http.HttpCore.request = request
elif point in ("before_write", "after_write"):
    write = TokenStore._write_all
    def write_all(self, data):
        if point == "after_write":
            write(self, data)
        die()
    TokenStore._write_all = write_all
auth = HHAuth(TokenStore(store), "sandbox-client-id", "sandbox-client-secret", mode="user")
client = HHClient.create(url, "jobpipe-tests/1.0 (faults@example.com)", auth, rate_limit=0)
print("me", client.core.get("/me")["id"])
"""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with start_in_thread(small_world(seed=13)) as running:
        yield running


def child(sandbox: RunningSandbox, store: Path, point: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CHILD, sandbox.url, str(store), point],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def authorized_and_expired(sandbox: RunningSandbox, tmp_path: Path) -> tuple[Path, object]:
    """A store holding a user pair whose access token has just expired (a refresh is due)."""
    store = tmp_path / "tokens.json"
    cfg = sandbox.config
    auth = HHAuth(TokenStore(store), cfg.client_id, cfg.client_secret, mode="user", redirect_uri=cfg.redirect_uri)
    HHClient.create(sandbox.url, "jobpipe-tests/1.0 (faults@example.com)", auth, rate_limit=0)
    pair = auth.exchange_code(sandbox.auth.issue_code())
    expire_tokens(sandbox.app)
    return store, pair


@pytest.mark.parametrize("point", ["before_request", "after_write"])
def test_a_kill_outside_the_rotation_window_loses_no_token(point, sandbox, tmp_path):
    store, old = authorized_and_expired(sandbox, tmp_path)
    killed = child(sandbox, store, point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    after_kill = TokenStore(store).get(USER_PAIR)
    assert (after_kill == old) == (point == "before_request")
    rerun = child(sandbox, store, "none")
    assert rerun.returncode == 0, rerun.stderr
    assert "me 100500" in rerun.stdout
    # killed after the write: the rerun uses the pair the killed run stored, no second refresh
    final = TokenStore(store).get(USER_PAIR)
    assert final is not None and final != old
    if point == "after_write":
        assert final == after_kill


def test_a_kill_inside_the_rotation_window_stops_the_next_run_with_what_to_do(sandbox, tmp_path):
    store, old = authorized_and_expired(sandbox, tmp_path)
    killed = child(sandbox, store, "before_write")
    assert killed.returncode == -signal.SIGKILL
    assert TokenStore(store).get(USER_PAIR) == old  # the store is intact, but its refresh token is spent
    rerun = child(sandbox, store, "none")
    assert rerun.returncode != 0
    assert "token has already been refreshed" in rerun.stderr and "jobpipe auth hh" in rerun.stderr
    assert old.refresh_token not in rerun.stderr and old.access_token not in rerun.stderr
    assert TokenStore(store).get(USER_PAIR) == old  # nothing was overwritten by the failed refresh
